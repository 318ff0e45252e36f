// The directories, regular files and symlinks of a root, made by two threads:
// dir.ts works from the front of the list (tree order), the file worker
// (fileworker.ts) from the back, until they meet; a thread that finds an
// entry's parent not made yet makes it (the other thread's directory job then
// finds it there). Regular files are copied from the content store; a
// content not yet verified by this process is hashed from the bytes copied,
// and one that is missing or does not hash to its sum is reported: the root
// it was written into is never published.

import { createHash, type Hash } from 'node:crypto';
import fss from 'node:fs';
import path from 'node:path';
import { isMissing } from '../cache/hashcheck.js';

type Owner = { uid: number; gid: number };

/** One entry to make: a directory (its mode is set once everything is written), a regular file, a symlink. */
export type EntryJob = DirJob | FileJob | SymlinkJob;

export interface DirJob {
  dest: string;
  dir: true;
  owner?: Owner;
}

export interface SymlinkJob {
  dest: string;
  link: string;
  owner?: Owner;
}

export interface FileJob {
  dest: string;
  sum: string;
  /** The blob file holding the content whole, or `size` bytes of it at `offset` (a pack). */
  file: string;
  offset?: number;
  size: number;
  mode: number;
  /** chown to uid:gid (run as root, not root:root or written in place) */
  owner?: Owner;
  /** Hash the bytes copied (a content this process has not verified). */
  check: boolean;
}

/**
 * The jobs claimed so far, 1 per job claimed by either thread, and after
 * them the worker's flag: 1 while it makes entries (shared memory, so that
 * each thread sees every claim at once).
 */
export type Claims = Int32Array;

export function newClaims(n: number): Claims {
  return new Int32Array(new SharedArrayBuffer(4 * (n + 1)));
}

/** Claims every job left, then waits (up to 2 s) until the worker makes no more entries: what is in the root then stays as it is. */
export function stopMaking(claims: Claims): void {
  const busy = claims.length - 1;
  for (let i = 0; i < busy; i++) Atomics.store(claims, i, 1);
  Atomics.wait(claims, busy, 1, 2000);
}

const CHUNK = 1 << 20;

/**
 * Makes the jobs not claimed by the other thread, from the front (`step` 1)
 * or the back (`step` -1) of the list, until it meets a job already claimed.
 * `pause` is awaited every `every` jobs (the main thread's event loop gets
 * its turn). Returns how many it made, and the sums that were missing or damaged.
 */
export async function makeEntries(
  jobs: EntryJob[],
  claims: Claims,
  step: 1 | -1,
  mtime: number,
  pause?: { every: number; turn: () => Promise<void> },
): Promise<{ made: number; bad: string[] }> {
  const maker = new Maker(mtime);
  const busy = claims.length - 1;
  if (step === -1) Atomics.store(claims, busy, 1); // the worker, before its first claim (see stopMaking)
  let made = 0;
  try {
    for (let i = step === 1 ? 0 : jobs.length - 1; i >= 0 && i < jobs.length; i += step) {
      if (Atomics.compareExchange(claims, i, 0, 1) !== 0) break; // the other thread came this far
      maker.make(jobs[i]!);
      made++;
      if (pause && made % pause.every === 0) await pause.turn();
    }
  } finally {
    maker.close();
    if (step === -1) {
      Atomics.store(claims, busy, 0);
      Atomics.notify(claims, busy);
    }
  }
  return { made, bad: maker.bad };
}

class Maker {
  readonly bad: string[] = [];
  private readonly packs = new Map<string, number | null>();
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  constructor(private readonly mtime: number) {}

  make(job: EntryJob): void {
    try {
      this.makeHere(job);
    } catch (e) {
      // the parent is the other thread's job, not made yet (or not an entry of the tree): made here,
      // unless the other thread made it meanwhile (then the second try finds it; any other cause fails again)
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fss.mkdirSync(path.dirname(job.dest), { recursive: true, mode: 0o755 });
      this.makeHere(job);
    }
  }

  private makeHere(job: EntryJob): void {
    if ('dir' in job) {
      try {
        fss.mkdirSync(job.dest, { mode: 0o700 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      if (job.owner) fss.lchownSync(job.dest, job.owner.uid, job.owner.gid);
      return;
    }
    if ('link' in job) {
      fss.symlinkSync(job.link, job.dest);
      if (job.owner) fss.lchownSync(job.dest, job.owner.uid, job.owner.gid);
      fss.lutimesSync(job.dest, this.mtime, this.mtime);
      return;
    }
    this.copy(job);
  }

  private copy(job: FileJob): void {
    if (job.offset === undefined && !job.check) {
      // a verified blob of its own: copied by the kernel (copy_file_range)
      fss.copyFileSync(job.file, job.dest, fss.constants.COPYFILE_EXCL | fss.constants.COPYFILE_FICLONE);
      this.finish(job, fss.openSync(job.dest, 'r+'));
      return;
    }
    const src = job.offset === undefined ? this.openBlob(job.file) : this.pack(job.file);
    if (src === null) {
      this.bad.push(job.sum);
      return;
    }
    let fd: number | undefined;
    let ok = false;
    try {
      fd = fss.openSync(job.dest, 'wx', 0o600);
      ok = this.pour(src, job.offset ?? 0, job.size, fd, job.check ? createHash('sha256') : undefined, job);
    } finally {
      if (job.offset === undefined) fss.closeSync(src);
      if (fd !== undefined && !ok) fss.closeSync(fd); // not published: the root goes, with what was written
    }
    if (!ok) {
      this.bad.push(job.sum);
      return;
    }
    this.finish(job, fd!);
  }

  /** `size` bytes of `src` at `offset` into `fd`, hashed when `hash`: whether they were all there (and, hashed, right). */
  private pour(src: number, offset: number, size: number, fd: number, hash: Hash | undefined, job: FileJob): boolean {
    let got = 0;
    while (got < size) {
      const n = fss.readSync(src, this.buf, 0, Math.min(CHUNK, size - got), offset + got);
      if (n === 0) return false;
      const part = n === CHUNK ? this.buf : this.buf.subarray(0, n);
      hash?.update(part);
      for (let off = 0; off < n; ) off += fss.writeSync(fd, part, off, n - off);
      got += n;
    }
    // a whole blob must end where its content does
    if (job.offset === undefined && hash && fss.readSync(src, this.buf, 0, 1, size) !== 0) return false;
    return !hash || hash.digest('hex') === job.sum;
  }

  /** Owner, then mode (chown clears setuid/setgid), then times, on the file's descriptor, which it closes. */
  private finish(job: FileJob, fd: number): void {
    try {
      if (job.owner) fss.fchownSync(fd, job.owner.uid, job.owner.gid);
      fss.fchmodSync(fd, job.mode);
      fss.futimesSync(fd, this.mtime, this.mtime);
    } finally {
      fss.closeSync(fd);
    }
  }

  private openBlob(file: string): number | null {
    try {
      return fss.openSync(file, 'r');
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  /** A pack's descriptor, kept open for the jobs after (null: the pack is missing). */
  private pack(file: string): number | null {
    let fd = this.packs.get(file);
    if (fd === undefined) this.packs.set(file, (fd = this.openBlob(file)));
    return fd;
  }

  close(): void {
    for (const fd of this.packs.values()) if (fd !== null) fss.closeSync(fd);
    this.packs.clear();
  }
}
