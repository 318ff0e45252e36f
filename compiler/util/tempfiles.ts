// Temporary siblings of outputs (written, then renamed into place). Each is
// named .<name>.chisel-tmp-<pid>-<random>, registered while it exists and
// removed on SIGINT / SIGTERM / SIGHUP; one left by a killed process (SIGKILL)
// is removed by the next write of the same output, once its pid is gone.

import { randomBytes } from 'node:crypto';
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { processAlive } from './pid.js';

const live = new Set<string>();
const MARK = '.chisel-tmp-';
/** What writes into live temporaries on other threads, stopped before they are removed (see stopWritersOnSignal). */
const writers = new Set<() => void>();

/** A fresh temporary path next to `dest`, removed on a signal until released. */
export function tempSibling(dest: string): string {
  const p = path.join(path.dirname(dest), `.${path.basename(dest)}${MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
  live.add(p);
  return p;
}

/** Remove `p` (a scratch directory) on a signal, until released. */
export function trackTemp(p: string): string {
  live.add(p);
  return p;
}

/** The temporary path was renamed into place or removed. */
export function releaseTemp(p: string): void {
  live.delete(p);
}

/** Remove temporary siblings of `dest` left by processes that no longer run. */
export async function sweepStale(dest: string): Promise<void> {
  const dir = path.dirname(dest);
  const prefix = `.${path.basename(dest)}${MARK}`;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(n.slice(prefix.length))?.[1]);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid))
      await fs.rm(path.join(dir, n), { recursive: true, force: true });
  }
}

/** `stop` (which returns once the thread it stops writes no more) runs on a signal before the temporaries are removed; until the returned function is called. */
export function stopWritersOnSignal(stop: () => void): () => void {
  writers.add(stop);
  return () => writers.delete(stop);
}

let installed = false;

/** On SIGINT, SIGTERM or SIGHUP: remove every live temporary path, then exit 128+signal. */
export function removeTempsOnSignal(): void {
  if (installed) return;
  installed = true;
  const codes: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
  for (const sig of Object.keys(codes) as NodeJS.Signals[]) {
    process.once(sig, () => {
      for (const stop of writers) stop();
      for (const p of live) rmSync(p, { recursive: true, force: true });
      process.stderr.write(`\ninterrupted (${sig}): removed ${live.size} temporary output${live.size === 1 ? '' : 's'}\n`);
      process.exit(128 + codes[sig]!);
    });
  }
}

/** Write `text` to `file` through a temporary sibling and a rename: readers see the old file or the whole new one. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dest = path.resolve(file);
  await fs.mkdir(path.dirname(dest), { recursive: true });
  await sweepStale(dest);
  const tmp = tempSibling(dest);
  try {
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, dest);
  } finally {
    releaseTemp(tmp);
    await fs.rm(tmp, { force: true });
  }
}
