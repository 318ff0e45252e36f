// Content-addressed store: every blob lives at blobs/sha256/<hex> (one flat
// directory: a fan-out into 256 directories costs a cold cut more inode
// allocations than it saves), written to a temporary file first, verified,
// then renamed into place, so a failure or an interrupt never leaves a
// partial or unverified blob behind. Side data
// (parsed indexes, .deb listings) lives under meta/<kind>/<key>.json, keyed by
// the sha256 of what it was derived from.

import { createHash, randomBytes } from 'node:crypto';
import fss, { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { markWriter } from './writers.js';
import { damagedContents, isMissing, type CheckItem } from './hashcheck.js';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(homedir(), '.cache');
  return path.join(base, 'chisel-ts');
}

export class HashMismatchError extends Error {
  constructor(
    readonly what: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${what}: sha256 mismatch: expected ${expected}, got ${actual}`);
  }
}

/**
 * A write of the cache that the operating system refused (out of space,
 * permissions, read-only, file limit): the errno code and the path, with
 * the original error as cause. Upper layers report it as a local failure.
 */
export class CacheWriteError extends Error {
  readonly place = 'cache';
  readonly code: string | undefined;
  readonly path: string;
  constructor(file: string, cause: unknown) {
    super(`cache ${file}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'CacheWriteError';
    this.code = (cause as NodeJS.ErrnoException)?.code;
    this.path = file;
  }
}

/**
 * mkdir -p that reports the real cause: a recursive mkdir on a read-only
 * file system fails with ENOENT, so the first missing directory is made
 * again on its own to get the error the system gives for it (EROFS, EACCES).
 */
export async function mkdirs(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    let missing = dir;
    while (!fss.existsSync(path.dirname(missing)) && path.dirname(missing) !== missing) missing = path.dirname(missing);
    await fs.mkdir(missing); // throws the real cause
    throw e;
  }
}

/** An errno error of a cache write, as a CacheWriteError naming `file` (other errors unchanged). */
function cacheWriteError(e: unknown, file: string): unknown {
  if (e instanceof CacheWriteError || typeof (e as NodeJS.ErrnoException)?.code !== 'string') return e;
  return new CacheWriteError((e as NodeJS.ErrnoException).path ?? file, e);
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Entries up to this size are read into memory and written in one go (putSmall). */
export const SMALL_BLOB = 4 << 20;
/** Bounds on putSmall's background writes (the bytes are held in memory until written). */
const MAX_PENDING_WRITES = 64;
const MAX_PENDING_BYTES = 32 << 20;

/** Writes `data` to `tmp`, then renames it to `dest` (the temporary file is removed on failure). */
async function writeThenRename(tmp: string, dest: string, data: Uint8Array): Promise<void> {
  try {
    await fs.writeFile(tmp, data, { mode: 0o644 });
    await fs.rename(tmp, dest);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw cacheWriteError(e, dest);
  }
}

/** A stream of at most `size` bytes, read whole: its chunks and sha256 (`keep: false` hashes only). */
export async function readSized(
  stream: AsyncIterable<Uint8Array>,
  size: number,
  what: string,
  opts: { keep?: boolean } = {},
): Promise<{ chunks: Uint8Array[]; size: number; sha256: string }> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  const hash = createHash('sha256');
  for await (const c of stream) {
    n += c.length;
    if (n > Math.max(size, 0)) throw new Error(`${what}: more than the ${size} bytes declared`);
    hash.update(c);
    if (opts.keep !== false) chunks.push(c);
  }
  return { chunks, size: n, sha256: hash.digest('hex') };
}

/** Where packed content lives: a range of the pack blob. */
export interface PackedAt {
  pack: string;
  offset: number;
  size: number;
}

/** Background writes awaited together; `flush()` throws the first that failed. */
export class WriteBatch {
  private readonly pending = new Set<Promise<void>>();
  private failure: unknown;
  track(p: Promise<void>): void {
    const tracked: Promise<void> = p
      .catch((e: unknown) => {
        this.failure ??= e;
      })
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all(this.pending);
    const failure = this.failure;
    if (failure !== undefined) {
      this.failure = undefined;
      throw failure;
    }
  }
}

