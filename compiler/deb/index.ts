// Reading Debian binary packages (.deb) as streams.
//
//   for await (const { entry, body } of readDebData('/path/x.deb', { label: 'x' })) {
//     if (body) await consume(body);   // or leave it: it is skipped
//   }
//
// A .deb is an ar archive: "debian-binary" ("2.x\n"), "control.tar[.gz|.xz|.zst]",
// "data.tar[.gz|.xz|.zst|.bz2|.lzma]" (members starting with "_" are ignored, as
// dpkg does). Nothing is held in memory beyond the chunk being processed.

import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { ChiselError } from '../util/errors.js';
import { readArMembers, type ArMember } from './ar.js';
import { decompressStream, parseMemberName, type DecompressBackend } from './decompress.js';
import { readTarEntries, type DebEntry, type TarReadOptions } from './tar.js';

export { cleanTarPath, readTarEntries, type DebEntry, type DebEntryType, type TarReadOptions } from './tar.js';
export { readArMembers, type ArMember } from './ar.js';
export { decompressStream, parseMemberName, findExecutable, type MemberCompression, type DecompressBackend } from './decompress.js';

export interface ReadDebOptions extends TarReadOptions {
  /** Decompression backend (see decompress.ts); default 'auto'. */
  backend?: DecompressBackend;
  /** Threads for the xz child process; default min(2, cores). */
  xzThreads?: number;
}

function openSource(src: Readable | string): Readable {
  return typeof src === 'string' ? createReadStream(src, { highWaterMark: 1 << 20 }) : src;
}

function defaultLabel(src: Readable | string): string {
  return typeof src === 'string' ? path.basename(src).replace(/\.deb$/, '') : 'package';
}

/**
 * Walks the members up to the wanted tar member ("data.tar" or "control.tar")
 * and yields it. Checks the package structure on the way.
 */
async function* findMember(
  src: Readable | string,
  base: 'data.tar' | 'control.tar',
  label: string,
): AsyncGenerator<ArMember & { compression: ReturnType<typeof parseMemberName> & object }> {
  let index = 0;
  for await (const m of readArMembers(openSource(src), { label })) {
    if (index++ === 0) {
      if (m.name !== 'debian-binary') {
        throw new ChiselError(`${label}: not a Debian binary package (first member is ${JSON.stringify(m.name)}, not debian-binary)`, {
          code: 'deb-format',
        });
      }
      const version = (await readSmall(m.body, 64, label, 'debian-binary')).trim();
      if (!/^2\.\d+$/.test(version)) {
        throw new ChiselError(`${label}: unsupported .deb format version ${JSON.stringify(version)}`, { code: 'deb-format' });
      }
      continue;
    }
    if (m.name.startsWith('_')) continue;
    const parsed = parseMemberName(m.name);
    if (!parsed) throw new ChiselError(`${label}: unexpected member ${JSON.stringify(m.name)} in .deb`, { code: 'deb-format' });
    if (parsed.base === base) {
      yield { ...m, body: m.body, compression: parsed };
      return;
    }
  }
  throw new ChiselError(`${label}: no ${base} member in .deb (truncated or not a binary package)`, { code: 'deb-format' });
}

async function readSmall(body: Readable, max: number, label: string, what: string): Promise<string> {
  return (await readBody(body, max, label, what)).toString('utf8');
}

/** A member's or an entry's whole body, refused beyond `max` bytes. */
export async function readBody(body: Readable, max: number, label: string, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) throw new ChiselError(`${label}: ${what} is larger than ${max} bytes`, { code: 'deb-too-large' });
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/**
 * Iterates the entries of the package's data.tar.
 *
 * Contract: each regular file comes with `body`. Read it fully, or not at all:
 * when the next entry is requested, whatever is left is discarded cheaply (no
 * buffering, no hashing; compressed data must still be decompressed) and the
 * body is destroyed. Do not keep bodies across iterations. Breaking out of the
 * loop closes the file and kills any decompressor child process.
 *
 * Errors are ChiselErrors naming the package: corrupt or truncated archives
 * ("<label>: corrupt data.tar.xz: ..."), unsafe names ("..", NUL), hard links
 * to unknown targets, entries or totals above the size limits.
 */
