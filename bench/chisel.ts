// chisel-ts against Chisel itself: warm cuts of one group of slices per
// Ubuntu release of the corpus, by both tools, side by side. Runs only when
// the reference binary is present (../shared/tools/chisel-v1.4.1/chisel, or
// CHISEL_TS_BENCH_CHISEL) and chisel-ts is told where the Ubuntu archive is
// (CHISEL_TS_ARCHIVE_URL_UBUNTU, as for any cut; Chisel knows it). Warm: the
// second and later runs on the same cache; both tools fetch the InRelease
// files again (Chisel always does; chisel-ts runs online too).

import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { archiveEnvVar } from '../compiler/archive/sources.js';
import { discard } from './trash.js';
import { chisel, median, ROOT, run } from './proc.js';

const COMMON = [
  'base-files_base',
  'base-files_chisel',
  'base-files_release-info',
  'ca-certificates_data',
  'bash_bins',
  'coreutils_bins',
  'tzdata_zoneinfo',
  'openssl_bins',
  'libpam-runtime_config',
];

/** A group per release: a manifest, a large python tree, symlinks, mutate scripts, until: mutate. */
export const CHISEL_GROUPS: Record<string, string[]> = {
  'ubuntu-22.04': [...COMMON, 'python3.10_standard'],
  'ubuntu-24.04': [...COMMON, 'python3.12_standard', 'dpkg_bins'],
  'ubuntu-25.10': [...COMMON, 'python3.13_standard', 'dpkg_bins'],
  'ubuntu-26.04': [...COMMON, 'python3.14_standard', 'dpkg_bins'],
};

export interface ChiselRow {
  release: string;
  /** Slices the cut selected (with the essentials), from chisel-ts's report. */
  slices: number;
  /** Entries of the tree (walked, / left out): chisel-ts's, and Chisel's. */
  entries: number | null;
  chiselEntries: number | null;
  /** Median warm wall time; null when the tool could not cut (see note). */
  chiselMs: number | null;
  tsMs: number | null;
  note?: string;
}

export interface ChiselBench {
  rows: ChiselRow[];
  /** Why the section was not measured. */
  skipped?: string;
  binary?: string;
  /** The file system the roots and caches were on (df -T). */
  fsType?: string;
}

/** The arguments of a chisel-ts cut that cuts what `chisel cut` cuts (amd64, no dpkg metadata, setid bits kept), slices and outputs to follow. */
export function chiselLikeCut(releaseDir: string, cacheDir: string): string[] {
  return [
    'cut',
    '--release',
    releaseDir,
    '--arch',
    'amd64',
    '--cache-dir',
    cacheDir,
    '--ignore',
    'unmaintained',
    '--no-package-metadata', // Chisel writes no dpkg status.d
    '--keep-setid', // Chisel keeps the setuid / setgid bits
  ];
}

export function referenceChisel(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const bin = env.CHISEL_TS_BENCH_CHISEL || path.resolve(ROOT, '..', 'shared', 'tools', 'chisel-v1.4.1', 'chisel');
  return existsSync(bin) ? bin : undefined;
}