export class ContentStore {
  readonly root: string;
  /** Blob directories being made or made by this process. */
  private readonly dirMade = new Map<string, Promise<void>>();
  /** Background writes of putSmall under way (in any batch), and their bytes. */
  private readonly writing = new Set<Promise<void>>();
  private writingBytes = 0;
  private readonly deferred = new WriteBatch();
  private readonly tmpPrefix = `.tmp-${process.pid}-${randomBytes(6).toString('hex')}-`;
  private tmpCount = 0;
  /** Content kept inside a pack (see registerPacked): sha256 -> where. */
  private readonly packed = new Map<string, PackedAt>();
  /** Content hashed by this process (written from bytes it hashed, or read back and checked): never hashed again. */
  private readonly verified = new Set<string>();
  private readonly packPaths = new Map<string, string>();
  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /**
   * Content that lives inside a pack blob (the small files of a package,
   * stored together: one file instead of hundreds). Listings record where;
   * a cut registers them before anything reads the content.
   */
  registerPacked(sha256: string, at: PackedAt): void {
    this.packed.set(sha256, at);
  }

  /** Where a packed content is (registerPacked), or undefined for a content of its own blob. */
  packedAt(sha256: string): PackedAt | undefined {
    return this.packed.get(sha256);
  }

  /** The content of sha256 was hashed by this process (it wrote the bytes it hashed, or checked them). */
  markVerified(sha256: string): void {
    this.verified.add(sha256);
  }

  isVerified(sha256: string): boolean {
    return this.verified.has(sha256);
  }

  /**
   * Re-hashes each content not yet verified by this process (a blob, or its
   * range of a pack) and returns those that are damaged or missing. Each is
   * hashed once per process: outputs then read what was checked.
   */
  async checkContents(sums: Iterable<string>): Promise<string[]> {
    const items = this.checkItems(sums);
    const bad = damagedContents(items);
    this.markChecked(items, bad);
    return bad;
  }

  /** What checkContents hashes for `sums`: each not yet verified by this process, once. */
  private checkItems(sums: Iterable<string>): CheckItem[] {
    const items: CheckItem[] = [];
    for (const sum of new Set(sums)) if (!this.verified.has(sum)) items.push(this.locate(sum));
    return items;
  }

  /** Where the bytes of a content are: its own blob file, or a range of its pack's. */
  locate(sha256: string): CheckItem {
    const at = this.packed.get(sha256);
    if (!at) return { sum: sha256, file: this.blobPath(sha256) };
    let file = this.packPaths.get(at.pack); // thousands of contents share a few packs
    if (file === undefined) this.packPaths.set(at.pack, (file = this.blobPath(at.pack)));
    return { sum: sha256, file, offset: at.offset, size: at.size };
  }

  private markChecked(items: CheckItem[], bad: string[]): void {
    const damaged = new Set(bad);
    for (const it of items) if (!damaged.has(it.sum)) this.verified.add(it.sum);
  }

  /**
   * Removes the blob that holds this content (its pack, when packed): a
   * damaged entry is then missing. Returns every content that went with it
   * (the other members of the pack).
   */
  async dropContent(sha256: string): Promise<string[]> {
    const blob = this.contentBlob(sha256);
    const gone = [sha256];
    if (blob !== sha256) for (const [s, at] of this.packed) if (at.pack === blob && s !== sha256) gone.push(s);
    for (const s of gone) this.verified.delete(s);
    this.verified.delete(blob);
    await fs.rm(this.blobPath(blob), { force: true });
    return gone;
  }

  /** Whether the content of sha256 is in the store (as a blob or in a pack). */
  async hasContent(sha256: string): Promise<boolean> {
    return this.has(this.contentBlob(sha256));
  }

  /** The blob that holds the content of sha256: its pack, or the blob of that name. */
  contentBlob(sha256: string): string {
    return this.packed.get(sha256)?.pack ?? sha256;
  }

  /** A file's content (a blob, or a range of its pack). */
  readContentSync(sha256: string): Buffer {
    const at = this.packed.get(sha256);
    if (!at) return fss.readFileSync(this.blobPath(sha256));
    const fd = fss.openSync(this.blobPath(at.pack), 'r');
    try {
      return readRange(fd, at);
    } finally {
      fss.closeSync(fd);
    }
  }

