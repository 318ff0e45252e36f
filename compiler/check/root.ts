// Checks on a cut tree, as the root of a system: every symlink resolves inside
// the root; every ELF file is code of the architecture, and its interpreter
// and DT_NEEDED libraries are found as the dynamic loader would find them
// (RPATH / RUNPATH with $ORIGIN, /etc/ld.so.conf, the multiarch and standard
// directories). Paths resolve as in a chroot: an absolute symlink points into
// the root. File contents are read through a callback (the content store).

import path from 'node:path';
import type { Tree, TreeEntry } from '../tree/model.js';
import { ELF_ARCHS, ElfError, readElf, type ElfInfo, type ReadAt } from './elf.js';

export interface RootProblems {
  /** Failures: a missing library or interpreter, a dangling or escaping symlink, another machine's code where this one's runs. */
  problems: string[];
  /** Worth knowing, never a failure: a library found in the root but off the loader's search path; another machine's code elsewhere. */
  notes: string[];
  /** Bytes of the regular files. */
  size: number;
  files: number;
  elfs: number;
}

/** The directories of programs on a Debian system's PATH. */
const PROGRAM_DIRS = ['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin', '/usr/games'];

/** Trees of data by the FHS: an ELF file there (Go's test data, firmware) is not a program or library of the system. */
const DATA_DIRS = ['/usr/share/', '/usr/src/', '/usr/include/'];

/** A cross toolchain's system root, /usr/<triplet>/ (libc6-arm64-cross): code for that system, wherever this one runs. */
const SYSROOT = /^\/usr\/[a-z0-9_]+-linux-gnu[a-z0-9_]*\//;

/** Where the kernel and the runtime put things: a link into them is not dangling in a running container. */
const RUNTIME_DIRS = ['/proc', '/sys', '/dev', '/run', '/tmp'];

type Resolved = { ok: true; path: string; entry?: TreeEntry } | { ok: false; why: 'missing' | 'escapes' | 'loop' | 'runtime'; at: string };

export class RootView {
  readonly byPath = new Map<string, TreeEntry>();
  constructor(readonly tree: Tree) {
    for (const e of tree.entries) this.byPath.set(e.path, e);
  }

  /** Follows symlinks as a chroot would; `strict`: a `..` above the root is an escape (else it stays at the root, as the kernel does). */
  resolve(p: string, strict = true, depth = 0): Resolved {
    if (depth > 40) return { ok: false, why: 'loop', at: p };
    const parts = p.split('/').filter((s) => s !== '' && s !== '.');
    let cur = '';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part === '..') {
        if (cur === '' && strict) return { ok: false, why: 'escapes', at: p };
        cur = cur.slice(0, cur.lastIndexOf('/'));
        continue;
      }
      const next = `${cur}/${part}`;
      if (RUNTIME_DIRS.some((d) => next === d) && !this.byPath.has(next)) return { ok: false, why: 'runtime', at: next };
      const e = this.byPath.get(next);
      if (!e) return { ok: false, why: 'missing', at: next };
      if (e.type === 'symlink') {
        const target = e.link!;
        const rest = parts.slice(i + 1).join('/');
        const abs = target.startsWith('/') ? target : `${cur}/${target}`;
        return this.resolve(rest ? `${abs}/${rest}` : abs, strict, depth + 1);
      }
      if (e.type !== 'dir' && i < parts.length - 1) return { ok: false, why: 'missing', at: `${next}/${parts[i + 1]}` };
      cur = next;
    }
    return { ok: true, path: cur || '/', ...(this.byPath.has(cur) ? { entry: this.byPath.get(cur)! } : {}) };
  }

  /** The file entry holding a path's content (a hard link's primary), or undefined. */
  fileAt(p: string): TreeEntry | undefined {
    const r = this.resolve(p, false);
    if (!r.ok || !r.entry) return undefined;
    const e = r.entry;
    if (e.type === 'file') return e;
    if (e.type === 'hardlink') return this.byPath.get(e.link!);
    return undefined;
  }
}

/** One problem per symlink that does not resolve inside the root. */
export function symlinkProblems(view: RootView): string[] {
  const out: string[] = [];
  for (const e of view.tree.entries) {
    if (e.type !== 'symlink') continue;
    const r = view.resolve(e.path);
    if (r.ok || r.why === 'runtime') continue;
    const what =
      r.why === 'escapes' ? 'climbs out of the root' : r.why === 'loop' ? 'is a symlink loop' : `is dangling (${r.at} is not in the root)`;
    out.push(`symlink ${e.path} -> ${e.link} ${what}`);
  }
  return out;
}

/** The directories of /etc/ld.so.conf (and the files it includes), in order. */
export function ldSoConfDirs(view: RootView, read: (e: TreeEntry) => Buffer): string[] {
  const dirs: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string, depth: number): void => {
    const e = view.fileAt(file);
    if (!e || seen.has(file) || depth > 8) return;
    seen.add(file);
    for (const raw of read(e).toString('utf8').split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      const inc = /^include\s+(.+)$/.exec(line);
      if (!inc) {
        if (line.startsWith('/')) dirs.push(path.posix.normalize(line));
        continue;
      }
      for (const pattern of inc[1]!.split(/\s+/)) {
        const abs = pattern.startsWith('/') ? pattern : path.posix.join(path.posix.dirname(file), pattern);
        for (const f of globFiles(view, abs)) visit(f, depth + 1);
      }
    }
  };
  visit('/etc/ld.so.conf', 0);
  return dirs;
}

