// Who is using the cache: a cut holds a use lock (locks/use-<pid>-<random>)
// for as long as it runs; `cache prune` holds the prune lock (locks/prune)
// and removes nothing until no cut holds a use lock. A cut that finds the
// prune lock drops its own lock and waits for the prune to end, so neither
// waits for the other forever, and a cut never sees a half-pruned entry.
// A lock whose process is gone (SIGKILL) is ignored and removed.

import { randomBytes } from 'node:crypto';
import fss, { promises as fs } from 'node:fs';
import path from 'node:path';
import { mkdirs } from './store.js';
import { processAlive } from '../util/pid.js';
import { markWriter, sweepDeadWriters } from './writers.js';

const POLL_MS = 50;

/** livePid, synchronously (a cut's use lock is taken while its downloads start: no round trips through the busy thread pool). */
function livePidSync(file: string): number | undefined {
  let text = '';
  try {
    text = fss.readFileSync(file, 'utf8');
  } catch {
    // no such lock
  }
  const pid = Number(text.trim());
  if (Number.isSafeInteger(pid) && pid > 0 && (pid === process.pid || processAlive(pid))) return pid;
  fss.rmSync(file, { force: true });
  return undefined;
}

/** The pid written in a lock file, when its process still runs; a stale lock is removed. */
async function livePid(file: string): Promise<number | undefined> {
  const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
  if (Number.isSafeInteger(pid) && pid > 0 && (pid === process.pid || processAlive(pid))) return pid;
  await fs.rm(file, { force: true });
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CacheLock {
  release(): Promise<void>;
}

/** Take a use lock on the cache at `root` (waiting while a prune runs). */
export async function lockForUse(root: string, onWait?: (pid: number) => void): Promise<CacheLock> {
  const dir = path.join(root, 'locks');
  await mkdirs(dir);
  const mine = path.join(dir, `use-${process.pid}-${randomBytes(4).toString('hex')}`);
  let told = false;
  for (;;) {
    fss.writeFileSync(mine, `${process.pid}\n`);
    const pruner = livePidSync(path.join(dir, 'prune'));
    if (pruner === undefined) break;
    fss.rmSync(mine, { force: true });
    if (!told) onWait?.(pruner);
    told = true;
    await sleep(POLL_MS);
  }
  // this process writes to the cache (its main thread removes the marker at exit); temporaries of
  // cuts that were killed are removed (no prune runs now: a prune waits for this lock)
  markWriter(root);
  await sweepDeadWriters(root);
  return { release: () => fs.rm(mine, { force: true }) };
}

/** Take the prune lock (one prune at a time), then wait until no cut uses the cache. */
export async function lockForPrune(root: string, opts: { timeoutMs?: number; onWait?: (pids: number[]) => void } = {}): Promise<CacheLock> {
  const dir = path.join(root, 'locks');
  await mkdirs(dir);
  const file = path.join(dir, 'prune');
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if ((await livePid(file)) !== undefined) {
        if (Date.now() > deadline) throw new Error(`another prune of ${root} is running`);
        await sleep(POLL_MS);
      }
    }
  }
  const release = () => fs.rm(file, { force: true });
  let told = false;
  for (;;) {
    const users: number[] = [];
    for (const n of await fs.readdir(dir)) {
      if (!n.startsWith('use-')) continue;
      const pid = await livePid(path.join(dir, n));
      if (pid !== undefined && pid !== process.pid) users.push(pid);
    }
    if (users.length === 0) return { release };
    if (Date.now() > deadline) {
      await release();
      throw new Error(`the cache is in use by process${users.length > 1 ? 'es' : ''} ${users.join(', ')}`);
    }
    if (!told) opts.onWait?.(users);
    told = true;
    await sleep(POLL_MS);
  }
}
