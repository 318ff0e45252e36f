// Speed of reading a .deb: every entry of data.tar plus the sha256 of every
// file body, against the floor of the system decompressor alone
// (`xz -dc data.tar.xz > /dev/null`, fed from the same .deb).
//
//   node dist/bench/deb.js some.deb [library|subprocess] [xzThreads]

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readArMembers } from '../compiler/deb/ar.js';
import { findExecutable, parseMemberName, type DecompressBackend } from '../compiler/deb/decompress.js';
import { readDebData } from '../compiler/deb/index.js';

export interface DebBenchResult {
  deb: string;
  member: string;
  entries: number;
  files: number;
  /** Sum of file body bytes hashed. */
  bytes: number;
  readMs: number;
  /** Decompressor alone to /dev/null; null when the tool is missing. */
  floorMs: number | null;
  floorTool: string | null;
  /** Peak RSS seen by this process during the read (MB). */
  rssMB: number;
  backend: DecompressBackend;
}

const FLOOR_TOOLS: Record<string, [string, string[]]> = {
  gz: ['gzip', ['-dc']],
  xz: ['xz', ['-dc']],
  zst: ['zstd', ['-dc', '-q']],
  lzma: ['xz', ['-dc', '--format=lzma']],
  bz2: ['bzip2', ['-dc']],
};

async function floor(debPath: string): Promise<{ member: string; ms: number | null; tool: string | null }> {
  for await (const m of readArMembers(createReadStream(debPath, { highWaterMark: 1 << 20 }))) {
    const parsed = parseMemberName(m.name);
    if (parsed?.base !== 'data.tar') continue;
    const spec = FLOOR_TOOLS[parsed.compression];
    const exe = spec ? findExecutable(spec[0]) : null;
    if (!spec || !exe) return { member: m.name, ms: null, tool: null };
    const t0 = performance.now();
    const child = spawn(exe, spec[1], { stdio: ['pipe', 'ignore', 'inherit'] });
    child.stdin.on('error', () => {});
    m.body.pipe(child.stdin);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`${spec[0]} failed with status ${code}`);
    return { member: m.name, ms: performance.now() - t0, tool: `${spec[0]} ${spec[1].join(' ')}` };
  }
  throw new Error(`${debPath}: no data.tar member`);
}

export async function benchDebRead(debPath: string, opts: { backend?: DecompressBackend; xzThreads?: number } = {}): Promise<DebBenchResult> {
  const fl = await floor(debPath);
  let rss = process.memoryUsage().rss;
  const t0 = performance.now();
  let entries = 0;
  let files = 0;
  let bytes = 0;
  for await (const { body } of readDebData(debPath, { backend: opts.backend ?? 'auto', ...(opts.xzThreads !== undefined ? { xzThreads: opts.xzThreads } : {}) })) {
    entries++;
    if (!body) continue;
    files++;
    const h = createHash('sha256');
    for await (const c of body as AsyncIterable<Buffer>) {
      h.update(c);
      bytes += c.length;
    }
    h.digest('hex');
    if (files % 64 === 0) rss = Math.max(rss, process.memoryUsage().rss);
  }
  const readMs = performance.now() - t0;
  rss = Math.max(rss, process.memoryUsage().rss);
  return {
    deb: path.basename(debPath),
    member: fl.member,
    entries,
    files,
    bytes,
    readMs: Math.round(readMs),
    floorMs: fl.ms === null ? null : Math.round(fl.ms),
    floorTool: fl.tool,
    rssMB: Math.round(rss / 1e6),
    backend: opts.backend ?? 'auto',
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [deb, backend, threads] = process.argv.slice(2);
  if (!deb) {
    console.error('usage: node dist/bench/deb.js DEB [auto|library|subprocess] [xzThreads]');
    process.exit(2);
  }
  const r = await benchDebRead(deb, { backend: (backend as DecompressBackend | undefined) ?? 'auto', ...(threads ? { xzThreads: Number(threads) } : {}) });
  console.log(JSON.stringify(r));
}
