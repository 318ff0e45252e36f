// `npm run bench`: chisel-ts against the tools users know, on the same work,
// with a pass / fail line for every target of issue 8.
//
//   node dist/bench/run.js [--json] [--write FILE.md] [--sets base,python3,java]
//                          [--cold-runs N] [--warm-runs N] [--validate-runs N] [--release debian-13] [--arch amd64]
//                          [--chisel-runs N] [--chisel-dir DIR] [--only-chisel]
//                          [--layer-runs N] [--only-layers] [--help]
//
// With the reference Chisel binary present and CHISEL_TS_ARCHIVE_URL_UBUNTU
// set, warm cuts of every Ubuntu release of the corpus by both tools
// (bench/chisel.ts), their roots and caches in --chisel-dir (default: the
// work directory; /dev/shm measures the tools rather than the disk, which
// both pay alike); --only-chisel runs just that section. --only-layers runs
// only the python-web rebuild with `layers: set` (bench/layers.ts).
//
// Every cut is a child process of the real CLI (wall time, peak RSS); the
// output of every timed run is digested and compared with the cold run's.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, promises as fs, readFileSync, readdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { benchIndexParse, cachedIndex, type IndexBench } from './archive.js';
import { discard } from './trash.js';
import { benchMmdebstrap, type Baseline } from './baseline.js';
import { benchChisel } from './chisel.js';
import { benchCut, benchIndexReuse, OUTPUT_KINDS, type CutBench, type CutSpec, type IndexReuse } from './cuts.js';
import { benchExtract, type ExtractBench } from './extract.js';
import { benchLayerRebuild, type LayerRebuildBench } from './layers.js';
import { ROOT } from './proc.js';
import { benchRelease, type ReleaseBench } from './release.js';
import { targets, renderMarkdown, type Results } from './report.js';

function opt(args: string[], name: string, def: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
}

function machine(): Results['machine'] {
  const os = /PRETTY_NAME="?([^"\n]*)/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? process.platform;
  let nproc = cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    /* os.cpus() then */
  }
  return { date: new Date().toISOString().slice(0, 10), nproc, cpu: cpus()[0]?.model.trim() ?? 'unknown', node: process.version, os };
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

