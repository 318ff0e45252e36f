// The baseline users know: `mmdebstrap --variant=extract` of the same
// packages, into a directory, from the mirrors this machine's APT sources
// name (found the way chisel-ts finds them), with one "deb" line per suite of
// each archive of the release.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { isSkipped, resolveArchiveUrl } from '../compiler/archive/sources.js';
import { loadRelease, resolveReleaseDir } from '../compiler/release/index.js';
import { findExecutable } from '../compiler/deb/index.js';
import { median, run } from './proc.js';
import { discard } from './trash.js';

export interface Baseline {
  tool: string;
  /** Median of the runs. */
  ms: number | null;
  runs?: number[];
  rssMB: number | null;
  packages: string[];
  /** Why it was not measured. */
  skipped?: string;
}

export async function mirrorLines(release: string, arch: string): Promise<{ suite: string; lines: string[] }> {
  const rel = await loadRelease(resolveReleaseDir(release));
  const lines: string[] = [];
  let suite = '';
  const archives = [...rel.archives.values()].sort((a, b) => a.priority - b.priority);
  for (const a of archives) {
    const keys = a.publicKeys.map((k) => rel.publicKeys.get(k)!).filter(Boolean);
    const resolved = await resolveArchiveUrl(a, keys);
    if (isSkipped(resolved)) continue; // a pro archive without credentials
    const { url } = resolved;
    suite ||= a.suites[0] ?? '';
    for (const s of a.suites) lines.push(`deb [arch=${arch}] ${url} ${s} ${a.components.join(' ')}`);
  }
  return { suite, lines };
}

export async function benchMmdebstrap(release: string, arch: string, packages: string[], work: string, runs = 1): Promise<Baseline> {
  const tool = 'mmdebstrap --variant=extract';
  const exe = findExecutable('mmdebstrap');
  if (!exe) return { tool, ms: null, rssMB: null, packages, skipped: 'not measured (install mmdebstrap)' };
  const { suite, lines } = await mirrorLines(release, arch);
  const out = path.join(work, 'mmdebstrap-root');
  const times: number[] = [];
  let rssMB: number | null = null;
  for (let i = 0; i < Math.max(1, runs); i++) {
    await discard(out, work);
    const r = await run(exe, [
      '--quiet',
      '--variant=extract',
      `--architectures=${arch}`,
      `--include=${packages.join(',')}`,
      suite,
      out,
      ...lines,
    ]);
    const ok = r.status === 0 && existsSync(path.join(out, 'usr'));
    await discard(out, work);
    if (!ok)
      return {
        tool,
        ms: null,
        rssMB: null,
        packages,
        skipped: `failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      };
    times.push(r.ms);
    if (r.rssMB !== null) rssMB = Math.max(rssMB ?? 0, r.rssMB);
  }
  return { tool, ms: median(times), runs: times.map(Math.round), rssMB, packages };
}
