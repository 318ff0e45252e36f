// Speed of reading a .deb: every entry of data.tar plus the sha256 of every
// file body, against the floor of the system decompressor alone
// (`xz -dc data.tar.xz > /dev/null`, fed from the same .deb).
//
//   node dist/bench/deb.js some.deb [library|subprocess] [xzThreads]

import { createHash } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DecompressBackend } from '../compiler/deb/decompress.js';
import { readDebData } from '../compiler/deb/index.js';
import { decompressFloor } from './extract.js';

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

export async function benchDebRead(
  debPath: string,
  opts: { backend?: DecompressBackend; xzThreads?: number } = {},
): Promise<DebBenchResult> {
  const fl = await decompressFloor(debPath);
  let rss = process.memoryUsage().rss;
  const t0 = performance.now();
  let entries = 0;
  let files = 0;
  let bytes = 0;
  for await (const { body } of readDebData(debPath, {
    backend: opts.backend ?? 'auto',
    ...(opts.xzThreads !== undefined ? { xzThreads: opts.xzThreads } : {}),
  })) {
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
    member: 'data.tar',
    entries,
    files,
    bytes,
    readMs: Math.round(readMs),
    floorMs: fl.ms === null ? null : Math.round(fl.ms),
    floorTool: fl.ms === null ? null : fl.tool,
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
  const r = await benchDebRead(deb, {
    backend: (backend as DecompressBackend | undefined) ?? 'auto',
    ...(threads ? { xzThreads: Number(threads) } : {}),
  });
  console.log(JSON.stringify(r));
}
