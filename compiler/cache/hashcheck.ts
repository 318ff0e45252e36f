// Re-hashing stored content: each item is a whole blob file or a range of a
// pack blob; the damaged or missing ones are returned (ContentStore's
// checkContents). A root's writer hashes what it copies instead
// (output/entries.ts).

import { createHash } from 'node:crypto';
import fss from 'node:fs';

/** One content to check: `file` holds it whole, or `size` bytes of it at `offset`. */
export interface CheckItem {
  sum: string;
  file: string;
  offset?: number;
  size?: number;
}

const CHUNK = 1 << 20;

/** The sums of `items` whose bytes are missing or do not hash to them, in order. */
export function damagedContents(items: CheckItem[]): string[] {
  const bad: string[] = [];
  const buf = Buffer.allocUnsafe(CHUNK);
  const open = new Map<string, number>();
  try {
    for (const it of items) {
      let ok: boolean;
      try {
        if (it.offset !== undefined) {
          let fd = open.get(it.file);
          if (fd === undefined) {
            fd = fss.openSync(it.file, 'r');
            open.set(it.file, fd);
          }
          ok = hashRange(fd, it.offset, it.size ?? 0, buf) === it.sum;
        } else {
          const fd = fss.openSync(it.file, 'r');
          try {
            ok = hashRange(fd, 0, fss.fstatSync(fd).size, buf) === it.sum;
          } finally {
            fss.closeSync(fd);
          }
        }
      } catch (e) {
        if (!isMissing(e)) throw e;
        ok = false;
      }
      if (!ok) bad.push(it.sum);
    }
  } finally {
    for (const fd of open.values()) fss.closeSync(fd);
  }
  return bad;
}

export function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** sha256 of `size` bytes at `offset` of `fd` (read in chunks into `buf`); undefined when the file is shorter. */
export function hashRange(fd: number, offset: number, size: number, buf: Buffer): string | undefined {
  const h = createHash('sha256');
  let got = 0;
  while (got < size) {
    const n = fss.readSync(fd, buf, 0, Math.min(buf.length, size - got), offset + got);
    if (n === 0) return undefined;
    h.update(n === buf.length ? buf : buf.subarray(0, n));
    got += n;
  }
  return h.digest('hex');
}
