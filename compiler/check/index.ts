// chisel-ts check: each slice of a release (or the ones named) is cut with its
// essentials, the same way `cut` does (plan, cut, content store), and the tree
// is checked as a root (check/root.ts: ELF libraries and interpreters,
// symlinks); a slice's smoke tests (`checks:`) then run in the root written
// to a temporary directory (check/smoke.ts). One archive set per run: every
// package is resolved once, and the cache serves what earlier cuts unpacked.

import fss, { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openArchives, type ArchiveOptions, type ArchiveSet } from '../archive/index.js';
import type { ContentReader, ContentStore } from '../cache/store.js';
import { writeDir } from '../output/dir.js';
import { choosePackages, type ArchiveSource } from '../pipeline/plan.js';
import { globMatch, isGlob } from '../release/glob.js';
import { sliceKey, type Release, type SmokeTest } from '../release/model.js';
import { checkMaintenance, cut, type Ignore, type ResolvedPackage } from '../slicer/cut.js';
import { select } from '../slicer/selection.js';
import type { TreeEntry } from '../tree/model.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import type { ReadAt } from './elf.js';
import { checkRoot, RootView } from './root.js';
import { cannotRun, runSmoke, type SmokeResult } from './smoke.js';

export { ELF_ARCHS, readElf } from './elf.js';
export { checkRoot } from './root.js';

export interface SliceCheck {
  /** A slice (package_slice) or a set of the release. */
  name: string;
  result: 'pass' | 'fail';
  /** Bytes of the regular files of the cut (the slice and its essentials). */
  size: number;
  files: number;
  elfs: number;
  problems: string[];
  notes: string[];
  smoke: SmokeResult[];
  ms: number;
}

export interface CheckOptions {
  release: Release;
  /** Slices, sets or package names (each of its slices); default every slice of the release. */
  names?: string[];
  arch: string;
  store: ContentStore;
  offline?: boolean;
  urlOverrides?: Map<string, string>;
  ignore?: Ignore[];
  /** Where roots with smoke tests are written (default the system's temporary directory). */
  workDir?: string;
  archives?: Pick<ArchiveOptions, 'http' | 'sourcesFiles' | 'authDir' | 'onNotice'>;
  /** Called after each check, in order. */
  onResult?: (r: SliceCheck, done: number, total: number) => void;
}

/** What the names ask to check: each a list of requested slices or sets, labelled. */
export function checkSubjects(release: Release, names?: string[]): string[] {
  const all = [...release.packages.values()].flatMap((p) => [...p.slices.keys()].map((s) => sliceKey(p.name, s)));
  if (!names?.length) return all.sort();
  const out: string[] = [];
  for (const n of names) {
    const pkg = release.packages.get(n);
    if (pkg && !release.sets?.has(n)) out.push(...[...pkg.slices.keys()].sort().map((s) => sliceKey(n, s)));
    else out.push(n);
  }
  return [...new Set(out)];
}

export async function checkRelease(opts: CheckOptions): Promise<SliceCheck[]> {
  const { release, arch, store } = opts;
  checkMaintenance(release, new Date(), opts.ignore ?? []);
  const subjects = checkSubjects(release, opts.names);
  const archives = await openArchives(release, arch, {
    store,
    offline: Boolean(opts.offline),
    urlOverrides: opts.urlOverrides ?? new Map(),
    ...opts.archives,
    ...(opts.archives?.onNotice ? { onNotice: opts.archives.onNotice } : {}),
  });
  const source = onceSource(archives);
  const results: SliceCheck[] = [];
  for (const name of subjects) {
    const r = await checkOne(name, opts, source);
    results.push(r);
    opts.onResult?.(r, results.length, subjects.length);
  }
  return results;
}

/** The archive set, with each package resolved once for the whole run. */
function onceSource(archives: ArchiveSet): ArchiveSource {
  const resolved = new Map<string, Promise<ResolvedPackage>>();
  return {
    resolve(name, pinned) {
      const k = `${name}\0${pinned ?? ''}`;
      let p = resolved.get(k);
      if (!p) {
        p = archives.resolve(name, pinned);
        resolved.set(k, p);
      }
      return p;
    },
    fetchDeb: (p, onBytes) => archives.fetchDeb(p as Parameters<ArchiveSet['fetchDeb']>[0], onBytes),
    inReleasesRead: async () => archives.inReleases(),
  };
}

/** Archive errors that are the slice's fault, not the archive's. */
const SLICE_FAULTS = new Set(['package-not-found', 'package-in-skipped-archive']);

