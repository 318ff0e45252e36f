// The content cache as entries a user can see, check and bound (`chisel-ts
// cache info | verify | prune`). An entry is a package (its .deb listing,
// the .deb, and the blobs and packs the listing names), an index (a parsed
// Packages table or an InRelease reference, with the blob it names), other
// a compressed layer of the layer cache (meta/layer/<diff_id>-<compression>-
// <level>, with the blob it names), other side data, or a loose blob nothing
// names. An entry's last use is its meta file's mtime (a cut touches its
// packages' listings and the cached layers it takes) or, for a loose blob,
// the blob's. Pruning removes whole entries, least recently used
// first, the meta file before its blobs, under the prune lock (no cut runs
// meanwhile); a blob another kept entry names stays.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { lockForPrune } from '../cache/lock.js';
import { removeTemps, sweepDeadWriters } from '../cache/writers.js';
import { sha256Hex, unsealJson } from '../cache/store.js';

export type EntryKind = 'package' | 'index' | 'layer' | 'meta' | 'blob';

export interface CacheEntry {
  kind: EntryKind;
  /** The meta file (relative to the cache), or blobs/sha256/<hex> for a loose blob. */
  file: string;
  /** Blob sha256s it names (a package: the .deb, its contents and packs; a layer: its compressed blob). */
  blobs: string[];
  /** Last use, ms since the epoch. */
  used: number;
  size: number;
}

