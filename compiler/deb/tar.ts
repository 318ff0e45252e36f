// Iterating the entries of a (decompressed) tar stream with tar-stream,
// turning each header into a checked DebEntry. Names are never trusted: a
// ".." component or a NUL byte is an error, whatever the entry type.

import type { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { ChiselError } from '../util/errors.js';

export type DebEntryType = 'dir' | 'file' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface DebEntry {
  /** Absolute clean path: "./usr/bin/" -> "/usr/bin"; the root "./" -> "/". */
  path: string;
  type: DebEntryType;
  /** Permission bits including setuid/setgid/sticky (0o7777 mask). */
  mode: number;
  uid: number;
  gid: number;
  /** Size of a regular file; 0 for every other type. */
  size: number;
  /** symlink: the target, verbatim. hardlink: absolute clean path of the
   *  target, always an earlier regular file of the same archive (links to
   *  links are resolved to that file). */
  link?: string;
  /** char/block devices only. */
  devmajor?: number;
  devminor?: number;
}

export interface TarReadOptions {
  /** Names the package in errors ("libc6_2.36-9_amd64"). */
  label?: string;
  /** Largest regular file accepted (default 8 GiB). */
  maxEntryBytes?: number;
  /** Largest decompressed tar stream accepted (default 32 GiB). Callers that
   *  know the package's Installed-Size should pass a bound derived from it. */
  maxTotalBytes?: number;
  /** Names that are not valid UTF-8: 'error' (default) refuses the package;
   *  'latin1' keeps them with each byte decoded as one code point U+0000..U+00FF
   *  (lossless, but such a path differs from its bytes when written as UTF-8). */
  nonUtf8Names?: 'error' | 'latin1';
  /** Aborting stops the read: the iteration rejects with a ChiselError, the
   *  file is closed and a decompressor child process is killed. */
  signal?: AbortSignal;
}

export const DEFAULT_MAX_ENTRY_BYTES = 8 * 1024 ** 3;
export const DEFAULT_MAX_TOTAL_BYTES = 32 * 1024 ** 3;

/**
 * Normalizes a tar member name to an absolute clean path: "/x", "./x", "x"
 * and "x/" all give "/x"; ".", "./" and "/" give "/". Empty and "."
 * components are dropped. Throws a ChiselError for any ".." component or a
 * NUL byte (label names the package in the message).
 */
export function cleanTarPath(name: string, label?: string): string {
  const where = label ? `${label}: ` : '';
  if (name.includes('\0')) {
    throw new ChiselError(`${where}unsafe path in package: ${JSON.stringify(name)} contains a NUL byte`, { code: 'deb-unsafe-path' });
  }
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      throw new ChiselError(`${where}unsafe path in package: ${JSON.stringify(name)} has a ".." component`, {
        code: 'deb-unsafe-path',
        location: { subject: name },
      });
    }
    parts.push(c);
  }
  return `/${parts.join('/')}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const ASCII = /^[\x00-\x7f]*$/;

/** tar-stream decodes ustar/GNU names as latin1 (one char per byte); re-decode as UTF-8. */
function decodeName(raw: string, fromPax: boolean, opts: TarReadOptions, label: string): string {
  if (fromPax) {
    // PAX records are UTF-8 and tar-stream already decoded them; invalid
    // bytes became U+FFFD and cannot be recovered.
    if (raw.includes('\ufffd') && (opts.nonUtf8Names ?? 'error') === 'error') {
      throw new ChiselError(`${label}: file name ${JSON.stringify(raw)} is not valid UTF-8`, { code: 'deb-bad-name' });
    }
    return raw;
  }
  if (ASCII.test(raw)) return raw;
  try {
    return utf8.decode(Buffer.from(raw, 'latin1'));
  } catch {
    if ((opts.nonUtf8Names ?? 'error') === 'latin1') return raw;
    throw new ChiselError(`${label}: file name ${JSON.stringify(raw)} (shown as latin1) is not valid UTF-8`, {
      code: 'deb-bad-name',
      hint: 'pass nonUtf8Names: "latin1" to accept it',
    });
  }
}

// tar-stream's own types describe streamx streams loosely; what we use of them:
interface TarHeader {
  name: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  type?: string | null;
  linkname?: string | null;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string> | null;
}
interface TarSource extends EventEmitter {
  header: TarHeader;
  pause(): void;
  resume(): void;
}
interface TarExtract extends EventEmitter, AsyncIterable<TarSource> {
  write(chunk: Buffer): boolean;
  end(): void;
  destroy(err?: Error | null): void;
  readonly destroyed: boolean;
}
const newExtract = tarStream.extract as unknown as (opts: { filenameEncoding: BufferEncoding }) => TarExtract;

/** Resolves on 'drain' or 'close', removing both listeners afterwards. */
function drainOrClose(em: EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      em.off('drain', done);
      em.off('close', done);
      resolve();
    };
    em.on('drain', done);
    em.on('close', done);
  });
}

const TYPES: Record<string, DebEntryType> = {
  file: 'file',
  'contiguous-file': 'file',
  link: 'hardlink',
  symlink: 'symlink',
  directory: 'dir',
  'character-device': 'char',
  'block-device': 'block',
  fifo: 'fifo',
};

/** A tar entry (streamx) exposed as a plain node Readable. */
class EntryBody extends Readable {
  ended = false;
  constructor(
    private readonly src: TarSource,
    mapError: (e: unknown) => Error,
  ) {
    super({ highWaterMark: 1 << 20 });
    src.on('data', (c: Buffer) => {
      if (!this.push(c)) src.pause();
    });
    src.on('end', () => {
      this.ended = true;
      this.push(null);
    });
    src.on('error', (e: unknown) => this.destroy(mapError(e)));
  }
  override _read(): void {
    this.src.resume();
  }
  /** Discards what the consumer left unread. */
  skipRest(): void {
    if (this.ended) return;
    this.src.removeAllListeners('data');
    this.src.on('data', () => {});
    this.src.resume();
    if (!this.destroyed) this.destroy();
  }
}

/**
 * Iterates a tar stream. `what` is the member name for errors ("data.tar.xz").
 * Each regular file comes with a body, which the consumer reads or leaves:
 * whatever is left unread is discarded (without buffering) when the next
 * entry is requested. A body must not be read after that.
 */
export async function* readTarEntries(
  tar: Readable,
  what: string,
  opts: TarReadOptions = {},
): AsyncGenerator<{ entry: DebEntry; body?: Readable }> {
  const label = opts.label ?? 'package';
  const maxEntry = opts.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  const maxTotal = opts.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
  const wrap = (e: unknown): Error => {
    if (e instanceof ChiselError) return e;
    return new ChiselError(`${label}: corrupt ${what}: ${e instanceof Error ? e.message : String(e)}`, { code: 'deb-corrupt', cause: e });
  };

  const extract = newExtract({ filenameEncoding: 'latin1' });
  let pumpError: Error | null = null;
  // Feed the extractor; respects its backpressure and counts expanded bytes.
  const pump = (async () => {
    let total = 0;
    try {
      for await (const chunk of tar as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxTotal) {
          throw new ChiselError(`${label}: ${what} expands to more than ${maxTotal} bytes (maxTotalBytes); refusing it`, {
            code: 'deb-too-large',
          });
        }
        if (extract.destroyed) return;
        if (!extract.write(chunk)) {
          await drainOrClose(extract);
          if (extract.destroyed) return;
        }
      }
      extract.end();
    } catch (e) {
      // An abort (or the consumer stopping) may have come first: keep that.
      pumpError ??= wrap(e);
      if (!extract.destroyed) extract.destroy(pumpError);
    }
  })();

  const onAbort = () => {
    pumpError ??= new ChiselError(`${label}: reading ${what} aborted`, { code: 'aborted', cause: opts.signal?.reason });
    extract.destroy(pumpError);
    if (!tar.destroyed) tar.destroy();
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const files = new Map<string, string>(); // regular file path -> primary path of its hard link group
  let body: EntryBody | null = null;
  try {
    for await (const src of extract) {
      const h = src.header;
      const fromPaxName = h.pax?.path !== undefined;
      const name = decodeName(h.name, fromPaxName, opts, label);
      let type = TYPES[h.type ?? ''];
      if (type === undefined) {
        throw new ChiselError(`${label}: ${what}: unsupported tar entry type ${JSON.stringify(h.type)} for ${JSON.stringify(name)}`, {
          code: 'deb-corrupt',
        });
      }
      // Pre-POSIX archives mark directories with a trailing slash only.
      if (type === 'file' && name.endsWith('/') && (h.size ?? 0) === 0) type = 'dir';
      const p = cleanTarPath(name, label);
      const size = type === 'file' ? (h.size ?? 0) : 0;
      if (size > maxEntry) {
        throw new ChiselError(`${label}: ${p} in ${what} is ${size} bytes, more than ${maxEntry} (maxEntryBytes); refusing it`, {
          code: 'deb-too-large',
        });
      }
      const entry: DebEntry = { path: p, type, mode: (h.mode ?? 0) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, size };
      if (type === 'symlink' || type === 'hardlink') {
        const rawLink = h.linkname ?? '';
        const link = decodeName(rawLink, h.pax?.linkpath !== undefined, opts, label);
        if (link === '') throw new ChiselError(`${label}: ${what}: ${p} has an empty link target`, { code: 'deb-corrupt' });
        if (type === 'symlink') {
          if (link.includes('\0')) throw new ChiselError(`${label}: unsafe symlink target for ${p}`, { code: 'deb-unsafe-path' });
          entry.link = link;
        } else {
          const target = cleanTarPath(link, label);
          const primary = files.get(target);
          if (primary === undefined) {
            throw new ChiselError(`${label}: hard link ${p} points to ${target}, which is not an earlier regular file in ${what}`, {
              code: 'deb-corrupt',
            });
          }
          entry.link = primary;
          files.set(p, primary);
        }
      } else if (type === 'file') {
        files.set(p, p);
      } else if (type === 'char' || type === 'block') {
        entry.devmajor = h.devmajor ?? 0;
        entry.devminor = h.devminor ?? 0;
      }
      if (type === 'file') {
        body = new EntryBody(src, wrap);
        yield { entry, body };
        body.skipRest();
        body = null;
      } else {
        src.resume();
        yield { entry };
      }
    }
    if (pumpError) throw pumpError;
  } catch (e) {
    throw pumpError ?? wrap(e);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (body) body.skipRest();
    if (!extract.destroyed) extract.destroy();
    if (!tar.destroyed) tar.destroy();
    await pump;
  }
}