const USAGE = `usage: node dist/bench/run.js [--json] [--write FILE.md] [--sets base,python3,java]
       [--cold-runs N] [--warm-runs N] [--validate-runs N] [--release debian-13] [--arch amd64]
       [--chisel-runs N] [--chisel-dir DIR] [--only-chisel] [--layer-runs N] [--only-layers]
  --only-chisel   only the warm cuts of the Ubuntu releases against the reference Chisel
  --only-layers   only the python-web rebuild with layers: set after one app file changed
                  against the warm --root cut of its slices (--layer-runs N, default 5)
`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const json = args.includes('--json');
  const write = args.includes('--write') ? opt(args, '--write', path.join(ROOT, 'bench', 'RESULTS.md')) : undefined;
  const sets = opt(args, '--sets', 'base,python3,java').split(',');
  const release = opt(args, '--release', 'debian-13');
  const arch = opt(args, '--arch', 'amd64');
  const warmRuns = Number(opt(args, '--warm-runs', '5'));
  const validateRuns = Number(opt(args, '--validate-runs', '5'));
  const coldRuns = Number(opt(args, '--cold-runs', '3'));
  const chiselRuns = Number(opt(args, '--chisel-runs', '5'));
  const layerRuns = Number(opt(args, '--layer-runs', '5'));
  const onlyLayers = args.includes('--only-layers');
  const only = args.includes('--only-chisel') || onlyLayers;
  const work = mkdtempSync(path.join(tmpdir(), 'chisel-ts-bench-'));
  const spec: CutSpec = { release, arch, work, coldRuns, warmRuns };
  const started = Date.now();
  try {
    // 1. Load + full validation of every release.
    const corpus = path.resolve(ROOT, '..', 'shared', 'corpus', 'chisel-releases');
    const releaseDirs = [
      ...readdirSync(corpus, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => path.join(corpus, d.name))
        .sort(),
      path.join(ROOT, 'slices', 'debian-12'),
      path.join(ROOT, 'slices', 'debian-13'),
    ];
    const validate: ReleaseBench[] = [];
    for (const dir of only ? [] : releaseDirs) {
      log(`validate ${path.basename(dir)}`);
      validate.push(benchRelease(dir, validateRuns));
    }

    // 2. Cold and warm cuts, per set and output; mmdebstrap on the same packages.
    const cuts: CutBench[] = [];
    const baselines: Record<string, Baseline> = {};
    const reuse: IndexReuse[] = [];
    const debs = new Map<string, string>();
    let index: IndexBench | undefined;
    const caches: string[] = [];
    for (const set of only ? [] : sets) {
      for (const kind of OUTPUT_KINDS) {
        log(`cut ${set} -> ${kind}: ${coldRuns} cold, then ${warmRuns} warm`);
        const cache = path.join(work, `cache-${set}-${kind}`);
        const { report, ...b } = await benchCut(spec, set, kind, cache);
        cuts.push(b);
        if (kind !== 'dir') {
          await discard(cache, work);
          continue;
        }
        caches.push(cache);
        for (const p of report.archs[0]!.packages) debs.set(p.sha256, path.join(cache, 'blobs', 'sha256', p.sha256));
        log(`cut ${set} -> dir: warm, online (InRelease fetched again)`);
        reuse.push(await benchIndexReuse(spec, set, cache, b.digest));
        if (!index) {
          const archive = release.startsWith('debian-') ? 'debian' : '';
          const ix = await cachedIndex(cache, archive, release === 'debian-12' ? 'bookworm' : 'trixie', `main/binary-${arch}/Packages`);
          if (ix) {
            log(`index decode + parse: ${ix.name}`);
            index = await benchIndexParse(ix.path, 3, ix.name);
            index.path = ix.name;
          }
        }
        log(`mmdebstrap ${set} (${report.archs[0]!.packages.length} packages)`);
        baselines[set] = await benchMmdebstrap(
          release,
          arch,
          report.archs[0]!.packages.map((p) => p.name),
          work,
          coldRuns,
        );
      }
    }
    const cross = sets.map((set) => {
      const of = (k: string) => cuts.find((c) => c.set === set && c.output === k)?.diffId;
      return { set, diffId: of('tar') ?? '', ok: of('tar') !== undefined && of('tar') === of('oci') };
    });

    // 3. Extraction against the decompression floor.
    log(`extraction of ${debs.size} packages against the decompression floor`);
    const extract: ExtractBench = await benchExtract(debs, work);
    for (const c of caches) await discard(c, work);

    // 4. Warm cuts of the Ubuntu releases by Chisel and by chisel-ts.
    const chiselDir = args.includes('--chisel-dir')
      ? mkdtempSync(path.join(opt(args, '--chisel-dir', tmpdir()), 'chisel-ts-bench-'))
      : work;
    const chiselBench = onlyLayers ? { rows: [], skipped: 'not run (--only-layers)' } : await benchChisel(chiselDir, chiselRuns, log);
    if (chiselDir !== work) await fs.rm(chiselDir, { recursive: true, force: true });

    // 5. The python-web rebuild with layers: set after one app file changed (issue 22).
    const layers: LayerRebuildBench | null = only && !onlyLayers ? null : await benchLayerRebuild(work, layerRuns, arch, log);

    const results: Results = {
      machine: machine(),
      release,
      arch,
      validate,
      cuts,
      baselines,
      reuse,
      index: index ?? null,
      extract,
      chisel: chiselBench,
      layers,
      cross,
      seconds: 0,
      targets: [],
    };
    results.seconds = (Date.now() - started) / 1000;
    results.targets = targets(results);
    const md = renderMarkdown(results);
    if (write) await fs.writeFile(write, md);
    process.stdout.write(json ? `${JSON.stringify(results, null, 2)}\n` : md);
    // Targets missed are reported, not fatal; outputs that differ between runs are.
    if (cuts.some((c) => !c.sameDigest) || reuse.some((r) => !r.sameDigest) || cross.some((c) => !c.ok)) process.exitCode = 1;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

await main();
