// Builds real .deb files in code, for tests. The result is accepted by
// dpkg-deb: an ar archive with debian-binary "2.0\n", control.tar.gz
// (./control and ./md5sums) and data.tar.<comp> with "./"-prefixed names and
// implicit parent directories. Deterministic: fixed mtimes, fixed order.
// Needs the xz and zstd programs (xz-utils, zstd) for those compressions.

import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tarStream from 'tar-stream';
import { cleanTarPath, readDebData, type DebEntry } from '../../compiler/deb/index.js';
import type { DecompressBackend } from '../../compiler/deb/decompress.js';

export type DebFileType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface DebFile {
  /** "/usr/bin/x" or "usr/bin/x"; with rawNames, written exactly as given. */
  path: string;
  type?: DebFileType;
  mode?: number;
  content?: string | Buffer;
  /** symlink target verbatim; hardlink target path (normalized like path unless rawNames). */
  link?: string;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
}

export type DebCompression = 'gz' | 'xz' | 'zst' | 'none';

export interface BuildDebOptions {
  package: string;
  version: string;
  arch: string;
  control?: Record<string, string>;
  files: DebFile[];
  compression: DebCompression;
  /** Write names verbatim (no "./" prefix, no implicit parents): for hostile inputs. */
  rawNames?: boolean;
}

export const MTIME = new Date('2024-01-01T00:00:00Z');

