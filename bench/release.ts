// Benchmark: `chisel-ts validate` of a whole release, wall time of the real
// command (node start-up included), with an empty cache (every file parsed)
// and with a warm parse cache (only the release-wide checks run again).
// Target (issue 2): ubuntu-24.04, 605 files, under 500 ms wall.
// Usage: node dist/bench/release.js [RELEASE_DIR] [RUNS]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'chisel-ts.js');

export interface ReleaseBench {
  release: string;
  runs: number;
  coldMs: { median: number; min: number };
  warmMs: { median: number; min: number };
  targetMs: number;
}

function timeValidate(release: string, cacheDir: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, 'validate', '--release', release, '--cache-dir', cacheDir], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`validate failed (${r.status}): ${r.stderr}`);
  return ms;
}

function stats(xs: number[]): { median: number; min: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: Math.round(s[Math.floor(s.length / 2)]!), min: Math.round(s[0]!) };
}

export function benchRelease(release: string, runs = 5): ReleaseBench {
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cache = mkdtempSync(path.join(tmpdir(), 'chisel-ts-bench-'));
    try {
      cold.push(timeValidate(release, cache));
      warm.push(timeValidate(release, cache));
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
  return { release, runs, coldMs: stats(cold), warmMs: stats(warm), targetMs: 500 };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const release = process.argv[2] ?? path.resolve(ROOT, '..', 'shared', 'corpus', 'chisel-releases', 'ubuntu-24.04');
  const r = benchRelease(release, Number(process.argv[3] ?? 5));
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  process.stdout.write(
    `validate ${path.basename(release)}: cold ${r.coldMs.median} ms, warm ${r.warmMs.median} ms (target ${r.targetMs} ms)\n`,
  );
}
