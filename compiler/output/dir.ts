// Tree -> a root directory on disk. Contents are copied from the content
// store; nothing is written outside the root (every parent is checked with
// lstat, so a symlink on disk is never followed). A missing or empty target is
// built in a sibling temporary directory and renamed into place, so a failed
// or interrupted cut leaves no partial root. An existing non-empty target is
// written in place (a cut on top of an existing root filesystem).

import fss, { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ContentReader, ContentStore } from '../cache/store.js';
import type { Tree, TreeEntry } from '../tree/model.js';
import { ChiselError } from '../util/errors.js';
import { releaseTemp, sweepStale, tempSibling } from '../util/tempfiles.js';

export interface WriteDirOptions {
  /** mtime for every entry, in seconds (the build's source date epoch). */
  mtime: number;
  /** Awaited before the root is put in place (a check of its contents running meanwhile); its failure leaves no root. */
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
  const state = await isEmptyDir(target);
  if (state === false) {
    await opts.beforePublish?.(); // written in place: nothing before the check passed
    await writeInto(tree, store, target, opts, true);
    return;
  }
  await fs.mkdir(path.dirname(target), { recursive: true });
  await sweepStale(target);
  const tmp = tempSibling(target);
  await fs.mkdir(tmp, { mode: 0o755 });
  try {
    await writeInto(tree, store, tmp, opts, false);
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
}

// Synchronous calls: a root is hundreds of small operations in a fixed order,
// and each asynchronous one costs a round trip through the thread pool (twice
// the time of the whole write on a fast disk; on a slow one, where creating an
// inode is the cost, writing in parallel measured no faster). The event loop
// gets a turn every ENTRIES_PER_TURN entries (what runs beside the write: the
// InRelease downloads of an early build).
const ENTRIES_PER_TURN = 128;

async function writeInto(tree: Tree, store: ContentStore, root: string, opts: WriteDirOptions, existing: boolean): Promise<void> {
  const reader = store.contentReader();
  try {
    await writeEntries(tree, reader, root, opts.mtime, existing);
  } finally {
    reader.close();
  }
}

async function writeEntries(tree: Tree, reader: ContentReader, root: string, mtime: number, existing: boolean): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const dirs: TreeEntry[] = [];
  const checked = new Set<string>([root]);
  const lstat = (p: string) => fss.lstatSync(p, { throwIfNoEntry: false });
  const safeParent = (p: string): void => {
    const parent = path.dirname(p);
    if (checked.has(parent)) return;
    safeParent(parent);
    const st = lstat(parent);
    if (!st) fss.mkdirSync(parent, { mode: 0o755 });
    else if (!st.isDirectory())
      throw new ChiselError(
        `refusing to write ${path.relative(root, p)}: its parent ${path.relative(root, parent)} is not a directory on disk (a symlink?)`,
        { code: 'unsafe-path' },
      );
    checked.add(parent);
  };
  let n = 0;
  for (const e of tree.entries) {
    if (++n % ENTRIES_PER_TURN === 0) await new Promise((r) => setImmediate(r));
    const dest = path.join(root, e.path);
    if (!dest.startsWith(`${root}/`)) throw new ChiselError(`refusing to write ${e.path}: outside the root`, { code: 'unsafe-path' });
    safeParent(dest);
    if (existing) {
      const st = lstat(dest);
      if (st && !(st.isDirectory() && e.type === 'dir')) fss.rmSync(dest, { recursive: true, force: true });
    }
    const owned = asRoot && (e.uid !== 0 || e.gid !== 0 || existing);
    switch (e.type) {
      case 'dir':
        try {
          fss.mkdirSync(dest, { mode: 0o700 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        checked.add(dest);
        dirs.push(e);
        if (owned) fss.lchownSync(dest, e.uid, e.gid);
        continue;
      case 'file':
        writeFile(reader, e, dest, mtime, owned);
        continue;
      case 'symlink':
        fss.symlinkSync(e.link!, dest);
        break;
      case 'hardlink':
        fss.linkSync(path.join(root, e.link!), dest);
        break;
    }
    if (owned) fss.lchownSync(dest, e.uid, e.gid);
    fss.lutimesSync(dest, mtime, mtime);
  }
  // Directory modes and times last, deepest first, so restrictive modes do not block writing.
  for (const d of dirs.reverse()) {
    const dest = path.join(root, d.path);
    fss.chmodSync(dest, d.mode);
    fss.lutimesSync(dest, mtime, mtime);
  }
  fss.chmodSync(root, 0o755);
}

/** A new regular file: content, owner, then mode (chown clears setuid/setgid), then times, all on one descriptor. */
function writeFile(reader: ContentReader, e: TreeEntry, dest: string, mtime: number, owned: boolean): void {
  const blob = reader.blobFile(e.sha256!);
  if (blob) fss.copyFileSync(blob, dest, fss.constants.COPYFILE_EXCL | fss.constants.COPYFILE_FICLONE);
  const fd = fss.openSync(dest, blob ? 'r+' : 'wx', 0o600);
  try {
    if (!blob) {
      const data = reader.read(e.sha256!);
      for (let off = 0; off < data.length; ) off += fss.writeSync(fd, data, off);
    }
    if (owned) fss.fchownSync(fd, e.uid, e.gid);
    fss.fchmodSync(fd, e.mode);
    fss.futimesSync(fd, mtime, mtime);
  } finally {
    fss.closeSync(fd);
  }
}