export interface TarEntrySpec {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  mode: number;
  uid?: number;
  gid?: number;
  content?: Buffer;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const TAR_TYPES: Record<DebFileType, TarEntrySpec['type']> = {
  file: 'file',
  dir: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
  char: 'character-device',
  block: 'block-device',
  fifo: 'fifo',
};

/** A tar archive (tar-stream: ustar, PAX headers for long names). */
export async function buildTar(entries: TarEntrySpec[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) {
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    const header = {
      name: e.name,
      type: e.type,
      mode: e.mode,
      uid,
      gid,
      uname: uid === 0 ? 'root' : '',
      gname: gid === 0 ? 'root' : '',
      mtime: MTIME,
      size: e.type === 'file' ? (e.content?.length ?? 0) : 0,
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
      ...(e.devmajor !== undefined ? { devmajor: e.devmajor } : {}),
      ...(e.devminor !== undefined ? { devminor: e.devminor } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      if (e.type === 'file') pack.entry(header, e.content ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
      else (pack.entry(header, (err) => (err ? reject(err) : resolve())) as unknown as { end(): void }).end();
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

function runFilter(cmd: string, args: string[], input: Buffer): Buffer {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

/** gzip via node:zlib; xz and zstd via the system programs (as dpkg-deb
 *  writes them: xz with a CRC64 check, zstd with a content checksum). */
export async function compress(data: Buffer, comp: DebCompression): Promise<Buffer> {
  switch (comp) {
    case 'none':
      return data;
    case 'gz':
      return zlib.gzipSync(data, { level: 9 });
    case 'xz':
      return runFilter('xz', ['-c', '-6', '--check=crc64', '-T1'], data);
    case 'zst':
      return runFilter('zstd', ['-c', '-q', '-3', '--check'], data);
  }
}

/** An ar archive with dpkg-deb's member header layout. */
export function buildAr(members: Array<{ name: string; data: Buffer }>): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  for (const m of members) {
    const h =
      m.name.padEnd(16) +
      String(Math.floor(MTIME.getTime() / 1000)).padEnd(12) +
      '0'.padEnd(6) +
      '0'.padEnd(6) +
      '100644'.padEnd(8) +
      String(m.data.length).padEnd(10) +
      '`\n';
    parts.push(Buffer.from(h, 'latin1'), m.data);
    if (m.data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

function relName(p: string): string {
  return p.replace(/^\/+/, '').replace(/^\.\//, '').replace(/\/+$/, '');
}

/** The data.tar entries of a package (names "./x", parents added). */
export function dataEntries(files: DebFile[], rawNames = false): TarEntrySpec[] {
  const out: TarEntrySpec[] = [];
  const dirs = new Set<string>();
  const addDir = (rel: string, mode = 0o755, uid = 0, gid = 0) => {
    if (dirs.has(rel)) return;
    dirs.add(rel);
    out.push({ name: rel === '' ? './' : `./${rel}/`, type: 'directory', mode, uid, gid });
  };
  if (!rawNames) addDir('');
  for (const f of files) {
    const type = f.type ?? 'file';
    const spec: TarEntrySpec = {
      name: f.path,
      type: TAR_TYPES[type],
      mode: f.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: f.uid ?? 0,
      gid: f.gid ?? 0,
    };
    if (type === 'file') spec.content = typeof f.content === 'string' ? Buffer.from(f.content) : (f.content ?? Buffer.alloc(0));
    if (f.link !== undefined) spec.linkname = type === 'hardlink' && !rawNames ? `./${relName(f.link)}` : f.link;
    if (f.devmajor !== undefined) spec.devmajor = f.devmajor;
    if (f.devminor !== undefined) spec.devminor = f.devminor;
    if (rawNames) {
      out.push(spec);
      continue;
    }
    const rel = relName(f.path);
    const comps = rel.split('/');
    for (let i = 1; i < comps.length; i++) addDir(comps.slice(0, i).join('/'));
    if (type === 'dir') {
      if (dirs.has(rel)) {
        const existing = out.find((e) => e.name === `./${rel}/`)!;
        existing.mode = spec.mode;
        existing.uid = spec.uid ?? 0;
        existing.gid = spec.gid ?? 0;
      } else addDir(rel, spec.mode, spec.uid, spec.gid);
      continue;
    }
    spec.name = `./${rel}`;
    out.push(spec);
  }
  return out;
}

export function controlText(opts: Pick<BuildDebOptions, 'package' | 'version' | 'arch' | 'control'>): string {
  const fields: Record<string, string> = {
    Package: opts.package,
    Version: opts.version,
    Architecture: opts.arch,
    Maintainer: 'chisel-ts tests <tests@example.invalid>',
    ...(opts.control ?? {}),
  };
  fields.Description ??= `test package ${opts.package}\n generated by test/support/debbuild.ts`;
  return `${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n')}\n`;
}

export async function buildControlTar(control: string, data: TarEntrySpec[], comp: DebCompression = 'gz'): Promise<Buffer> {
  const md5 = data
    .filter((e) => e.type === 'file')
    .map(
      (e) =>
        `${createHash('md5')
          .update(e.content ?? Buffer.alloc(0))
          .digest('hex')}  ${e.name.replace(/^\.?\/+/, '')}\n`,
    )
    .join('');
  const tar = await buildTar([
    { name: './', type: 'directory', mode: 0o755 },
    { name: './control', type: 'file', mode: 0o644, content: Buffer.from(control) },
    { name: './md5sums', type: 'file', mode: 0o644, content: Buffer.from(md5) },
  ]);
  return compress(tar, comp);
}

export async function buildDeb(opts: BuildDebOptions): Promise<Buffer> {
  const entries = dataEntries(opts.files, opts.rawNames ?? false);
  const data = await compress(await buildTar(entries), opts.compression);
  const control = await buildControlTar(controlText(opts), entries);
  const suffix = opts.compression === 'none' ? '' : `.${opts.compression}`;
  return buildAr([
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    { name: 'control.tar.gz', data: control },
    { name: `data.tar${suffix}`, data },
  ]);
}

/** True when the program runs (for tests that need dpkg-deb, xz, zstd). */
export function haveTool(name: string): boolean {
  return spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
}

// Reading back, for comparisons with the real tools.

export interface ListedEntry {
  path: string;
  type: DebEntry['type'];
  mode: number;
  uid: number;
  gid: number;
  size: number;
  link?: string;
}

const TYPE_CHARS: Record<string, DebEntry['type']> = {
  '-': 'file',
  d: 'dir',
  l: 'symlink',
  h: 'hardlink',
  c: 'char',
  b: 'block',
  p: 'fifo',
};

function parseModeString(s: string): number {
  let mode = 0;
  const bits = [0o400, 0o200, 0o100, 0o40, 0o20, 0o10, 0o4, 0o2, 0o1];
  for (let i = 0; i < 9; i++) {
    const c = s[i + 1]!;
    if (c !== '-' && c !== 'S' && c !== 'T') mode |= bits[i]!;
  }
  if (/[sS]/.test(s[3]!)) mode |= 0o4000;
  if (/[sS]/.test(s[6]!)) mode |= 0o2000;
  if (/[tT]/.test(s[9]!)) mode |= 0o1000;
  return mode;
}

/** The data.tar listing as the real tools see it: dpkg-deb --fsys-tarfile | tar -tv. */
export function listWithDpkg(deb: string): ListedEntry[] {
  const out = execFileSync(
    'bash',
    ['-o', 'pipefail', '-c', 'dpkg-deb --fsys-tarfile "$1" | tar -tvf - --numeric-owner --quoting-style=literal', 'x', deb],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    },
  );
  const entries: ListedEntry[] = [];
  for (const line of out.split('\n')) {
    if (!line) continue;
    const m = /^(\S{10})\s+(\d+)\/(\d+)\s+(\S+)\s+\d{4}-\d\d-\d\d \d\d:\d\d (.*)$/.exec(line);
    if (!m) throw new Error(`unparsed tar -tv line: ${line}`);
    const type = TYPE_CHARS[m[1]![0]!]!;
    let name = m[5]!;
    let link: string | undefined;
    if (type === 'symlink') [name, link] = name.split(' -> ') as [string, string];
    if (type === 'hardlink') {
      const [n, l] = name.split(' link to ') as [string, string];
      name = n;
      link = cleanTarPath(l);
    }
    const e: ListedEntry = {
      path: cleanTarPath(name),
      type,
      mode: parseModeString(m[1]!),
      uid: Number(m[2]),
      gid: Number(m[3]),
      size: type === 'file' ? Number(m[4]) : 0,
    };
    if (link !== undefined) e.link = link;
    entries.push(e);
  }
  return entries;
}

export async function readAll(deb: string | Buffer, opts: { backend?: DecompressBackend; label?: string } = {}) {
  const src = typeof deb === 'string' ? deb : Readable.from([deb]);
  const entries: ListedEntry[] = [];
  const sums = new Map<string, string>();
  const chunks = new Map<string, number>();
  for await (const { entry, body } of readDebData(src, { backend: opts.backend ?? 'auto', label: opts.label ?? 'test' })) {
    const e: ListedEntry = { path: entry.path, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: entry.size };
    if (entry.link !== undefined) e.link = entry.link;
    entries.push(e);
    if (body) {
      const h = createHash('sha256');

      let n = 0;
      let count = 0;
      for await (const c of body as AsyncIterable<Buffer>) {
        h.update(c);
        n += c.length;
        count++;
      }
      if (n !== entry.size) throw new Error(`${entry.path}: body has ${n} bytes, header says ${entry.size}`);
      sums.set(entry.path, h.digest('hex'));
      chunks.set(entry.path, count);
    }
  }
  return { entries, sums, chunks };
}
