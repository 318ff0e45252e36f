// Reading YAML files as text, with bounds: only regular files (a FIFO named
// x.yaml does not block), at most MAX_YAML_BYTES, valid UTF-8. Kept apart from
// file.ts so that the loader does not load the yaml library when every
// file comes from the parse cache.

import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { ChiselError } from '../util/errors.js';

/** Largest YAML file read (the largest file of chisel-releases is 39 KB). */
export const MAX_YAML_BYTES = 4 * 1024 * 1024;
/** Deepest nesting of maps and sequences (slice files nest 6 levels). */
export const MAX_YAML_DEPTH = 64;
/** Most errors reported for one file. */
export const MAX_ERRORS_PER_FILE = 20;

const MB = (n: number) => `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB`;

/**
 * Reads a YAML file as UTF-8 text: only a regular file, at most
 * MAX_YAML_BYTES, valid UTF-8 (a UTF-8 BOM is allowed). Throws a ChiselError
 * naming the file (and the line:col of the first bad byte) otherwise.
 */
export async function readYamlText(file: string, hint?: string): Promise<string> {
  return readYamlTextSync(file, hint);
}

/**
 * readYamlText, synchronously: a release is hundreds of small files, and
 * four blocking system calls each cost less than a trip through the thread pool.
 */
export function readYamlTextSync(file: string, hint?: string): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    throw new ChiselError(`cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      code: 'yaml',
      location: { file },
      ...(hint ? { hint } : {}),
    });
  }
  let buf: Buffer;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory()
        ? 'a directory'
        : st.isFIFO()
          ? 'a FIFO'
          : st.isSocket()
            ? 'a socket'
            : st.isCharacterDevice() || st.isBlockDevice()
              ? 'a device'
              : 'not a regular file';
      throw new ChiselError(`is ${kind}, not a regular file; YAML files must be regular files (or symlinks to one)`, {
        code: 'yaml',
        location: { file },
      });
    }
    const tooBig = () =>
      new ChiselError(`file is larger than ${MB(MAX_YAML_BYTES)} (the limit for a YAML file); check that this is the file you meant`, {
        code: 'yaml-too-large',
        location: { file },
      });
    if (st.size > MAX_YAML_BYTES) throw tooBig();
    // The size may lie (files in /proc, a file growing): read at most the limit + 1.
    const parts: Buffer[] = [];
    let total = 0;
    // First read sized by the stat (+1 to see the end); later ones for files that grew or lied.
    let want = Math.min(st.size + 1, MAX_YAML_BYTES + 1);
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(want, MAX_YAML_BYTES + 1 - total)));
      want = 64 * 1024;
      const bytesRead = readSync(fd, chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      parts.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_YAML_BYTES) throw tooBig();
    }
    buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  } catch (e) {
    if (e instanceof ChiselError) throw e;
    throw new ChiselError(`cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      code: 'yaml',
      location: { file },
    });
  } finally {
    closeSync(fd);
  }
  return decodeUtf8(file, buf);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of a YAML file's bytes; a ChiselError at the first byte that is not UTF-8. */
export function decodeUtf8(file: string, buf: Buffer): string {
  try {
    return utf8.decode(buf);
  } catch {
    if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) {
      throw new ChiselError('file is UTF-16 encoded (it starts with a UTF-16 byte order mark); save it as UTF-8', {
        code: 'yaml-encoding',
        location: { file, line: 1, col: 1 },
      });
    }
    const off = firstInvalidUtf8(buf);
    const lineStart = buf.lastIndexOf(0x0a, off - 1) + 1;
    let line = 1;
    for (let i = buf.indexOf(0x0a); i !== -1 && i < off; i = buf.indexOf(0x0a, i + 1)) line++;
    const col = [...buf.subarray(lineStart, off).toString('utf8')].length + 1;
    throw new ChiselError(
      `file is not valid UTF-8: byte 0x${buf[off]!.toString(16).padStart(2, '0')} at offset ${off}; save the file as UTF-8`,
      {
        code: 'yaml-encoding',
        location: { file, line, col },
      },
    );
  }
}

/** Offset of the first byte that starts an invalid UTF-8 sequence (buf.length when valid). */
export function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) (n = 1), (min = 0x80);
    else if (b >= 0xe0 && b <= 0xef) (n = 2), (min = 0x800);
    else if (b >= 0xf0 && b <= 0xf4) (n = 3), (min = 0x10000);
    else return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return buf.length;
}

/** The first MAX_ERRORS_PER_FILE errors, and one saying how many more there were. */
export function capErrors(errors: ChiselError[], max = MAX_ERRORS_PER_FILE): ChiselError[] {
  if (errors.length <= max) return errors;
  const rest = errors.length - max;
  const last = errors[max]!;
  return [
    ...errors.slice(0, max),
    new ChiselError(`${rest} more error${rest === 1 ? '' : 's'} in this file not shown; fix the ones above first`, {
      code: last.code,
      ...(last.location ? { location: last.location } : {}),
    }),
  ];
}
