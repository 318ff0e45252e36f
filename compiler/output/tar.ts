// Tree -> a rootfs tarball. Entries in tree order (parents first, sorted by
// path), numeric owners with empty user/group names, every mtime from
// SOURCE_DATE_EPOCH, no root entry: the same tree gives the same bytes.
// File contents are streamed from the content store and their sha256 checked
// on the way, so a damaged cache can never reach an output.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { SMALL_BLOB, type ContentStore } from '../cache/store.js';
import type { Tree, TreeEntry } from '../tree/model.js';
import { ChiselError } from '../util/errors.js';
import { compressor } from './compress.js';
import type { OutputCompression } from './compression.js';
import { releaseTemp, sweepStale, tempSibling } from '../util/tempfiles.js';

export interface TarOptions {
  /** mtime of every entry in seconds (the build's source date epoch). */
  mtime: number;
}

/**
 * The tar header of `e`. A hard link's header carries the mode of its target
 * (`linkMode`, the group's primary file): the entries of one inode have one
 * mode, and podman applies a hard-link header's mode to the inode.
 */
function header(e: TreeEntry, mtime: Date, linkMode?: number): tarStream.Header {
  const name = e.path.slice(1) + (e.type === 'dir' ? '/' : '');
  const mode = (e.type === 'hardlink' && linkMode !== undefined ? linkMode : e.mode) & 0o7777;
  const base = { name, mode, uid: e.uid, gid: e.gid, uname: '', gname: '', mtime, linkname: '', devmajor: 0, devminor: 0 };
  switch (e.type) {
    case 'dir':
      return { ...base, type: 'directory', size: 0 };
    case 'file':
      return { ...base, type: 'file', size: e.size };
    case 'symlink':
      return { ...base, type: 'symlink', size: 0, linkname: e.link! };
    case 'hardlink':
      return { ...base, type: 'link', size: 0, linkname: e.link!.slice(1) };
  }
}

function damaged(e: TreeEntry, got: string, n: number): ChiselError {
  return new ChiselError(`cached content of ${e.path} is damaged (sha256 ${got}, ${n} bytes; expected ${e.sha256}, ${e.size} bytes)`, {
    code: 'cache',
    hint: 'cut again (the damaged content is checked and fetched again), or run `chisel-ts cache verify --repair`',
  });
}

/** Fails unless `data` is the content of `e`. */
function checkContent(e: TreeEntry, data: Buffer): void {
  const got = createHash('sha256').update(data).digest('hex');
  if (got !== e.sha256 || data.length !== e.size) throw damaged(e, got, data.length);
}

/** A verifying pass-through: fails unless the bytes hash to `sha256` with `size` bytes. */
function verify(e: TreeEntry): Transform {
  const h = createHash('sha256');
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      const got = h.digest('hex');
      if (got !== e.sha256 || n !== e.size) cb(damaged(e, got, n));
      else cb();
    },
  });
}

/** The uncompressed tar of a tree, as a stream. */
export function tarStreamOf(tree: Tree, store: ContentStore, opts: TarOptions): Readable {
  const mtime = new Date(opts.mtime * 1000);
  const pack = tarStream.pack();
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const reader = store.contentReader();
  const add = (h: tarStream.Header, data?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (data) pack.entry(h, data, done);
      else pack.entry(h, done);
    });
  // the modes of the files hard links point to, made at the first hard link
  let fileModes: Map<string, number> | undefined;
  const linkMode = (e: TreeEntry) =>
    (fileModes ??= new Map(tree.entries.filter((f) => f.type === 'file').map((f) => [f.path, f.mode]))).get(e.link!);
  (async () => {
    for (const e of tree.entries) {
      if (e.type === 'file' && e.size <= SMALL_BLOB) {
        // a small file is read whole, through descriptors kept open on its pack: opening a
        // stream per file costs more than its bytes (a root is thousands of them)
        const data = reader.read(e.sha256!);
        if (!store.isVerified(e.sha256!)) checkContent(e, data);
        await add(header(e, mtime), data);
      } else if (e.type === 'file') {
        const entry = pack.entry(header(e, mtime));
        // content this process already hashed (the build checks every tree before writing) is not hashed again
        if (store.isVerified(e.sha256!)) await pipeline(store.contentStream(e.sha256!), entry);
        else await pipeline(store.contentStream(e.sha256!), verify(e), entry);
      } else {
        await add(header(e, mtime, e.type === 'hardlink' ? linkMode(e) : undefined));
      }
    }
    pack.finalize();
  })()
    .catch((err: Error) => out.destroy(err))
    .finally(() => reader.close());
  pack.on('error', (err) => out.destroy(err));
  return pack.pipe(out);
}

export interface WrittenBlob {
  /** sha256 hex of the bytes written. */
  sha256: string;
  size: number;
  /** sha256 hex of the uncompressed tar (the OCI diff_id). */
  diffId: string;
  diffSize: number;
}

/** Hash (and count) what flows through. */
export function hasher(): Transform & { result(): { sha256: string; size: number } } {
  const h = createHash('sha256');
  let size = 0;
  let sum: string | undefined;
  const t = new Transform({
    transform(chunk: Buffer, _e, cb) {
      h.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  }) as Transform & { result(): { sha256: string; size: number } };
  t.result = () => ({ sha256: (sum ??= h.digest('hex')), size });
  return t;
}

/** Write the tree's tar (compressed as asked) to `dest`, atomically. */
export async function writeTarFile(
  tree: Tree,
  store: ContentStore,
  dest: string,
  compression: OutputCompression,
  opts: TarOptions,
): Promise<WrittenBlob> {
  const raw = hasher();
  const packed = hasher();
  await writeAtomically(dest, (tmp) =>
    pipeline(tarStreamOf(tree, store, opts), raw, compressor(compression), packed, createWriteStream(tmp, { mode: 0o644 })),
  );
  const r = raw.result();
  const p = packed.result();
  return { sha256: p.sha256, size: p.size, diffId: r.sha256, diffSize: r.size };
}

/** Copy `src` (a layer blob with the bytes this tar must have, described by `blob`) to `dest`, atomically, as writeTarFile would write it. */
export async function copyTarFile(src: string, dest: string, blob: WrittenBlob): Promise<WrittenBlob> {
  await writeAtomically(dest, (tmp) => pipeline(createReadStream(src), createWriteStream(tmp, { mode: 0o644 })));
  return blob;
}

/** `write` a temporary sibling of `dest`, then rename it into place; nothing is left at `dest` on a failure. */
async function writeAtomically(dest: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const file = path.resolve(dest);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await sweepStale(file);
  const tmp = tempSibling(file);
  try {
    await write(tmp);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  } finally {
    releaseTemp(tmp);
  }
}