export interface CacheScan {
  root: string;
  entries: CacheEntry[];
  /** Blob -> size in bytes. */
  blobSizes: Map<string, number>;
  /** Meta files that fail their checksum or do not parse. */
  badMeta: string[];
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The entries of the cache at `root` (an absent cache has none). */
export async function scanCache(root: string): Promise<CacheScan> {
  const blobDir = path.join(root, 'blobs', 'sha256');
  const blobSizes = new Map<string, number>();
  const blobTimes = new Map<string, number>();
  for (const n of await fs.readdir(blobDir).catch(() => [] as string[])) {
    if (!HEX64.test(n)) continue;
    const st = await fs.stat(path.join(blobDir, n)).catch(() => undefined);
    if (!st) continue;
    blobSizes.set(n, st.size);
    blobTimes.set(n, st.mtimeMs);
  }
  const entries: CacheEntry[] = [];
  const badMeta: string[] = [];
  const named = new Set<string>();
  const metaDir = path.join(root, 'meta');
  for (const kind of await fs.readdir(metaDir).catch(() => [] as string[])) {
    for (const n of await fs.readdir(path.join(metaDir, kind)).catch(() => [] as string[])) {
      if (!n.endsWith('.json')) continue;
      const file = path.join('meta', kind, n);
      const full = path.join(root, file);
      const [text, st] = await Promise.all([fs.readFile(full, 'utf8').catch(() => undefined), fs.stat(full).catch(() => undefined)]);
      if (text === undefined || !st) continue;
      const value = unsealJson<Record<string, unknown>>(text);
      if (value === undefined) {
        badMeta.push(file);
        continue;
      }
      const key = n.slice(0, -'.json'.length);
      const blobs = blobsNamed(kind, key, value).filter((b) => blobSizes.has(b));
      for (const b of blobs) named.add(b);
      const size = st.size;
      entries.push({ kind: entryKind(kind), file, blobs, used: st.mtimeMs, size });
    }
  }
  for (const [b, size] of blobSizes) {
    if (!named.has(b)) entries.push({ kind: 'blob', file: path.join('blobs', 'sha256', b), blobs: [b], used: blobTimes.get(b)!, size });
  }
  // a package's size counts the blobs it names (shared ones in each)
  for (const e of entries) if (e.kind !== 'blob') e.size += e.blobs.reduce((n, b) => n + blobSizes.get(b)!, 0);
  return { root, entries, blobSizes, badMeta };
}

function entryKind(kind: string): EntryKind {
  if (kind === 'layer') return 'layer';
  return kind === 'deb-listing' ? 'package' : kind === 'packages-table' || kind === 'inrelease-ref' ? 'index' : 'meta';
}

/** The blobs a meta entry names. */
function blobsNamed(kind: string, key: string, v: Record<string, unknown>): string[] {
  if (kind === 'deb-listing') {
    const out = new Set<string>([key]);
    for (const p of (v.packs as string[] | undefined) ?? []) out.add(p);
    for (const e of (v.entries as Array<{ sha256?: string; pack?: number }> | undefined) ?? [])
      if (e.sha256 && e.pack === undefined) out.add(e.sha256);
    return [...out];
  }
  if (kind === 'packages-table') return [key];
  if ((kind === 'inrelease-ref' || kind === 'layer') && typeof v.sha256 === 'string') return [v.sha256];
  return [];
}

export interface CacheInfo {
  root: string;
  /** Bytes of blobs and side data. */
  size: number;
  blobs: number;
  packages: number;
  indexes: number;
  /** Compressed layers of the layer cache (one per diff_id, compression and level). */
  layers: number;
  /** ISO times of the least and most recent use, when the cache has entries. */
  oldestUse?: string;
  newestUse?: string;
}

export async function cacheInfo(root: string): Promise<CacheInfo> {
  const scan = await scanCache(root);
  const used = scan.entries.map((e) => e.used);
  return {
    root,
    size: totalSize(scan, scan.entries),
    blobs: scan.blobSizes.size,
    packages: scan.entries.filter((e) => e.kind === 'package').length,
    indexes: scan.entries.filter((e) => e.kind === 'index').length,
    layers: scan.entries.filter((e) => e.kind === 'layer').length,
    ...(used.length ? { oldestUse: new Date(Math.min(...used)).toISOString(), newestUse: new Date(Math.max(...used)).toISOString() } : {}),
  };
}

/** Bytes taken by `entries`: their meta files and every blob they name, once. */
function totalSize(scan: CacheScan, entries: CacheEntry[]): number {
  const blobs = new Set<string>();
  let n = 0;
  for (const e of entries) {
    if (e.kind !== 'blob') n += e.size - e.blobs.reduce((s, b) => s + scan.blobSizes.get(b)!, 0);
    for (const b of e.blobs) blobs.add(b);
  }
  for (const b of blobs) n += scan.blobSizes.get(b)!;
  return n;
}

export interface VerifyResult {
  checked: number;
  /** Blobs whose content does not hash to their name. */
  damaged: string[];
  /** Side data that fails its checksum or does not parse. */
  badMeta: string[];
  /** With repair: what was removed. */
  removed: string[];
}

/** Re-hash every blob and check every side-data entry; `repair` removes the bad ones (a cut then fetches them again). */
export async function verifyCache(root: string, opts: { repair?: boolean } = {}): Promise<VerifyResult> {
  const lock = opts.repair ? await lockForPrune(root) : undefined;
  try {
    const scan = await scanCache(root);
    const damaged: string[] = [];
    for (const b of scan.blobSizes.keys()) {
      const data = await fs.readFile(path.join(root, 'blobs', 'sha256', b)).catch(() => undefined);
      if (data && sha256Hex(data) !== b) damaged.push(b);
    }
    const removed: string[] = [];
    if (opts.repair) {
      for (const m of scan.badMeta) {
        await fs.rm(path.join(root, m), { force: true });
        removed.push(m);
      }
      for (const b of damaged) {
        const file = path.join('blobs', 'sha256', b);
        await fs.rm(path.join(root, file), { force: true });
        removed.push(file);
      }
    }
    return { checked: scan.blobSizes.size, damaged, badMeta: scan.badMeta, removed };
  } finally {
    await lock?.release();
  }
}

export interface PruneResult {
  removed: number;
  freed: number;
  size: number;
}

/**
 * Remove entries unused for `olderThanMs`, then least recently used ones
 * until the cache is at most `maxSize` bytes. Waits for running cuts; cuts
 * started meanwhile wait for the prune.
 */
export async function pruneCache(
  root: string,
  opts: { maxSize?: number; olderThanMs?: number; now?: number; onWait?: (pids: number[]) => void },
): Promise<PruneResult> {
  const lock = await lockForPrune(root, opts.onWait ? { onWait: opts.onWait } : {});
  try {
    const scan = await scanCache(root);
    const before = totalSize(scan, scan.entries);
    const now = opts.now ?? Date.now();
    const kept = [...scan.entries].sort((a, b) => a.used - b.used);
    const drop: CacheEntry[] = [];
    while (kept.length && opts.olderThanMs !== undefined && kept[0]!.used < now - opts.olderThanMs) drop.push(kept.shift()!);
    if (opts.maxSize !== undefined) {
      // sizes as entries leave: a blob is freed when no kept entry names it
      let size = totalSize(scan, kept);
      while (kept.length && size > opts.maxSize) {
        drop.push(kept.shift()!);
        size = totalSize(scan, kept);
      }
    }
    const stillNamed = new Set(kept.flatMap((e) => e.blobs));
    for (const e of drop) {
      // the meta file first: a cut that finds no listing unpacks the package again
      if (e.kind !== 'blob') await fs.rm(path.join(root, e.file), { force: true });
      for (const b of e.blobs) if (!stillNamed.has(b)) await fs.rm(path.join(root, 'blobs', 'sha256', b), { force: true });
    }
    await sweepDeadWriters(root);
    await removeTemps(root);
    const size = totalSize(scan, kept);
    return { removed: drop.length, freed: before - size, size };
  } finally {
    await lock.release();
  }
}

/** "500M", "2G", "1.5GiB", "1000000" -> bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (!m) return undefined;
  const mult = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}

/** "30d", "12h", "90m", "45s", "2w" -> milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}
