// Sizes of the shipped sets: each set of each shipped Debian release is cut
// from the real archive with the CLI and measured with `du -sk` (uncompressed
// root) and as a gzip OCI layer. Prints the README table.
// Usage: node dist/bench/sizes.js [--cache-dir DIR] [release ...]

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadRelease, resolveReleaseDir } from '../compiler/release/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'chisel-ts.js');

export const LIMITS_MIB: Record<string, number> = { static: 2.5, base: 20, cc: 24, python3: 40, java: 200, java17: 200 };

export interface SetSize {
  release: string;
  set: string;
  rootKiB: number;
  layerKiB: number;
  packages: number;
  seconds: number;
}

/** Cuts `set` (a set, or a list of slices) of `release` (a name or a directory) and measures it. */
export function measure(release: string, set: string | string[], cacheDir: string): SetSize {
  const names = typeof set === 'string' ? [set] : set;
  const work = mkdtempSync(path.join(tmpdir(), 'chisel-ts-sizes-'));
  try {
    const t0 = Date.now();
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'cut',
        '--release',
        release,
        '--cache-dir',
        cacheDir,
        '--root',
        path.join(work, 'root'),
        '--oci',
        path.join(work, 'oci'),
        '--json',
        ...names,
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`cut ${release} ${names.join(' ')}: ${r.stderr}`);
    const seconds = (Date.now() - t0) / 1000;
    const report = JSON.parse(r.stdout) as { archs: Array<{ packages: unknown[] }> };
    const du = (p: string) => Number(execFileSync('du', ['-sk', p], { encoding: 'utf8' }).split('\t')[0]);
    return {
      release,
      set: names.join(' '),
      rootKiB: du(path.join(work, 'root')),
      layerKiB: du(path.join(work, 'oci', 'blobs')),
      packages: report.archs[0]!.packages.length,
      seconds,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function setsOf(release: string): Promise<string[]> {
  const r = await loadRelease(resolveReleaseDir(release));
  return [...(r.sets?.keys() ?? [])];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const ci = args.indexOf('--cache-dir');
  const cacheDir = ci >= 0 ? args.splice(ci, 2)[1]! : mkdtempSync(path.join(tmpdir(), 'chisel-ts-sizes-cache-'));
  const releases = args.length ? args : ['debian-13', 'debian-12'];
  const rows: SetSize[] = [];
  for (const release of releases) for (const set of await setsOf(release)) rows.push(measure(release, set, cacheDir));
  const mib = (k: number) => (k / 1024).toFixed(1);
  process.stdout.write('| release | set | packages | root (du) | gzip layer | limit |\n|---|---|---:|---:|---:|---:|\n');
  for (const r of rows) {
    const limit = LIMITS_MIB[r.set];
    process.stdout.write(
      `| ${r.release} | ${r.set} | ${r.packages} | ${mib(r.rootKiB)} MiB | ${mib(r.layerKiB)} MiB | ${limit !== undefined ? `${limit} MiB${r.rootKiB / 1024 > limit ? ' (over)' : ''}` : '-'} |\n`,
    );
  }
}
