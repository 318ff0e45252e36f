// Benchmarks of the archive client's index handling: decode (.gz/.xz), parse,
// cached-form save and load. Usage: node dist/bench/archive.js [/tmp/Packages.gz ...]

import { promises as fs } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { cleartextBody, parseReleaseFields } from '../compiler/archive/inrelease.js';
import { decodeIndex, indexByName, parsePackages, type IndexCompression } from '../compiler/archive/packages.js';

export interface IndexBench {
  path: string;
  compressedBytes: number;
  bytes: number;
  packages: number;
  decodeMs: number;
  decodeMBps: number;
  parseMs: number;
  parseMBps: number;
  /** Size of the cached JSON form and the time to JSON.parse it and index it by name. */
  cachedBytes: number;
  cacheSaveMs: number;
  cacheLoadMs: number;
}

function compressionOf(p: string): IndexCompression {
  return p.endsWith('.gz') ? 'gz' : p.endsWith('.xz') ? 'xz' : 'none';
}

function best<T>(runs: number, f: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  return (async () => {
    let ms = Infinity;
    let value!: T;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      value = await f();
      ms = Math.min(ms, performance.now() - t0);
    }
    return { ms, value };
  })();
}

/** Decode and parse MB/s (MB of decompressed text, 1e6 bytes; best of `runs`). */
export async function benchIndexParse(path: string, runs = 3, name = path): Promise<IndexBench> {
  const raw = await fs.readFile(path);
  const comp = compressionOf(name);
  const dec = await best(runs, () => decodeIndex(raw, comp, path));
  const text = dec.value;
  const parsed = await best(runs, () => parsePackages(text, path));
  const save = await best(runs, () => JSON.stringify(parsed.value));
  const json = save.value;
  const load = await best(runs, () => {
    const t = JSON.parse(json) as ReturnType<typeof parsePackages>;
    indexByName(t);
    return t;
  });
  const mb = text.length / 1e6;
  return {
    path,
    compressedBytes: raw.length,
    bytes: text.length,
    packages: parsed.value.name.length,
    decodeMs: dec.ms,
    decodeMBps: mb / (dec.ms / 1000),
    parseMs: parsed.ms,
    parseMBps: mb / (parsed.ms / 1000),
    cachedBytes: Buffer.byteLength(json),
    cacheSaveMs: save.ms,
    cacheLoadMs: load.ms,
  };
}

/**
 * The path of a Packages index held in a chisel-ts cache (the one a cut
 * used), found through the cached InRelease of `archive`/`suite`, with the
 * file name it has in the archive (for its compression).
 */
export async function cachedIndex(
  cache: string,
  archive: string,
  suite: string,
  file: string,
): Promise<{ path: string; name: string } | undefined> {
  const ref = JSON.parse(
    await fs.readFile(path.join(cache, 'meta', 'inrelease-ref', `${archive}_${suite}.json`), 'utf8').catch(() => '{}'),
  ) as { sha256?: string };
  if (!ref.sha256) return undefined;
  const text = await fs.readFile(path.join(cache, 'blobs', 'sha256', ref.sha256), 'utf8');
  const files = parseReleaseFields(cleartextBody(text)).files;
  for (const name of [`${file}.gz`, `${file}.xz`, file]) {
    const e = files.get(name);
    if (!e) continue;
    const p = path.join(cache, 'blobs', 'sha256', e.sha256);
    if (
      await fs.access(p).then(
        () => true,
        () => false,
      )
    )
      return { path: p, name };
  }
  return undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const paths = process.argv.slice(2);
  for (const p of paths.length ? paths : ['/tmp/Packages.gz', '/tmp/Packages.xz']) {
    const r = await benchIndexParse(p);
    console.log(
      `${p}: ${r.packages} packages, ${(r.bytes / 1e6).toFixed(1)} MB; decode ${r.decodeMs.toFixed(0)} ms (${r.decodeMBps.toFixed(0)} MB/s); ` +
        `parse ${r.parseMs.toFixed(0)} ms (${r.parseMBps.toFixed(0)} MB/s); cached form ${(r.cachedBytes / 1e6).toFixed(1)} MB, save ${r.cacheSaveMs.toFixed(0)} ms, load+index ${r.cacheLoadMs.toFixed(0)} ms`,
    );
  }
}