export async function* readDebData(
  src: Readable | string,
  opts: ReadDebOptions = {},
): AsyncGenerator<{ entry: DebEntry; body?: Readable }> {
  const label = opts.label ?? defaultLabel(src);
  for await (const m of findMember(src, 'data.tar', label)) {
    const tar = decompressStream(m.body, m.compression.compression, {
      label,
      what: m.name,
      backend: opts.backend ?? 'auto',
      sizeHint: m.size,
      ...(opts.xzThreads !== undefined ? { xzThreads: opts.xzThreads } : {}),
    });
    yield* readTarEntries(tar, m.name, { ...opts, label });
  }
}

export interface DebControl {
  /** The control file's text (one deb822 paragraph). */
  control: string;
  fields: Map<string, string>;
  md5sums?: string;
  conffiles?: string;
}

const CONTROL_FILES = new Set(['/control', '/md5sums', '/conffiles']);

/** Reads control, md5sums and conffiles from the package's control.tar. Stops reading the .deb right after it. */
export async function readDebControl(src: Readable | string, opts: ReadDebOptions = {}): Promise<DebControl> {
  const label = opts.label ?? defaultLabel(src);
  const maxFile = opts.maxEntryBytes ?? 64 * 1024 * 1024;
  const got = new Map<string, string>();
  for await (const m of findMember(src, 'control.tar', label)) {
    const tar = decompressStream(m.body, m.compression.compression, {
      label,
      what: m.name,
      backend: opts.backend ?? 'auto',
      sizeHint: m.size,
    });
    for await (const { entry, body } of readTarEntries(tar, m.name, {
      ...opts,
      label,
      maxEntryBytes: maxFile,
      maxTotalBytes: opts.maxTotalBytes ?? 1024 * 1024 * 1024,
    })) {
      if (body && CONTROL_FILES.has(entry.path)) got.set(entry.path, await readSmall(body, maxFile, label, entry.path));
    }
  }
  const control = got.get('/control');
  if (control === undefined) throw new ChiselError(`${label}: control.tar has no control file`, { code: 'deb-format' });
  const fields = parseControlParagraph(control, label);
  const out: DebControl = { control, fields };
  const md5sums = got.get('/md5sums');
  if (md5sums !== undefined) out.md5sums = md5sums;
  const conffiles = got.get('/conffiles');
  if (conffiles !== undefined) out.conffiles = conffiles;
  return out;
}

/**
 * Parses one deb822 paragraph (control files, Packages stanzas, Release files).
 * Leading blank lines are skipped and parsing stops at the first blank line
 * after a field. Lines starting with "#" are comments. Field names keep their
 * spelling (lookups are case-sensitive). A value is the text after "Name:"
 * with surrounding whitespace trimmed; continuation lines (starting with a
 * space or tab) are appended after "\n" verbatim except for trailing
 * whitespace — so "SHA256:\n abc 1 f" gives "\n abc 1 f", like python-debian.
 * Throws a ChiselError on a line that is neither, or on a repeated field.
 */
export function parseControlParagraph(text: string, label?: string): Map<string, string> {
  return parseParagraphAt(text.split('\n'), 0, label).fields;
}

/** Parses every paragraph of a deb822 text (a Packages file, say). */
export function parseControlParagraphs(text: string, label?: string): Array<Map<string, string>> {
  const lines = text.split('\n');
  const out: Array<Map<string, string>> = [];
  let i = 0;
  while (i < lines.length) {
    const r = parseParagraphAt(lines, i, label);
    if (r.fields.size > 0) out.push(r.fields);
    i = r.next;
  }
  return out;
}

function parseParagraphAt(lines: string[], start: number, label?: string): { fields: Map<string, string>; next: number } {
  const fields = new Map<string, string>();
  const err = (i: number, what: string) =>
    new ChiselError(`${label ? `${label}: ` : ''}invalid control data at line ${i + 1}: ${what}`, {
      code: 'deb-control',
      location: { line: i + 1 },
    });
  let key: string | null = null;
  let value: string[] = [];
  const flush = () => {
    if (key !== null) fields.set(key, value.join('\n'));
    key = null;
    value = [];
  };
  let i = start;
  for (; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') {
      if (key !== null || fields.size > 0) {
        i++;
        break;
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (key === null) throw err(i, 'continuation line without a field');
      value.push(line.trimEnd());
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw err(i, `expected "Field: value", got ${JSON.stringify(line.slice(0, 80))}`);
    flush();
    const name = line.slice(0, colon);
    if (!/^[!-9;-~]+$/.test(name) || name.startsWith('-')) throw err(i, `bad field name ${JSON.stringify(name)}`);
    if (fields.has(name)) throw err(i, `field ${name} repeated`);
    key = name;
    value = [line.slice(colon + 1).trim()];
  }
  flush();
  return { fields, next: i };
}
