// ELF checks on a cut root, per architecture: every ELF file must be code of
// the cut's architecture, its PT_INTERP interpreter must exist in the root, and
// every DT_NEEDED library must be found inside the root (standard library dirs
// of the architecture, RUNPATH/RPATH with $ORIGIN) as an ELF of the same
// machine. Paths resolve as inside a chroot: absolute symlinks point into the
// root, never at the host. Program headers and the dynamic section come from
// readelf (binutils reads every architecture).

import { spawnSync } from 'node:child_process';
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import path from 'node:path';

/** Libraries loaded by other means: Java's libjava.so needs libjvm.so from lib/server/, which the launcher has loaded before it. */
export const LOADED_BY_LAUNCHER = ['libjvm.so'];

/** Per Debian architecture: its multiarch triplet and ELF e_machine. */
export const ELF_ARCHS: Record<string, { multiarch: string; machine: number }> = {
  amd64: { multiarch: 'x86_64-linux-gnu', machine: 62 },
  arm64: { multiarch: 'aarch64-linux-gnu', machine: 183 },
  armhf: { multiarch: 'arm-linux-gnueabihf', machine: 40 },
  armel: { multiarch: 'arm-linux-gnueabi', machine: 40 },
  i386: { multiarch: 'i386-linux-gnu', machine: 3 },
  ppc64el: { multiarch: 'powerpc64le-linux-gnu', machine: 21 },
  riscv64: { multiarch: 'riscv64-linux-gnu', machine: 243 },
  s390x: { multiarch: 's390x-linux-gnu', machine: 22 },
};

/** e_machine of an ELF file, or undefined when the file is not ELF. */
function elfMachine(file: string): number | undefined {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(20);
    if (readSync(fd, b, 0, 20, 0) !== 20 || b.toString('latin1', 0, 4) !== '\x7fELF') return undefined;
    return b[5] === 2 ? b.readUInt16BE(18) : b.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

/** Every regular ELF file under root, with its e_machine. */
function elfMachines(root: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && st.size > 64) {
        const m = elfMachine(p);
        if (m !== undefined) out.set(p, m);
      }
    }
  };
  walk(root);
  return out;
}

export function elfFiles(root: string): string[] {
  return [...elfMachines(root).keys()];
}

/** The host path an absolute path inside root names, following symlinks as a chroot would; undefined when missing. */
export function resolveIn(root: string, p: string, depth = 0): string | undefined {
  if (depth > 40) return undefined;
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  let cur = '/';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '..') {
      cur = path.posix.dirname(cur);
      continue;
    }
    const next = path.posix.join(cur, part);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(path.join(root, next));
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      const target = readlinkSync(path.join(root, next));
      const rest = parts.slice(i + 1).join('/');
      const abs = target.startsWith('/') ? target : path.posix.join(cur, target);
      return resolveIn(root, `${abs}/${rest}`, depth + 1);
    }
    cur = next;
  }
  return path.join(root, cur);
}

interface Dyn {
  interp?: string;
  needed: string[];
  runpath: string[];
}

/** readelf -l -d of many files at once (one process per batch). */
function readDyn(files: string[]): Map<string, Dyn> {
  const out = new Map<string, Dyn>();
  for (let i = 0; i < files.length; i += 100) {
    const batch = files.slice(i, i + 100);
    // readelf exits non-zero on an ELF it cannot fully read (a stray object file): its output is still used
    const r = spawnSync('readelf', ['-l', '-d', '-W', ...batch], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (r.error) throw new Error(`readelf could not run (${r.error.message}): install binutils`);
    const text = r.stdout;
    // with several files readelf heads each one with "File: NAME"; with one it does not
    const chunks = batch.length === 1 ? [[batch[0]!, text] as const] : splitByFile(text);
    for (const [file, t] of chunks) {
      const interp = /\[Requesting program interpreter: ([^\]]+)\]/.exec(t)?.[1];
      out.set(file, {
        ...(interp ? { interp } : {}),
        needed: [...t.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!),
        runpath: [...t.matchAll(/\((?:RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[([^\]]+)\]/g)].flatMap((m) => m[1]!.split(':')),
      });
    }
  }
  return out;
}

function splitByFile(text: string): (readonly [string, string])[] {
  const out: (readonly [string, string])[] = [];
  const re = /^File: (.+)$/gm;
  const heads = [...text.matchAll(re)];
  heads.forEach((m, k) => {
    const end = k + 1 < heads.length ? heads[k + 1]!.index : text.length;
    out.push([m[1]!, text.slice(m.index! + m[0].length, end)]);
  });
  return out;
}

/**
 * One line per problem, naming the file (path inside root) and what is wrong:
 * "/usr/bin/x: missing libfoo.so.1", "/usr/bin/x: missing interpreter /lib/ld-...",
 * "/usr/bin/x: machine 62, not arm64's 183". `ignore` lists libraries loaded by other means.
 */
export function elfProblems(root: string, arch: string, ignore: string[] = []): string[] {
  const a = ELF_ARCHS[arch];
  if (!a) throw new Error(`elfProblems: no multiarch triplet known for architecture ${arch} (add it to ELF_ARCHS in test/support/elf.ts)`);
  const machines = elfMachines(root);
  const dyn = readDyn([...machines.keys()]);
  const std = [`/usr/lib/${a.multiarch}`, `/lib/${a.multiarch}`, '/usr/lib', '/lib', '/usr/lib64', '/lib64'];
  const problems: string[] = [];
  const found = (p: string): boolean => {
    const real = resolveIn(root, p);
    return real !== undefined && machines.get(real) === a.machine;
  };
  for (const [f, machine] of machines) {
    const inRoot = f.slice(root.length);
    if (machine !== a.machine) {
      problems.push(`${inRoot}: machine ${machine}, not ${arch}'s ${a.machine}`);
      continue;
    }
    const d = dyn.get(f);
    if (!d) continue;
    if (d.interp && !found(d.interp)) problems.push(`${inRoot}: missing interpreter ${d.interp}`);
    const origin = path.posix.dirname(inRoot);
    const dirs = [...d.runpath.map((r) => r.replace('${ORIGIN}', origin).replace('$ORIGIN', origin)), ...std];
    for (const lib of d.needed) {
      if (ignore.includes(lib)) continue;
      if (!dirs.some((dir) => found(path.posix.join(dir, lib)))) problems.push(`${inRoot}: missing ${lib}`);
    }
  }
  return problems.sort();
}

/** Unresolved DT_NEEDED libraries and interpreters of an amd64 (or the given multiarch's) root. */
export function missingNeeded(root: string, multiarch = 'x86_64-linux-gnu', ignore: string[] = []): string[] {
  const arch = Object.entries(ELF_ARCHS).find(([, v]) => v.multiarch === multiarch)?.[0];
  if (!arch) throw new Error(`missingNeeded: unknown multiarch ${multiarch}`);
  return elfProblems(root, arch, ignore);
}