async function checkOne(name: string, opts: CheckOptions, source: ArchiveSource): Promise<SliceCheck> {
  const started = Date.now();
  const done = (r: Omit<SliceCheck, 'name' | 'result' | 'ms'>): SliceCheck => ({
    name,
    result: r.problems.length || r.smoke.some((s) => s.result === 'fail') ? 'fail' : 'pass',
    ...r,
    ms: Date.now() - started,
  });
  const empty = { size: 0, files: 0, elfs: 0, notes: [], smoke: [] };
  let tree: Awaited<ReturnType<typeof cut>>['tree'];
  let tests: SmokeTest[];
  try {
    const selection = select(opts.release, [name], opts.arch);
    const plan = await choosePackages(selection, source, {});
    tree = (await cut({ selection, packages: plan.packages, store: opts.store, source })).tree;
    tests = smokeTestsOf(opts.release, name);
  } catch (e) {
    // the slice's own fault (a package the archives lack, a bad selection) fails it; an archive that fails stops the run
    if (!(e instanceof ChiselError) || (e.exitCode === ExitCode.ARCHIVE && !SLICE_FAULTS.has(e.code))) throw e;
    return done({ ...empty, problems: [`cut failed: ${e.message}`] });
  }
  const reader = opts.store.contentReader();
  const files = new FileOpener(reader);
  let root: ReturnType<typeof checkRoot>;
  try {
    root = checkRoot(tree, { arch: opts.arch, open: (e) => files.open(e), read: (e) => reader.read(e.sha256!) });
  } finally {
    files.close();
    reader.close();
  }
  const { problems } = root;
  const smoke: SmokeResult[] = [];
  const view = new RootView(tree);
  const runnable: SmokeTest[] = [];
  for (const t of tests) {
    const prog = programOf(view, t.run[0]!);
    if (typeof prog === 'string') runnable.push({ ...t, run: [prog, ...t.run.slice(1)] });
    else smoke.push({ run: t.run, result: 'fail', reason: prog.why });
  }
  const why = runnable.length ? cannotRun(opts.arch) : undefined;
  if (why) smoke.push(...runnable.map((t): SmokeResult => ({ run: t.run, result: 'skipped', reason: why })));
  else if (runnable.length) {
    const parent = await fs.mkdtemp(path.join(opts.workDir ?? tmpdir(), 'chisel-ts-check-'));
    try {
      const dir = path.join(parent, 'root');
      await writeDir(tree, opts.store, dir, { mtime: 0 });
      for (const t of runnable) smoke.push(await runSmoke(dir, t));
    } finally {
      await fs.rm(parent, { recursive: true, force: true });
    }
  }
  for (const s of smoke) if (s.result === 'fail') problems.push(`check ${s.run.join(' ')}: ${s.reason}`);
  return done({ size: root.size, files: root.files, elfs: root.elfs, problems, notes: root.notes, smoke });
}

/** The program a smoke test names: its path, or the one file its glob matches (java-21-openjdk-* for the arch's JVM directory). */
function programOf(view: RootView, prog: string): string | { why: string } {
  if (!isGlob(prog)) return view.fileAt(prog) ? prog : { why: `${prog} is not in the root` };
  const found = view.tree.entries.filter((e) => e.type !== 'dir' && globMatch(prog, e.path) && view.fileAt(e.path)).map((e) => e.path);
  if (found.length === 1) return found[0]!;
  return {
    why: found.length ? `${prog} matches ${found.length} files (${found.join(', ')}): name one` : `nothing in the root matches ${prog}`,
  };
}

/** The smoke tests of a slice, or of every slice of a set. */
function smokeTestsOf(release: Release, name: string): SmokeTest[] {
  const [pkg, slice] = name.split('_');
  if (slice !== undefined) return release.packages.get(pkg!)?.slices.get(slice)?.checks ?? [];
  const members = release.sets?.get(name) ?? [];
  return members.flatMap((m) => smokeTestsOf(release, m));
}

/** Positional reads of store contents: one descriptor per blob file, packed contents read whole. */
class FileOpener {
  private readonly fds = new Map<string, number>();
  constructor(private readonly reader: ContentReader) {}
  open(e: TreeEntry): ReadAt {
    const sha = e.sha256!;
    const file = this.reader.blobFile(sha);
    if (!file) {
      const all = this.reader.read(sha);
      return (offset, length) => all.subarray(Math.min(offset, all.length), Math.min(offset + length, all.length));
    }
    return (offset, length) => {
      let fd = this.fds.get(file);
      if (fd === undefined) {
        fd = fss.openSync(file, 'r');
        this.fds.set(file, fd);
      }
      const buf = Buffer.alloc(Math.max(0, Math.min(length, e.size - offset)));
      let got = 0;
      while (got < buf.length) {
        const n = fss.readSync(fd, buf, got, buf.length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    };
  }
  close(): void {
    for (const fd of this.fds.values()) fss.closeSync(fd);
    this.fds.clear();
  }
}
