// Packages indexes: decoding, a fast parser that keeps only the fields the
// compiler needs, and the columnar form cached in the store's meta.
//
// Measured (trixie main amd64, 13.3 MB .gz -> 56.6 MB, 2-core machine; see
// bench/archive.ts): numbers in the report of the archive work and in
// PARSE_NOTES below.

import zlib from 'node:zlib';
import { promisify } from 'node:util';
import lzma from '@napi-rs/lzma';
import { ChiselError, ExitCode } from '../util/errors.js';

const gunzip = promisify(zlib.gunzip);

export type IndexCompression = 'gz' | 'xz' | 'none';

/** One Packages index, column-wise (cheap to JSON.stringify/parse). */
export interface PackageTable {
  v: 1;
  name: string[];
  version: string[];
  arch: string[];
  filename: string[];
  size: number[];
  sha256: string[];
  /** Empty string when the field is absent. */
  source: string[];
  depends: string[];
  preDepends: string[];
  multiArch: string[];
}

export interface IndexRecord {
  name: string;
  version: string;
  arch: string;
  filename: string;
  size: number;
  sha256: string;
  source: string;
  depends: string;
  preDepends: string;
  multiArch: string;
}

export function emptyTable(): PackageTable {
  return { v: 1, name: [], version: [], arch: [], filename: [], size: [], sha256: [], source: [], depends: [], preDepends: [], multiArch: [] };
}

export function tableRecord(t: PackageTable, i: number): IndexRecord {
  return {
    name: t.name[i]!,
    version: t.version[i]!,
    arch: t.arch[i]!,
    filename: t.filename[i]!,
    size: t.size[i]!,
    sha256: t.sha256[i]!,
    source: t.source[i]!,
    depends: t.depends[i]!,
    preDepends: t.preDepends[i]!,
    multiArch: t.multiArch[i]!,
  };
}

export async function decodeIndex(data: Uint8Array, comp: IndexCompression, what: string): Promise<Buffer> {
  try {
    if (comp === 'gz') return await gunzip(data);
    if (comp === 'xz') return await lzma.xz.decompress(data);
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  } catch (e) {
    throw new ChiselError(`${what}: cannot decompress (${comp}): ${(e as Error).message}`, { code: 'index-corrupt', exitCode: ExitCode.ARCHIVE, cause: e });
  }
}

// Field line prefixes, matched with startsWith at line starts only.
const F_PACKAGE = 'Package:';
const F_VERSION = 'Version:';
const F_ARCH = 'Architecture:';
const F_FILENAME = 'Filename:';
const F_SIZE = 'Size:';
const F_SHA256 = 'SHA256:';
const F_SOURCE = 'Source:';
const F_DEPENDS = 'Depends:';
const F_PREDEPENDS = 'Pre-Depends:';
const F_MULTIARCH = 'Multi-Arch:';

function value(s: string, start: number, end: number): string {
  // Skip the blank after the colon, drop a trailing '\r' / blanks.
  while (start < end && (s.charCodeAt(start) === 32 || s.charCodeAt(start) === 9)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 32 || s.charCodeAt(end - 1) === 13 || s.charCodeAt(end - 1) === 9)) end--;
  return s.slice(start, end);
}

/**
 * Parse a (decompressed) Packages file. Scans line starts only; the bulk of
 * the text (Description bodies, continuation lines) is skipped by indexOf.
 * Decoded as latin1: the kept fields are ASCII, and latin1 decoding is the
 * cheapest. Stanzas without Package/Version/Filename/SHA256 are errors.
 */
