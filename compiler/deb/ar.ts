// Streaming reader of the Unix `ar` format, as used by .deb packages:
// "!<arch>\n", then members, each a 60-byte header followed by the body,
// padded to an even offset with "\n". Nothing is buffered beyond the
// chunk at hand: a member body is handed out as a Readable that pulls
// from the source on demand, so a 100 MB data.tar.xz is never held in
// memory.

import { Readable } from 'node:stream';
import { ChiselError } from '../util/errors.js';

export const AR_MAGIC = '!<arch>\n';
const HEADER_SIZE = 60;
const MAX_CHUNK = 1 << 20;

export interface ArMember {
  /** Member name without the GNU trailing "/" and padding ("data.tar.xz"). */
  name: string;
  /** Body size in bytes. */
  size: number;
  /** The body. Read it or leave it: the iterator skips what is left when
   *  asked for the next member (the body is then destroyed). */
  body: Readable;
}

/** Pulls bytes from an async iterable of chunks, keeping at most one chunk. */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private head: Buffer | null = null;
  private eof = false;
  /** Bytes handed out or skipped so far. */
  offset = 0;

  constructor(src: AsyncIterable<Uint8Array>) {
    this.it = src[Symbol.asyncIterator]();
  }

  /** Up to `max` bytes (at least 1), or null at the end of the input. */
  async chunk(max: number): Promise<Buffer | null> {
    while (this.head === null || this.head.length === 0) {
      if (this.eof) return null;
      const r = await this.it.next();
      if (r.done) {
        this.eof = true;
        return null;
      }
      const v = r.value;
      this.head = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
    let out: Buffer;
    if (this.head.length <= max) {
      out = this.head;
      this.head = null;
    } else {
      out = this.head.subarray(0, max);
      this.head = this.head.subarray(max);
    }
    this.offset += out.length;
    return out;
  }

  /** Exactly n bytes, or fewer if the input ends first. */
  async exact(n: number): Promise<Buffer> {
    const first = await this.chunk(n);
    if (first === null) return Buffer.alloc(0);
    if (first.length === n) return first;
    const parts = [first];
    let got = first.length;
    while (got < n) {
      const c = await this.chunk(n - got);
      if (c === null) break;
      parts.push(c);
      got += c.length;
    }
    return Buffer.concat(parts, got);
  }

  /** Skips n bytes; returns how many were skipped (fewer at the end of input). */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const c = await this.chunk(Math.min(left, Number.MAX_SAFE_INTEGER));
      if (c === null) break;
      left -= c.length;
    }
    return n - left;
  }

  async close(): Promise<void> {
    this.eof = true;
    this.head = null;
    try {
      await this.it.return?.();
    } catch {
      // the source's own error was already reported, or nobody is listening
    }
  }
}

/** The body of one member: pulls from the shared reader only when read. */
class MemberBody extends Readable {
  remaining: number;
  private pulling: Promise<void> | null = null;
  private detached = false;

  constructor(
    private readonly reader: ByteReader,
    size: number,
    private readonly onTruncated: () => Error,
  ) {
    super({ highWaterMark: MAX_CHUNK });
    this.remaining = size;
  }

  override _read(): void {
    if (this.pulling) return;
    this.pulling = this.pull().finally(() => {
      this.pulling = null;
    });
  }

  private async pull(): Promise<void> {
    try {
      while (!this.detached) {
        if (this.remaining === 0) {
          this.push(null);
          return;
        }
        const c = await this.reader.chunk(Math.min(this.remaining, MAX_CHUNK));
        if (this.detached) {
          // handed out after detach: account for it, the iterator skips the rest
          if (c) this.remaining -= c.length;
          return;
        }
        if (c === null) {
          this.destroy(this.onTruncated());
          return;
        }
        this.remaining -= c.length;
        if (!this.push(c)) return;
      }
    } catch (e) {
      this.destroy(e as Error);
    }
  }

  /** Stops pulling; resolves once no read of the source is in flight. */
  async detach(): Promise<void> {
    this.detached = true;
    if (this.pulling) await this.pulling;
    if (!this.destroyed && !this.readableEnded) this.destroy();
  }
}

function parseDecimal(field: Buffer): number | null {
  const s = field.toString('latin1').trim();
  if (!/^\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Iterates the members of an ar archive. `label` names the package in errors.
 * The source is consumed (and destroyed) by the iteration; when the consumer
 * stops early, the source is closed.
 */
export async function* readArMembers(src: AsyncIterable<Uint8Array>, opts: { label?: string } = {}): AsyncGenerator<ArMember> {
  const label = opts.label ?? 'package';
  const reader = new ByteReader(src);
  const corrupt = (what: string) => new ChiselError(`${label}: corrupt ar archive: ${what}`, { code: 'deb-corrupt' });
  let body: MemberBody | null = null;
  try {
    const magic = await reader.exact(AR_MAGIC.length);
    if (magic.toString('latin1') !== AR_MAGIC) {
      throw new ChiselError(`${label}: not a Debian package (no ar archive signature)`, { code: 'deb-format' });
    }
    for (;;) {
      const header = await reader.exact(HEADER_SIZE);
      if (header.length === 0) return;
      // A lone "\n" is tolerated as final padding.
      if (header.length < HEADER_SIZE) {
        if (header.toString('latin1').trim() === '') return;
        throw corrupt(`truncated member header at offset ${reader.offset - header.length}`);
      }
      if (header[58] !== 0x60 || header[59] !== 0x0a) throw corrupt(`bad member header at offset ${reader.offset - HEADER_SIZE}`);
      let size = parseDecimal(header.subarray(48, 58));
      if (size === null) throw corrupt(`bad member size at offset ${reader.offset - HEADER_SIZE}`);
      let name = header.subarray(0, 16).toString('latin1').trimEnd();
      const bsd = /^#1\/(\d+)$/.exec(name);
      if (bsd) {
        // BSD long name: the name is the start of the body.
        const n = Number(bsd[1]);
        if (n > size || n > 4096) throw corrupt(`bad long member name`);
        const raw = await reader.exact(n);
        if (raw.length < n) throw corrupt('truncated member name');
        name = raw.toString('latin1').replace(/\0+$/, '');
        size -= n;
      } else if (name.endsWith('/') && name !== '/' && name !== '//') {
        name = name.slice(0, -1);
      }
      const padded = (bsd ? size + Number(bsd[1]) : size) % 2 === 1;
      const memberName = name;
      body = new MemberBody(reader, size, () => corrupt(`member ${memberName} truncated`));
      yield { name, size, body };
      await body.detach();
      const left = body.remaining;
      body = null;
      if (left > 0 && (await reader.skip(left)) < left) throw corrupt(`member ${memberName} truncated`);
      if (padded) await reader.skip(1);
    }
  } finally {
    if (body) await body.detach();
    await reader.close();
  }
}
