// Tree -> a root directory on disk. Contents are copied from the content
// store, and each one this process has not verified yet is hashed from the
// bytes copied (DamagedContents: the root is not published); nothing is
// written outside the root (every parent is checked with lstat, so a symlink
// on disk is never followed). A missing or empty target is built in a sibling
// temporary directory and renamed into place, so a failed or interrupted cut
// leaves no partial root. An existing non-empty target is written in place (a
// cut on top of an existing root filesystem), its contents checked first.

import fss, { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ContentStore } from '../cache/store.js';
import { contentSums, type Tree, type TreeEntry } from '../tree/model.js';
import { ChiselError, deserializeError } from '../util/errors.js';
import { trace } from '../util/trace.js';
import { releaseTemp, stopWritersOnSignal, sweepStale, tempSibling } from '../util/tempfiles.js';
import { makeEntries, newClaims, stopMaking, type EntryJob } from './entries.js';
import type { FileWork, FileWorkReply } from './fileworker.js';

export interface WriteDirOptions {
  /** mtime for every entry, in seconds (the build's source date epoch). */
  mtime: number;
  /** Awaited before the root is put in place (while it is written); its failure leaves no root. */
  beforePublish?: () => Promise<void>;
}

async function isEmptyDir(p: string): Promise<boolean | undefined> {
  try {
    const st = await fs.lstat(p);
    if (!st.isDirectory())
      throw new ChiselError(`output ${p} exists and is not a directory`, { code: 'output', hint: 'choose another --root' });
    return (await fs.readdir(p)).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function writeDir(tree: Tree, store: ContentStore, root: string, opts: WriteDirOptions): Promise<void> {
  const target = path.resolve(root);
  const worker = startWorker(tree); // starting while the target is looked at
  try {
    const state = await isEmptyDir(target);
    if (state === false) {
      // written in place: nothing before every content was checked and the caller's gate passed
      const bad = await store.checkContents(contentSums(tree));
      if (bad.length > 0) throw new DamagedContents(bad);
      await opts.beforePublish?.();
      await writeInto(tree, store, target, opts.mtime, true, worker);
      return;
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    await sweepStale(target);
    const tmp = tempSibling(target);
    await fs.mkdir(tmp, { mode: 0o755 });
    try {
      await writeInto(tree, store, tmp, opts.mtime, false, worker);
      await opts.beforePublish?.();
      if (state === true) await fs.rmdir(target);
      // synchronous, and released at once: a signal handler (which removes live temporaries)
      // must never run while the rename is in flight, or it deletes part of the finished root
      fss.renameSync(tmp, target);
      releaseTemp(tmp);
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw e;
    } finally {
      releaseTemp(tmp);
    }
  } finally {
    void worker?.terminate();
  }
}

// Synchronous calls: a root is hundreds of small operations in a fixed order,
// and each asynchronous one costs a round trip through the thread pool (twice
// the time of the whole write on a fast disk). The directories, files and
// symlinks are made on two threads (entries.ts: creating inodes scales with
// threads, on ext4 as on tmpfs); then the hard links and the directories'
// modes. The event loop gets a turn every ENTRIES_PER_TURN entries made on
// this thread (what runs beside the write: the plan of an early build, a
// chain of small asynchronous steps that would otherwise end after the
// write; a turn costs microseconds, and the worker goes on meanwhile).
const ENTRIES_PER_TURN = 16;
/** Fewer entries than this are made on the main thread alone (a thread takes longer to start than they take). */
const ENTRIES_FOR_A_WORKER = 256;

/** Contents of a tree that were missing or did not hash to their sums while a root was written: it was not published. */
export class DamagedContents extends Error {
  constructor(readonly sums: string[]) {
    super(`${sums.length} stored contents are missing or damaged`);
  }
}

/** The tree written into `root` (a new temporary directory, or an existing root when `existing`). */
async function writeInto(
  tree: Tree,
  store: ContentStore,
  root: string,
  mtime: number,
  existing: boolean,
  worker: Worker | undefined,
): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const owner = (e: TreeEntry) => (asRoot && (e.uid !== 0 || e.gid !== 0 || existing) ? { uid: e.uid, gid: e.gid } : undefined);
  const { jobs, links, dirs } = layout(tree, root, store, owner);
  if (existing) clearInPlace(tree, root);
  const bad = await makeAll(jobs, mtime, worker);
  if (bad.length > 0) throw new DamagedContents([...new Set(bad)]);
  for (const e of links) {
    const dest = path.join(root, e.path);
    fss.linkSync(path.join(root, e.link!), dest);
    const own = owner(e);
    if (own) fss.lchownSync(dest, own.uid, own.gid);
    fss.lutimesSync(dest, mtime, mtime);
  }
  // Directory modes and times last, deepest first, so restrictive modes do not block writing.
  for (const d of dirs.reverse()) {
    const dest = path.join(root, d.path);
    fss.chmodSync(dest, d.mode);
    fss.lutimesSync(dest, mtime, mtime);
  }
  fss.chmodSync(root, 0o755);
  for (const j of jobs) if ('check' in j && j.check) store.markVerified(j.sum);
}

/**
 * The jobs of the tree's entries, in tree order (hard links apart: made once
 * their targets are). Refuses, before anything is written, an entry outside
 * the root or below an entry of the tree that is not a directory: no thread
 * then ever makes a path through a symlink the tree put there.
 */
function layout(
  tree: Tree,
  root: string,
  store: ContentStore,
  owner: (e: TreeEntry) => { uid: number; gid: number } | undefined,
): { jobs: EntryJob[]; links: TreeEntry[]; dirs: TreeEntry[] } {
  const jobs: EntryJob[] = [];
  const links: TreeEntry[] = [];
  const dirs: TreeEntry[] = [];
  const kinds = new Map<string, TreeEntry['type']>();
  const fine = new Set<string>(['/']); // paths whose every ancestor is a directory (or not an entry)
  const checkParents = (p: string, entry = p): void => {
    const parent = path.posix.dirname(p);
    if (fine.has(parent)) return;
    checkParents(parent, entry);
    const kind = kinds.get(parent);
    if (kind !== undefined && kind !== 'dir')
      throw new ChiselError(`refusing to write ${entry.slice(1)}: its parent ${parent.slice(1)} is a ${kind}, not a directory`, {
        code: 'unsafe-path',
      });
    fine.add(parent);
  };
  for (const e of tree.entries) {
    const dest = path.join(root, e.path);
    if (!dest.startsWith(`${root}/`)) throw new ChiselError(`refusing to write ${e.path}: outside the root`, { code: 'unsafe-path' });
    kinds.set(e.path, e.type);
    checkParents(e.path);
    const own = owner(e);
    const ownerPart = own ? { owner: own } : {};
    if (e.type === 'dir') {
      jobs.push({ dest, dir: true, ...ownerPart });
      dirs.push(e);
    } else if (e.type === 'file') {
      const at = store.locate(e.sha256!);
      const offset = at.offset !== undefined ? { offset: at.offset } : {};
      jobs.push({
        dest,
        sum: e.sha256!,
        file: at.file,
        ...offset,
        size: e.size,
        mode: e.mode,
        ...ownerPart,
        check: !store.isVerified(e.sha256!),
      });
    } else if (e.type === 'symlink') jobs.push({ dest, link: e.link!, ...ownerPart });
    else links.push(e);
  }
  return { jobs, links, dirs };
}

/** An existing root: every parent on disk must be a directory (a symlink there is never followed), and what an entry replaces is removed. */
function clearInPlace(tree: Tree, root: string): void {
  const checked = new Set<string>([root]);
  const lstat = (p: string) => fss.lstatSync(p, { throwIfNoEntry: false });
  const safeParent = (p: string): void => {
    const parent = path.dirname(p);
    if (checked.has(parent)) return;
    safeParent(parent);
    const st = lstat(parent);
    if (st && !st.isDirectory())
      throw new ChiselError(
        `refusing to write ${path.relative(root, p)}: its parent ${path.relative(root, parent)} is not a directory on disk (a symlink?)`,
        { code: 'unsafe-path' },
      );
    checked.add(parent);
  };
  for (const e of tree.entries) {
    const dest = path.join(root, e.path);
    safeParent(dest);
    const st = lstat(dest);
    if (st && !(st.isDirectory() && e.type === 'dir')) fss.rmSync(dest, { recursive: true, force: true });
    if (e.type === 'dir') checked.add(dest);
  }
}

/** The file worker, started as the write begins (it is ready by the time the target is looked at), for a tree with many entries. */
function startWorker(tree: Tree): Worker | undefined {
  if (tree.entries.length < ENTRIES_FOR_A_WORKER) return undefined;
  const url = new URL('./fileworker.js', import.meta.url);
  if (!fss.existsSync(fileURLToPath(url))) return undefined; // run from the sources: no compiled worker
  try {
    return new Worker(url);
  } catch {
    return undefined; // a thread that cannot start: the main thread makes every entry
  }
}

const turns = { every: ENTRIES_PER_TURN, turn: () => new Promise<void>((r) => setImmediate(r)) };

/** The entries made from both ends of the list, this thread from the front, the worker (if any) from the back; the sums missing or damaged. */
async function makeAll(jobs: EntryJob[], mtime: number, worker: Worker | undefined): Promise<string[]> {
  const claims = newClaims(jobs.length);
  if (!worker) return (await makeEntries(jobs, claims, 1, mtime, turns)).bad;
  // an interrupt removes the temporary root: the worker stops writing into it first
  const released = stopWritersOnSignal(() => stopMaking(claims));
  try {
    const theirs = workerMakes(worker, { jobs, claims, mtime });
    theirs.catch(() => undefined); // awaited below
    const mine = await makeEntries(jobs, claims, 1, mtime, turns);
    const other = await theirs;
    trace(`entries made: ${mine.made} on the main thread, ${other.made} by the file worker`);
    return [...mine.bad, ...other.bad];
  } finally {
    released();
  }
}

function workerMakes(worker: Worker, work: FileWork): Promise<{ made: number; bad: string[] }> {
  return new Promise((resolve, reject) => {
    worker.once('message', (m: FileWorkReply) => (m.ok ? resolve(m) : reject(deserializeError(m.error))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`file worker exited with code ${code}`)));
    worker.postMessage(work);
  });
}