/** Files matching a glob whose wildcards are in the last component (as ld.so.conf.d/*.conf), sorted. */
function globFiles(view: RootView, pattern: string): string[] {
  const dir = path.posix.dirname(pattern);
  const base = path.posix.basename(pattern);
  const re = new RegExp(
    `^${base
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  );
  const out: string[] = [];
  for (const p of view.byPath.keys()) if (path.posix.dirname(p) === dir && re.test(path.posix.basename(p))) out.push(p);
  return out.sort();
}

/** Expands $ORIGIN / ${ORIGIN} and $LIB in an RPATH / RUNPATH entry; entries naming $PLATFORM are left out. */
function expandDir(dir: string, origin: string, multiarch: string): string[] {
  if (/\$\{?PLATFORM\}?/.test(dir)) return [];
  const o = dir.replace(/\$\{ORIGIN\}|\$ORIGIN(?![A-Za-z0-9_])/g, origin);
  if (/\$\{?LIB\}?/.test(o)) return [o.replace(/\$\{LIB\}|\$LIB/g, `lib/${multiarch}`), o.replace(/\$\{LIB\}|\$LIB/g, 'lib')];
  return [o];
}

export interface ElfCheckOptions {
  arch: string;
  /** A reader of an entry's content (file entries only). */
  open: (e: TreeEntry) => ReadAt;
  /** The whole content of a small file (ld.so.conf). */
  read: (e: TreeEntry) => Buffer;
}

/** The ELF problems of a tree (see the file comment), and what was counted on the way. */
export function checkRoot(tree: Tree, opts: ElfCheckOptions): RootProblems {
  const a = ELF_ARCHS[opts.arch];
  if (!a) throw new Error(`no multiarch triplet known for architecture ${opts.arch}`);
  const view = new RootView(tree);
  const problems = symlinkProblems(view);
  const notes: string[] = [];
  const elfs = new Map<string, ElfInfo>();
  let size = 0;
  let files = 0;
  for (const e of tree.entries) {
    if (e.type !== 'file') continue;
    files++;
    size += e.size;
    if (e.size < 52) continue;
    try {
      const info = readElf(opts.open(e));
      if (info) elfs.set(e.path, info);
    } catch (err) {
      if (!(err instanceof ElfError)) throw err;
      problems.push(`${e.path}: damaged ELF file (${err.message})`);
    }
  }
  const ldconf = ldSoConfDirs(view, opts.read);
  const std = [`/lib/${a.multiarch}`, `/usr/lib/${a.multiarch}`, ...(a.bits === 64 ? ['/lib64', '/usr/lib64'] : []), '/lib', '/usr/lib'];
  /** The ELF at a path inside the root (after symlinks), when it is one of this machine and class. */
  const usable = (p: string): boolean => {
    const f = view.fileAt(p);
    const info = f && elfs.get(f.path);
    return info !== undefined && info.machine === a.machine && info.bits === a.bits;
  };
  const byName = new Map<string, string[]>();
  for (const p of elfs.keys()) {
    const n = path.posix.basename(p);
    byName.set(n, [...(byName.get(n) ?? []), p]);
  }
  // Where the system runs programs from or loads libraries from: code of another machine there is a broken image;
  // elsewhere it is a cross toolchain's, a multilib's or test data (a note).
  const hostDirs = new Set([...PROGRAM_DIRS, ...ldconf, ...std]);
  for (const [file, info] of elfs) {
    const data = DATA_DIRS.find((d) => file.startsWith(d));
    if (data) {
      notes.push(`${file}: an ELF file under ${data}, which holds data (test data, firmware, sources): not checked`);
      continue;
    }
    const sysroot = SYSROOT.exec(file)?.[0];
    if (sysroot) {
      notes.push(`${file}: in ${sysroot}, a cross toolchain's system root (its loader and libraries are its own): not checked`);
      continue;
    }
    if (info.machine !== a.machine || info.bits !== a.bits) {
      const what = `ELF for machine ${info.machine} (${info.bits}-bit), not ${opts.arch}'s ${a.machine} (${a.bits}-bit)`;
      if (hostDirs.has(path.posix.dirname(file))) problems.push(`${file}: ${what}`);
      else notes.push(`${file}: ${what}, off ${opts.arch}'s program and library directories (not checked)`);
      continue;
    }
    if (info.interp !== undefined && !usable(info.interp)) problems.push(`${file}: interpreter ${info.interp} is not in the root`);
    const origin = path.posix.dirname(file);
    const own = [...(info.runpath.length ? [] : info.rpath), ...info.runpath].flatMap((d) => expandDir(d, origin, a.multiarch));
    const dirs = [...own, ...ldconf, ...std];
    for (const lib of info.needed) {
      const found = lib.includes('/') ? usable(lib.startsWith('/') ? lib : `${origin}/${lib}`) : dirs.some((d) => usable(`${d}/${lib}`));
      if (found) continue;
      const elsewhere = (byName.get(lib) ?? []).filter((p) => usable(p));
      if (elsewhere.length)
        notes.push(`${file}: ${lib} is off the library search path, at ${elsewhere.join(', ')} (fine if the program loads it first)`);
      else problems.push(`${file}: needs ${lib}, which is not in the root`);
    }
  }
  return { problems: problems.sort(), notes: notes.sort(), size, files, elfs: elfs.size };
}
