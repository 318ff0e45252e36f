// Cold and warm cuts of sets of a release, each into a directory, a tarball
// and an OCI layout, every one a child process of the real CLI. Cold: a new,
// empty cache. Warm: the same cache again, --offline. Every run's output
// digest is recorded; a warm run that does not give the cold run's bytes
// fails the benchmark.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { dirDigest } from './digest.js';
import { discard } from './trash.js';
import { chisel, median, type Run } from './proc.js';

export type OutputKind = 'dir' | 'tar' | 'oci';
export const OUTPUT_KINDS: OutputKind[] = ['dir', 'tar', 'oci'];

export interface CutReport {
  tar?: { sha256: string; diffId: string };
  image?: { digest: string; manifests: Array<{ diffId: string }> };
  archs: Array<{ packages: Array<{ name: string; version: string; arch: string; sha256: string }>; files: number; bytes: number }>;
}

export interface CutBench {
  set: string;
  output: OutputKind;
  /** Median of the cold runs (each with an empty cache). */
  coldMs: number;
  coldRuns: number[];
  coldRssMB: number | null;
  warmMs: number;
  warmRuns: number[];
  warmRssMB: number | null;
  digest: string;
  /** Every cold and warm run gave the first cold run's digest. */
  sameDigest: boolean;
  packages: number;
  files: number;
  /** Uncompressed layer digest (tar and OCI outputs): the same tree in both. */
  diffId?: string;
}

export interface CutSpec {
  release: string;
  arch: string;
  work: string;
  coldRuns: number;
  warmRuns: number;
}

function outArgs(kind: OutputKind, out: string): string[] {
  return kind === 'dir' ? ['--root', out] : kind === 'tar' ? ['--tar', `${out}.tar`] : ['--oci', out];
}

async function digestOf(kind: OutputKind, out: string, report: CutReport): Promise<string> {
  if (kind === 'dir') return dirDigest(out);
  if (kind === 'tar') return `sha256:${report.tar!.sha256}`;
  return report.image!.digest;
}

export async function cutOnce(
  spec: CutSpec,
  set: string,
  kind: OutputKind,
  cache: string,
  extra: string[] = [],
): Promise<{ run: Run; report: CutReport; digest: string }> {
  const out = path.join(spec.work, `out-${set}-${kind}`);
  await discard(out, spec.work);
  await discard(`${out}.tar`, spec.work);
  const args = [
    'cut',
    '--release',
    spec.release,
    '--arch',
    spec.arch,
    '--cache-dir',
    cache,
    '--json',
    '--quiet',
    ...extra,
    ...outArgs(kind, out),
    set,
  ];
  const run = await chisel(args);
  if (run.status !== 0) throw new Error(`chisel-ts ${args.join(' ')} failed (${run.status}):\n${run.stderr}`);
  const report = JSON.parse(run.stdout) as CutReport;
  const digest = await digestOf(kind, out, report);
  await discard(out, spec.work);
  await discard(`${out}.tar`, spec.work);
  return { run, report, digest };
}

/** Cold cuts (each from an empty cache), then warm cuts, of one set into one kind of output; the last cold run's cache is left in place for later stages. */
export async function benchCut(spec: CutSpec, set: string, kind: OutputKind, cache: string): Promise<CutBench & { report: CutReport }> {
  const colds: Array<{ run: Run; report: CutReport; digest: string }> = [];
  for (let i = 0; i < Math.max(1, spec.coldRuns); i++) {
    await discard(cache, spec.work);
    colds.push(await cutOnce(spec, set, kind, cache));
  }
  const cold = colds[0]!;
  const warm: Array<{ run: Run; digest: string }> = [];
  for (let i = 0; i < spec.warmRuns; i++) warm.push(await cutOnce(spec, set, kind, cache, ['--offline']));
  const maxRss = (runs: Run[]) => (runs.some((r) => (r.rssMB ?? 0) > 0) ? Math.max(...runs.map((r) => r.rssMB ?? 0)) : null);
  const arch = cold.report.archs[0]!;
  return {
    set,
    output: kind,
    coldMs: median(colds.map((c) => c.run.ms)),
    coldRuns: colds.map((c) => Math.round(c.run.ms)),
    coldRssMB: maxRss(colds.map((c) => c.run)),
    warmMs: median(warm.map((w) => w.run.ms)),
    warmRuns: warm.map((w) => Math.round(w.run.ms)),
    warmRssMB: maxRss(warm.map((w) => w.run)),
    digest: cold.digest,
    sameDigest: [...colds, ...warm].every((w) => w.digest === cold.digest),
    packages: arch.packages.length,
    files: arch.files,
    ...(kind === 'tar'
      ? { diffId: `sha256:${cold.report.tar!.diffId}` }
      : kind === 'oci'
        ? { diffId: cold.report.image!.manifests[0]!.diffId }
        : {}),
    report: cold.report,
  };
}

/** Files under the cache's blob store and parsed-index store, with identity (inode, size, mtime). */
async function snapshot(cache: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const d of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) await walk(p);
      else {
        const st = await fs.stat(p);
        out.set(p, `${st.ino}:${st.size}:${st.mtimeMs}`);
      }
    }
  };
  await walk(path.join(cache, 'blobs', 'sha256'));
  await walk(path.join(cache, 'meta', 'packages-table'));
  return out;
}

export interface IndexReuse {
  set: string;
  ms: number;
  /** Blobs or parsed indexes written by the warm online run (should be none). */
  changed: string[];
  sameDigest: boolean;
}

/**
 * A warm cut online (InRelease fetched again, unchanged): nothing may enter
 * the blob store and no parsed index may be written again.
 */
export async function benchIndexReuse(spec: CutSpec, set: string, cache: string, expectDigest: string): Promise<IndexReuse> {
  const before = await snapshot(cache);
  const r = await cutOnce(spec, set, 'dir', cache);
  const after = await snapshot(cache);
  const changed = [...after].filter(([p, id]) => before.get(p) !== id).map(([p]) => path.relative(cache, p));
  return { set, ms: r.run.ms, changed, sameDigest: r.digest === expectDigest };
}