  async readContent(sha256: string): Promise<Buffer> {
    const at = this.packed.get(sha256);
    if (!at) return fs.readFile(this.blobPath(sha256));
    return this.readContentSync(sha256);
  }

  /** A file's content as a stream. */
  contentStream(sha256: string): Readable {
    const at = this.packed.get(sha256);
    if (!at) return createReadStream(this.blobPath(sha256));
    if (at.size === 0) return Readable.from([]);
    return createReadStream(this.blobPath(at.pack), { start: at.offset, end: at.offset + at.size - 1 });
  }

  /** Reads many contents, keeping each pack open between reads (close() when done). */
  contentReader(): ContentReader {
    return new ContentReader(this, this.packed);
  }

  blobPath(sha256: string): string {
    if (!HEX64.test(sha256)) throw new Error(`invalid sha256 ${JSON.stringify(sha256)}`);
    return path.join(this.root, 'blobs', 'sha256', sha256);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await fs.access(this.blobPath(sha256));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Records that a cut used the side data kind/key (a package's listing):
   * its mtime is the entry's last use, for `cache prune` (least recently
   * used first). In the background; a failure only loses the stamp.
   */
  touchMeta(kind: string, key: string): void {
    this.later(this.touchMetaNow(kind, key));
  }

  /** touchMeta, done when it resolves (for a use after the cut's settle(): a layer taken from the layer cache). */
  async touchMetaNow(kind: string, key: string): Promise<void> {
    const now = new Date();
    await fs.utimes(this.metaPath(kind, key), now, now).catch(() => undefined);
  }

  private async tempFile(dir: string): Promise<string> {
    markWriter(this.root);
    await mkdirs(dir).catch((e: unknown) => {
      throw cacheWriteError(e, dir);
    });
    return path.join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** Store a buffer; returns its sha256. */
  async putBuffer(data: Uint8Array, expectedSha256?: string, what = 'blob'): Promise<string> {
    const sum = sha256Hex(data);
    if (expectedSha256 && sum !== expectedSha256) throw new HashMismatchError(what, expectedSha256, sum);
    const dest = this.blobPath(sum);
    // a blob this process has not checked may be damaged: writing it again costs less than hashing it
    if (this.verified.has(sum)) return sum;
    await writeThenRename(await this.tempFile(path.dirname(dest)), dest, data);
    this.verified.add(sum);
    return sum;
  }

  /**
   * Store a small stream (a file of a package, `size` bytes at most
   * SMALL_BLOB): read into memory and hashed; the blob is then written to a
   * temporary file and renamed into place in the background, on the thread
   * pool, while the caller goes on decompressing (creating thousands of small
   * files costs far more than their bytes). The write joins `batch`; callers
   * must `batch.flush()` before they record that the blob exists (a listing)
   * or read it back. Like putStream, an existing blob is replaced (a corrupt
   * one is repaired).
   */
  async putSmall(
    stream: AsyncIterable<Uint8Array>,
    size: number,
    batch: WriteBatch,
    what = 'blob',
  ): Promise<{ sha256: string; size: number }> {
    const { chunks, size: n, sha256 } = await readSized(stream, size, what);
    await this.writeLater(sha256, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n), batch);
    return { sha256, size: n };
  }

  /** Store `data` in the background (joining `batch`, within the bounds on bytes held); returns its sha256. */
  async putBufferLater(data: Uint8Array, batch: WriteBatch): Promise<string> {
    const sum = sha256Hex(data);
    await this.writeLater(sum, data, batch);
    return sum;
  }

  private async writeLater(sha256: string, data: Uint8Array, batch: WriteBatch): Promise<void> {
    await this.roomToWrite();
    const dest = this.blobPath(sha256);
    batch.track(this.bounded(data.length, () => this.writeBlob(dest, data).then(() => this.markVerified(sha256))));
  }

  private async roomToWrite(): Promise<void> {
    while (this.writing.size >= MAX_PENDING_WRITES || this.writingBytes >= MAX_PENDING_BYTES) await Promise.race(this.writing);
  }

  /** A batch of background writes, flushed together. */
  batch(): WriteBatch {
    return new WriteBatch();
  }

  /** Runs `write`, counted against the bounds on bytes held for background writes. */
  private bounded(bytes: number, write: () => Promise<void>): Promise<void> {
    this.writingBytes += bytes;
    const p = write();
    const done: Promise<void> = p
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.writing.delete(done);
        this.writingBytes -= bytes;
      });
    this.writing.add(done);
    return p;
  }

  private async writeBlob(dest: string, data: Uint8Array): Promise<void> {
    const dir = path.dirname(dest);
    let made = this.dirMade.get(dir);
    if (!made) {
      made = mkdirs(dir).then(
        () => undefined,
        (e: unknown) => {
          this.dirMade.delete(dir);
          throw cacheWriteError(e, dir);
        },
      );
      this.dirMade.set(dir, made);
    }
    await made;
    markWriter(this.root);
    await writeThenRename(path.join(dir, `${this.tmpPrefix}${this.tmpCount++}`), dest, data);
  }

  /**
   * Side data written once the current work has moved on (a parsed index is
   * serialized after the packages it resolved start downloading). A cache
   * write, so a failure only loses the cache entry; `settle()` waits for it.
   */
  putMetaLater(kind: string, key: string, value: unknown): void {
    this.later(new Promise<void>((r) => setImmediate(r)).then(() => this.putMeta(kind, key, value)));
  }

  /** A cache write that `settle()` waits for. */
  later(write: Promise<void>): void {
    this.deferred.track(write);
  }

  /** Waits for the writes of putMetaLater and later() (their failures are dropped: they only cost a cache entry). */
  async settle(): Promise<void> {
    await this.deferred.flush().catch(() => undefined);
  }

  /** Store a stream; verifies expectedSha256 when given. The blob appears only once complete and verified. */
  async putStream(
    stream: Readable | AsyncIterable<Uint8Array>,
    expectedSha256?: string,
    what = 'blob',
  ): Promise<{ sha256: string; size: number }> {
    const tmp = await this.tempFile(path.join(this.root, 'tmp'));
    const hash = createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        stream,
        async function* (src: AsyncIterable<Uint8Array>) {
          for await (const chunk of src) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(tmp, { mode: 0o644 }),
      );
      const sum = hash.digest('hex');
      if (expectedSha256 && sum !== expectedSha256) throw new HashMismatchError(what, expectedSha256, sum);
      const dest = this.blobPath(sum);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.rename(tmp, dest);
      this.verified.add(sum);
      return { sha256: sum, size };
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      // the download's own failures (network, hash) stay as they are; the file system's name the cache
      throw (e as NodeJS.ErrnoException).syscall ? cacheWriteError(e, tmp) : e;
    }
  }

  /** Read a blob and verify it (a corrupted cache entry is removed and reported as missing). */
  async readVerified(sha256: string): Promise<Buffer | undefined> {
    let data: Buffer;
    try {
      data = await fs.readFile(this.blobPath(sha256));
    } catch {
      return undefined;
    }
    if (!this.verified.has(sha256) && sha256Hex(data) !== sha256) {
      await fs.rm(this.blobPath(sha256), { force: true });
      return undefined;
    }
    this.verified.add(sha256);
    return data;
  }

  /**
   * Keep a copy of the file `src` (whose bytes hash to `sha256`, as its
   * writer computed) as a blob: copied to a temporary file, then renamed
   * into place. The source stays the caller's.
   */
  async putFileCopy(src: string, sha256: string): Promise<void> {
    const dest = this.blobPath(sha256);
    const tmp = await this.tempFile(path.dirname(dest));
    try {
      await fs.copyFile(src, tmp);
      await fs.rename(tmp, dest);
      this.verified.add(sha256);
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw cacheWriteError(e, dest);
    }
  }

  /**
   * Copy the blob `sha256` to `dest`, hashing it on the way: true when it
   * was there and intact. A damaged blob is removed (and `dest` with it), so
   * the caller makes the content again.
   */
  async copyVerifiedTo(sha256: string, dest: string): Promise<boolean> {
    const h = createHash('sha256');
    try {
      await pipeline(
        createReadStream(this.blobPath(sha256)),
        async function* (src: AsyncIterable<Uint8Array>) {
          for await (const chunk of src) {
            h.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(dest),
      );
    } catch (e) {
      await fs.rm(dest, { force: true });
      if (isMissing(e)) return false;
      throw e;
    }
    if (h.digest('hex') === sha256) {
      this.verified.add(sha256);
      return true;
    }
    await fs.rm(dest, { force: true });
    await fs.rm(this.blobPath(sha256), { force: true });
    return false;
  }

  openRead(sha256: string): Readable {
    return createReadStream(this.blobPath(sha256));
  }

  private metaPath(kind: string, key: string): string {
    if (!/^[a-z0-9-]+$/.test(kind) || !/^[A-Za-z0-9._-]+$/.test(key)) throw new Error(`invalid meta key ${kind}/${key}`);
    return path.join(this.root, 'meta', kind, `${key}.json`);
  }

  /**
   * Side data; an entry that is absent, fails its checksum or does not parse
   * is missing. Read synchronously: entries are small files a cut reads by
   * the dozen, and each asynchronous read is four round trips through the
   * thread pool, which queue behind the writes of a root.
   */
  async getMeta<T>(kind: string, key: string): Promise<T | undefined> {
    try {
      return unsealJson<T>(fss.readFileSync(this.metaPath(kind, key), 'utf8'));
    } catch {
      return undefined;
    }
  }

  async putMeta(kind: string, key: string, value: unknown): Promise<void> {
    const dest = this.metaPath(kind, key);
    const tmp = await this.tempFile(path.dirname(dest));
    try {
      await fs.writeFile(tmp, sealJson(value));
      await fs.rename(tmp, dest);
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw cacheWriteError(e, dest);
    }
  }
}

const SEAL = '\n#sha256:';

/** JSON with its sha256 on a last line: a damaged or hand-edited cache entry is then detected, not trusted. */
export function sealJson(value: unknown): string {
  const json = JSON.stringify(value);
  return `${json}${SEAL}${sha256Hex(json)}\n`;
}

/** The value of sealJson's text; undefined when the checksum is absent or wrong, or the JSON does not parse. */
export function unsealJson<T>(text: string): T | undefined {
  const at = text.lastIndexOf(SEAL);
  if (at < 0 || !text.endsWith('\n')) return undefined;
  const json = text.slice(0, at);
  if (sha256Hex(json) !== text.slice(at + SEAL.length, -1)) return undefined;
  try {
    return JSON.parse(json) as T;
  } catch {
    return undefined;
  }
}

/**
 * Reads contents for a writer of many files: `blobFile` names a whole blob
 * (copy it with copy_file_range), `read` returns the bytes (a packed file's
 * range, read through a descriptor kept open for its pack). Synchronous: a
 * root is hundreds of small reads, and each asynchronous one costs more in
 * round trips than the read itself.
 */
export class ContentReader {
  private readonly packs = new Map<string, number>();
  constructor(
    private readonly store: ContentStore,
    private readonly packed: ReadonlyMap<string, PackedAt>,
  ) {}

  /** The blob file holding exactly this content, or undefined when it is packed. */
  blobFile(sha256: string): string | undefined {
    return this.packed.has(sha256) ? undefined : this.store.blobPath(sha256);
  }

  read(sha256: string): Buffer {
    const at = this.packed.get(sha256);
    if (!at) return fss.readFileSync(this.store.blobPath(sha256));
    let fd = this.packs.get(at.pack);
    if (fd === undefined) {
      fd = fss.openSync(this.store.blobPath(at.pack), 'r');
      this.packs.set(at.pack, fd);
    }
    return readRange(fd, at);
  }

  close(): void {
    for (const fd of this.packs.values()) fss.closeSync(fd);
    this.packs.clear();
  }
}

function readRange(fd: number, at: PackedAt): Buffer {
  const buf = Buffer.allocUnsafe(at.size);
  let got = 0;
  while (got < at.size) {
    const n = fss.readSync(fd, buf, got, at.size - got, at.offset + got);
    if (n === 0) throw new Error(`pack ${at.pack}: shorter than ${at.offset + at.size} bytes`);
    got += n;
  }
  return buf;
}
