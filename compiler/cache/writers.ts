// Temporary files a killed process left in the cache. Every cache temporary
// is named .tmp-<pid>-<random> (in tmp/, blobs/sha256/ or meta/<kind>/).
// Before its first one, a process (any of its threads) writes the marker
// locks/writer-<pid>, and its main thread removes it when the process exits
// (after the index worker's writes); a marker whose
// process is gone (SIGKILL, a crash, a lost power) means that process may
// have left temporaries, so the next cut removes that pid's, then the marker.
// A normal run pays one small file and one readdir of locks/.

import fss, { promises as fs } from 'node:fs';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { processAlive } from '../util/pid.js';

const PREFIX = 'writer-';
const marked = new Set<string>();
/** The markers written, removed by one exit listener (a process using many caches, a test run, adds one listener, not one per cache). */
const markers = new Set<string>();

/** Write this process's writer marker for the cache at `root` (once; a marker that cannot be written is skipped: the write that follows reports the cause). */
export function markWriter(root: string): void {
  if (marked.has(root)) return;
  marked.add(root);
  const file = path.join(root, 'locks', `${PREFIX}${process.pid}`);
  try {
    fss.mkdirSync(path.dirname(file), { recursive: true });
    fss.writeFileSync(file, `${process.pid}\n`);
  } catch {
    return;
  }
  if (!isMainThread) return;
  if (markers.size === 0)
    process.once('exit', () => {
      for (const f of markers) fss.rmSync(f, { force: true });
    });
  markers.add(file);
}

/** The directories of the cache that hold temporaries (meta/: also those a cut writes before its use lock, the parse cache). */
async function tempDirs(root: string, meta: boolean): Promise<string[]> {
  const kinds = meta ? await fs.readdir(path.join(root, 'meta')).catch(() => [] as string[]) : [];
  return [path.join(root, 'tmp'), path.join(root, 'blobs', 'sha256'), ...kinds.map((k) => path.join(root, 'meta', k))];
}

/**
 * Remove temporaries of the cache: those of `pids` anywhere; or (under the
 * prune lock, which no cut holding its use lock runs beside) every one of
 * tmp/ and blobs/.
 */
export async function removeTemps(root: string, pids?: Set<number>): Promise<void> {
  for (const dir of await tempDirs(root, pids !== undefined)) {
    for (const n of await fs.readdir(dir).catch(() => [] as string[])) {
      if (!n.startsWith('.tmp-')) continue;
      if (pids && !pids.has(Number(/^\.tmp-(\d+)-/.exec(n)?.[1]))) continue;
      await fs.rm(path.join(dir, n), { force: true, recursive: true });
    }
  }
}

/** Remove the temporaries of writers that no longer run, then their markers (and the use locks they left, see lock.ts). */
export async function sweepDeadWriters(root: string): Promise<void> {
  const dir = path.join(root, 'locks');
  const dead = new Map<string, number>();
  const leftLocks: string[] = [];
  for (const n of await fs.readdir(dir).catch(() => [] as string[])) {
    const m = /^(?:writer-(\d+)|use-(\d+)-.*)$/.exec(n);
    const pid = Number(m?.[1] ?? m?.[2]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    if (m?.[1]) dead.set(n, pid);
    else leftLocks.push(n);
  }
  for (const n of leftLocks) await fs.rm(path.join(dir, n), { force: true });
  if (dead.size === 0) return;
  await removeTemps(root, new Set(dead.values()));
  for (const n of dead.keys()) await fs.rm(path.join(dir, n), { force: true });
}
