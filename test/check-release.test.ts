// CI's check of the shipped debian-13 slices against the real Debian archive
// (its URL from this machine's APT sources): `chisel-ts check` on the
// packages whose slice files this branch changes (git diff against main, or
// CHISEL_TS_CHECK_BASE; at most CHISEL_TS_CHECK_MAX packages, 60 by default,
// evenly spread) plus a fixed sample. A slice must pass, unless
// slices/debian-13/CHECK.md (bench/check-release.sh, the full run) records
// the same failure with the same problems. The full run is not a test: it
// takes minutes and downloads every package.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readKnownFailures } from '../bench/checkreport.js';
import { tempDir } from './support/cutenv.js';
import { CLI } from './support/realcut.js';

const REPO = path.join(__dirname, '..');
const RELEASE = path.join(REPO, 'slices', 'debian-13');
const SAMPLE = [
  'base-files_base',
  'libc6_libs',
  'libssl3t64_libs',
  'zlib1g_libs',
  'busybox_bins',
  'python3-minimal_bins',
  'tzdata_zoneinfo',
];
const asRoot = process.getuid?.() === 0;

/** Packages whose slice files differ from the base (committed or not), that still exist. */
function changedPackages(): string[] {
  const base = process.env.CHISEL_TS_CHECK_BASE ?? 'main';
  const git = (args: string[]) => spawnSync('git', args, { cwd: REPO, encoding: 'utf8' });
  const ref = git(['merge-base', base, 'HEAD']);
  const from = ref.status === 0 ? ref.stdout.trim() : git(['rev-parse', '--verify', 'HEAD^']).stdout.trim();
  if (!from) return [];
  const diff = git(['diff', '--name-only', from, '--', 'slices/debian-13/slices']);
  return diff.stdout
    .split('\n')
    .filter((f) => f.endsWith('.yaml') && existsSync(path.join(REPO, f)))
    .map((f) => path.basename(f, '.yaml'))
    .sort();
}

/** At most max names, evenly spread over the sorted list (the same pick every run). */
function spread(names: string[], max: number): string[] {
  if (names.length <= max) return names;
  return Array.from({ length: max }, (_, i) => names[Math.floor((i * names.length) / max)]!);
}

describe.skipIf(!asRoot)('chisel-ts check on debian-13 (changed slice files and a sample)', () => {
  it('every checked slice passes, or fails exactly as CHECK.md records', () => {
    const changed = changedPackages();
    const picked = spread(changed, Number(process.env.CHISEL_TS_CHECK_MAX ?? 60));
    if (picked.length < changed.length) console.log(`checking ${picked.length} of ${changed.length} changed packages: ${picked.join(' ')}`);
    const names = [...new Set([...SAMPLE, ...picked])];
    const r = spawnSync(
      process.execPath,
      [CLI, 'check', '--release', RELEASE, '--cache-dir', tempDir('chisel-ts-check-ci-'), '--json', ...names],
      {
        encoding: 'utf8',
        env: { ...process.env, CI: 'true' },
        maxBuffer: 256 << 20,
      },
    );
    expect([0, 1], r.stderr).toContain(r.status);
    const doc = JSON.parse(r.stdout) as { results: Array<{ name: string; result: string; problems: string[] }> };
    const known = readKnownFailures(readFileSync(path.join(RELEASE, 'CHECK.md'), 'utf8'));
    const unexpected = doc.results
      .filter((x) => x.result === 'fail' && JSON.stringify(known.get(x.name)) !== JSON.stringify(x.problems))
      .map((x) => `${x.name}:\n  ${x.problems.join('\n  ')}`);
    expect(unexpected, 'slices that fail (and CHECK.md does not record so)').toEqual([]);
    expect(doc.results.length).toBeGreaterThanOrEqual(SAMPLE.length);
  });
});