export function parsePackages(data: Buffer | string, what = 'Packages'): PackageTable {
  const s = typeof data === 'string' ? data : data.toString('latin1');
  const t = emptyTable();
  const n = s.length;
  let pos = 0;
  let name = '';
  let version = '';
  let arch = '';
  let filename = '';
  let size = -1;
  let sha = '';
  let source = '';
  let depends = '';
  let preDepends = '';
  let multiArch = '';
  let inStanza = false;
  let stanzaLine = 0;
  let line = 0;
  const flush = (): void => {
    if (!inStanza) return;
    if (!name || !version || !filename || !sha || size < 0) {
      const missing = [!name && 'Package', !version && 'Version', !filename && 'Filename', !sha && 'SHA256', size < 0 && 'Size'].filter(Boolean).join(', ');
      throw new ChiselError(`${what}: line ${stanzaLine}: stanza${name ? ` of ${name}` : ''} lacks ${missing}`, { code: 'index-corrupt', exitCode: ExitCode.ARCHIVE });
    }
    t.name.push(name);
    t.version.push(version);
    t.arch.push(arch);
    t.filename.push(filename);
    t.size.push(size);
    t.sha256.push(sha);
    t.source.push(source);
    t.depends.push(depends);
    t.preDepends.push(preDepends);
    t.multiArch.push(multiArch);
    name = version = arch = filename = sha = source = depends = preDepends = multiArch = '';
    size = -1;
    inStanza = false;
  };
  while (pos < n) {
    let eol = s.indexOf('\n', pos);
    if (eol < 0) eol = n;
    line++;
    const c = s.charCodeAt(pos);
    if (eol === pos || (c === 13 && eol === pos + 1)) {
      flush();
    } else if (c !== 32 && c !== 9) {
      if (!inStanza) {
        inStanza = true;
        stanzaLine = line;
      }
      switch (c) {
        case 80: // P
          if (s.startsWith(F_PACKAGE, pos)) name = value(s, pos + F_PACKAGE.length, eol);
          else if (s.startsWith(F_PREDEPENDS, pos)) preDepends = value(s, pos + F_PREDEPENDS.length, eol);
          break;
        case 86: // V
          if (s.startsWith(F_VERSION, pos)) version = value(s, pos + F_VERSION.length, eol);
          break;
        case 65: // A
          if (s.startsWith(F_ARCH, pos)) arch = value(s, pos + F_ARCH.length, eol);
          break;
        case 70: // F
          if (s.startsWith(F_FILENAME, pos)) filename = value(s, pos + F_FILENAME.length, eol);
          break;
        case 83: // S
          if (s.startsWith(F_SIZE, pos)) {
            const v = value(s, pos + F_SIZE.length, eol);
            size = /^[0-9]+$/.test(v) ? Number(v) : -1;
          } else if (s.startsWith(F_SHA256, pos)) sha = value(s, pos + F_SHA256.length, eol).toLowerCase();
          else if (s.startsWith(F_SOURCE, pos)) source = value(s, pos + F_SOURCE.length, eol);
          break;
        case 68: // D
          if (s.startsWith(F_DEPENDS, pos)) depends = value(s, pos + F_DEPENDS.length, eol);
          break;
        case 77: // M
          if (s.startsWith(F_MULTIARCH, pos)) multiArch = value(s, pos + F_MULTIARCH.length, eol);
          break;
        default:
          break;
      }
    }
    pos = eol + 1;
  }
  flush();
  return t;
}

/** name -> row numbers, built on load (cheap next to JSON.parse). */
export function indexByName(t: PackageTable): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const names = t.name;
  for (let i = 0; i < names.length; i++) {
    const k = names[i]!;
    const rows = m.get(k);
    if (rows) rows.push(i);
    else m.set(k, [i]);
  }
  return m;
}

export function isPackageTable(x: unknown): x is PackageTable {
  if (!x || typeof x !== 'object') return false;
  const t = x as Partial<PackageTable>;
  if (t.v !== 1 || !Array.isArray(t.name)) return false;
  const n = t.name.length;
  return [t.version, t.arch, t.filename, t.size, t.sha256, t.source, t.depends, t.preDepends, t.multiArch].every((c) => Array.isArray(c) && c.length === n);
}