function fsType(dir: string): string {
  try {
    return execFileSync('df', ['--output=fstype', dir], { encoding: 'utf8' }).trim().split('\n').at(-1) ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Entries below `dir`, symlinks not followed (Node 20's recursive readdir never ends on some of these trees). */
async function countEntries(dir: string): Promise<number> {
  let n = 0;
  for (const d of await fs.readdir(dir, { withFileTypes: true })) {
    n++;
    if (d.isDirectory()) n += await countEntries(path.join(dir, d.name));
  }
  return n;
}

const firstError = (stderr: string): string =>
  stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /error/i.test(l))
    .at(-1)
    ?.slice(0, 160) ?? 'failed';

type CutRun = (root: string) => Promise<{ ms: number; status: number | null; stderr: string; stdout: string }>;

interface Warm {
  ms: number | null;
  entries: number | null;
  stdout: string;
  error?: string;
}

/**
 * Both tools, one release: a cold run of each to fill its cache (then
 * flushed to disk), then `runs` warm pairs, the tools taking turns (A B A B ...: a drift of the machine's
 * speed during the section hits both alike); the median of each tool's warm
 * runs. A tool that fails stops, the other goes on.
 */
async function warmPairs(
  tools: Array<{ name: string; cut: CutRun; root: string }>,
  work: string,
  runs: number,
  log: (m: string) => void,
): Promise<Warm[]> {
  const out: Warm[] = tools.map(() => ({ ms: null, entries: null, stdout: '' }));
  const times: number[][] = tools.map(() => []);
  for (let i = 0; i <= runs; i++) {
    for (const [t, tool] of tools.entries()) {
      const o = out[t]!;
      if (o.error) continue;
      await discard(tool.root, work);
      await fs.mkdir(tool.root, { recursive: true });
      const r = await tool.cut(tool.root);
      if (r.status !== 0) {
        o.error = firstError(r.stderr);
        continue;
      }
      if (i > 0) times[t]!.push(r.ms);
      log(`  ${i === 0 ? 'cold' : `warm ${i}`}: ${tool.name} ${Math.round(r.ms)} ms`);
      o.stdout = r.stdout;
      o.entries = await countEntries(tool.root);
    }
    // warm means a filled cache that is on disk: the cold runs' writes (hundreds of MB) are
    // flushed before the timed runs, not during them
    if (i === 0) execFileSync('sync');
  }
  for (const [t, tool] of tools.entries()) {
    await discard(tool.root, work);
    const o = out[t]!;
    if (o.error) Object.assign(o, { ms: null, entries: null, stdout: '' });
    else o.ms = median(times[t]!);
  }
  return out;
}

export async function benchChisel(work: string, runs = 3, log: (m: string) => void = () => undefined): Promise<ChiselBench> {
  const bin = referenceChisel();
  if (!bin)
    return { rows: [], skipped: 'not measured (no reference binary: ../shared/tools/chisel-v1.4.1/chisel or CHISEL_TS_BENCH_CHISEL)' };
  const urlVar = archiveEnvVar('ubuntu');
  if (!process.env[urlVar]) return { rows: [], skipped: `not measured (set ${urlVar} to the Ubuntu archive's base URL)`, binary: bin };
  const corpus = path.resolve(ROOT, '..', 'shared', 'corpus', 'chisel-releases');
  const rows: ChiselRow[] = [];
  for (const [release, slices] of Object.entries(CHISEL_GROUPS)) {
    const dir = path.join(corpus, release);
    if (!existsSync(dir)) continue;
    const base = path.join(work, `chisel-${release}`);
    const chiselCache = path.join(base, 'chisel-cache');
    const tsCache = path.join(base, 'ts-cache');
    log(`chisel vs chisel-ts: ${release} (${slices.length} slices): 1 cold + ${runs} warm each, taking turns`);
    const [ts, ref] = (await warmPairs(
      [
        {
          name: 'chisel-ts',
          cut: (root) => chisel([...chiselLikeCut(dir, tsCache), '--json', '--quiet', '--root', root, ...slices]),
          root: path.join(base, 'ts-root'),
        },
        {
          name: 'Chisel',
          cut: (root) =>
            run(bin, ['cut', '--release', `${dir}/`, '--arch', 'amd64', '--root', root, ...slices], { XDG_CACHE_HOME: chiselCache }),
          root: path.join(base, 'chisel-root'),
        },
      ],
      work,
      runs,
      log,
    )) as [Warm, Warm];
    let selected = slices.length;
    try {
      selected = (JSON.parse(ts.stdout) as { archs: Array<{ slices: string[] }> }).archs[0]!.slices.length;
    } catch {
      // no report (the cut failed): the slices asked for
    }
    const notes = [ts.error ? `chisel-ts: ${ts.error}` : '', ref.error ? `Chisel: ${ref.error}` : ''].filter(Boolean);
    rows.push({
      release,
      slices: selected,
      entries: ts.entries,
      chiselEntries: ref.entries,
      chiselMs: ref.ms,
      tsMs: ts.ms,
      ...(notes.length ? { note: notes.join('; ') } : {}),
    });
    await discard(base, work);
  }
  return { rows, binary: bin, fsType: fsType(work) };
}
