// Extraction against the decompression floor, on the .debs of the cuts.
// Cold: every .deb decompressed and its files put into a new content store
// (what a cold cut does). Warm: the same packages through the store again
// (listing read, content checked present; nothing decompressed). Floor: the
// system decompressor alone (`xz -dc`, `zstd -dc`, ...) of the same data.tar
// members to /dev/null. All sequential, one package at a time.

import { spawn } from 'node:child_process';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { ContentStore } from '../compiler/cache/store.js';
import { findExecutable, parseMemberName, readArMembers } from '../compiler/deb/index.js';
import { unpackDeb } from '../compiler/slicer/unpack.js';
import { discard } from './trash.js';

export interface ExtractBench {
  packages: number;
  debMB: number;
  floorMs: number | null;
  floorTools: string[];
  coldMs: number;
  warmMs: number;
}

const FLOOR_TOOLS: Record<string, [string, string[]]> = {
  gz: ['gzip', ['-dc']],
  xz: ['xz', ['-dc']],
  zst: ['zstd', ['-dc', '-q']],
  lzma: ['xz', ['-dc', '--format=lzma']],
  bz2: ['bzip2', ['-dc']],
};

/** Time of the system decompressor alone on the data.tar member of a .deb (null when the tool is missing). */
export async function decompressFloor(debPath: string): Promise<{ ms: number | null; tool: string }> {
  for await (const m of readArMembers(createReadStream(debPath, { highWaterMark: 1 << 20 }))) {
    const parsed = parseMemberName(m.name);
    if (parsed?.base !== 'data.tar') continue;
    if (parsed.compression === 'none') {
      m.body.resume();
      return { ms: 0, tool: 'none' };
    }
    const spec = FLOOR_TOOLS[parsed.compression];
    const exe = spec ? findExecutable(spec[0]) : null;
    if (!spec || !exe) {
      m.body.resume();
      return { ms: null, tool: parsed.compression };
    }
    const t0 = performance.now();
    const child = spawn(exe, spec[1], { stdio: ['pipe', 'ignore', 'inherit'] });
    child.stdin.on('error', () => {});
    m.body.pipe(child.stdin);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`${spec[0]} failed with status ${code}`);
    return { ms: performance.now() - t0, tool: `${spec[0]} ${spec[1].join(' ')}` };
  }
  throw new Error(`${debPath}: no data.tar member`);
}

/** `debs`: sha256 -> path of the verified .deb (from a cut's cache). */
export async function benchExtract(debs: Map<string, string>, work: string): Promise<ExtractBench> {
  const root = path.join(work, 'extract-store');
  await discard(root, work);
  const store = new ContentStore(root);
  let bytes = 0;
  for (const [sha, p] of debs) {
    const dest = store.blobPath(sha);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.copyFile(p, dest);
    bytes += (await fs.stat(p)).size;
  }
  let floorMs: number | null = 0;
  const tools = new Set<string>();
  for (const p of debs.values()) {
    const f = await decompressFloor(p);
    tools.add(f.tool);
    floorMs = f.ms === null || floorMs === null ? null : floorMs + f.ms;
  }
  let t0 = performance.now();
  for (const sha of debs.keys()) await unpackDeb(store, sha, sha.slice(0, 12), { force: true });
  const coldMs = performance.now() - t0;
  t0 = performance.now();
  for (const sha of debs.keys()) {
    const listing = await unpackDeb(store, sha, sha.slice(0, 12));
    const missing = await store.checkContents(listing.entries.flatMap((e) => (e.sha256 ? [e.sha256] : [])));
    if (missing.length) throw new Error(`warm extraction: ${missing.length} files missing from the store or damaged`);
  }
  const warmMs = performance.now() - t0;
  await discard(root, work);
  return { packages: debs.size, debMB: bytes / 1e6, floorMs, floorTools: [...tools].sort(), coldMs, warmMs };
}
