// The benchmark's results: the targets of issue 8 (pass / fail) and the
// markdown table printed by `npm run bench` and kept in bench/RESULTS.md.

import path from 'node:path';
import type { IndexBench } from './archive.js';
import type { Baseline } from './baseline.js';
import type { ChiselBench } from './chisel.js';
import type { CutBench, IndexReuse } from './cuts.js';
import type { ExtractBench } from './extract.js';
import type { LayerRebuildBench } from './layers.js';
import type { ReleaseBench } from './release.js';

export interface Target {
  name: string;
  measured: string;
  target: string;
  /** null: not measured. */
  pass: boolean | null;
}

export interface Results {
  machine: { date: string; nproc: number; cpu: string; node: string; os: string };
  release: string;
  arch: string;
  validate: ReleaseBench[];
  cuts: CutBench[];
  baselines: Record<string, Baseline>;
  reuse: IndexReuse[];
  index: IndexBench | null;
  extract: ExtractBench;
  chisel: ChiselBench;
  /** null: not run. */
  layers: LayerRebuildBench | null;
  cross: Array<{ set: string; diffId: string; ok: boolean }>;
  seconds: number;
  targets: Target[];
}

const ms = (x: number | null | undefined): string =>
  x === null || x === undefined ? '-' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`;
const mb = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${Math.round(x)} MB`);
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

export const WARM_EXTRACT_MAX = 0.2;
/** Warm cuts: at least this many times faster than Chisel's, on every release. */
export const CHISEL_SPEEDUP_MIN = 10;

export function targets(r: Results): Target[] {
  const out: Target[] = [];
  const cut = (set: string, output: string) => r.cuts.find((c) => c.set === set && c.output === output);
  const v = r.validate.find((x) => path.basename(x.release) === 'ubuntu-24.04');
  out.push({
    name: 'validate ubuntu-24.04 (empty cache)',
    measured: v ? ms(v.coldMs.median) : '-',
    target: '< 500 ms',
    pass: v ? v.coldMs.median < 500 : null,
  });
  const base = cut('base', 'dir');
  const mm = r.baselines.base;
  out.push({
    name: 'cold cut base (dir) vs mmdebstrap',
    measured: base && mm?.ms ? `${ms(base.coldMs)} / ${ms(mm.ms)} = ${ratio(base.coldMs, mm.ms)}` : (mm?.skipped ?? '-'),
    target: '<= 0.5×',
    pass: base && mm?.ms ? base.coldMs <= 0.5 * mm.ms : null,
  });
  out.push({
    name: 'warm cut base (dir)',
    measured: base ? ms(base.warmMs) : '-',
    target: '< 300 ms',
    pass: base ? base.warmMs < 300 : null,
  });
  const py = cut('python3', 'dir');
  out.push({ name: 'warm cut python3 (dir)', measured: py ? ms(py.warmMs) : '-', target: '< 1 s', pass: py ? py.warmMs < 1000 : null });
  const changed = r.reuse.flatMap((x) => x.changed);
  out.push({
    name: 'warm online cut, unchanged InRelease: no index downloaded or parsed',
    measured: r.reuse.length
      ? changed.length
        ? `${changed.length} files written: ${changed.slice(0, 3).join(', ')}`
        : `0 blobs, 0 parsed indexes written (${r.reuse.length} cuts)`
      : '-',
    target: 'none',
    pass: r.reuse.length ? changed.length === 0 : null,
  });
  const e = r.extract;
  out.push({
    name: `extraction, cold (${e.packages} .debs, ${e.debMB.toFixed(0)} MB)`,
    measured: e.floorMs ? `${ms(e.coldMs)} / floor ${ms(e.floorMs)} = ${ratio(e.coldMs, e.floorMs)}` : '-',
    target: '<= 1.3× floor',
    pass: e.floorMs ? e.coldMs <= 1.3 * e.floorMs : null,
  });
  out.push({
    name: 'extraction, warm (content cache)',
    measured: e.floorMs ? `${ms(e.warmMs)} = ${ratio(e.warmMs, e.floorMs)} floor` : '-',
    target: `<= ${WARM_EXTRACT_MAX}× floor`,
    pass: e.floorMs ? e.warmMs <= WARM_EXTRACT_MAX * e.floorMs : null,
  });
  // issue 22: the layer cache (a warm OCI build compresses nothing)
  const javaOci = cut('java', 'oci');
  const javaTar = cut('java', 'tar');
  out.push({
    name: 'warm java OCI build vs warm java tarball cut (layer cache)',
    measured: javaOci && javaTar ? `${ms(javaOci.warmMs)} / ${ms(javaTar.warmMs)} = ${ratio(javaOci.warmMs, javaTar.warmMs)}` : '-',
    target: '<= 1.3×',
    pass: javaOci && javaTar ? javaOci.warmMs <= 1.3 * javaTar.warmMs : null,
  });
  const L = r.layers;
  out.push({
    name: 'python-web rebuild with layers: set after one app file changed vs its warm --root cut',
    measured: L
      ? `${ms(L.rebuildMs)} / ${ms(L.rootMs)} = ${ratio(L.rebuildMs, L.rootMs)}${L.oneLayerCompressed ? '' : ' (NOT one layer compressed)'}`
      : '-',
    target: '<= 1.3×',
    pass: L ? L.rebuildMs <= 1.3 * L.rootMs && L.oneLayerCompressed : null,
  });
  const java = r.cuts.filter((c) => c.set === 'java');
  const rss = java.flatMap((c) => [c.coldRssMB ?? 0, c.warmRssMB ?? 0]);
  const peak = rss.length ? Math.max(...rss) : 0;
  out.push({
    name: 'peak RSS, java (every cut, cold and warm)',
    measured: peak ? mb(peak) : '-',
    target: '< 300 MB',
    pass: peak ? peak < 300 : null,
  });
  const measured = r.chisel.rows.filter((x) => x.chiselMs !== null && x.tsMs !== null);
  const slowest = measured.reduce<(typeof measured)[number] | undefined>(
    (a, x) => (!a || x.chiselMs! / x.tsMs! < a.chiselMs! / a.tsMs! ? x : a),
    undefined,
  );
  out.push({
    name: `warm cuts vs Chisel, every Ubuntu release measured (${measured.length} of ${r.chisel.rows.length})`,
    measured: slowest ? `slowest: ${slowest.release} ${ratio(slowest.chiselMs!, slowest.tsMs!)}` : (r.chisel.skipped ?? '-'),
    target: `>= ${CHISEL_SPEEDUP_MIN}×`,
    pass: slowest ? measured.every((x) => x.chiselMs! >= CHISEL_SPEEDUP_MIN * x.tsMs!) : null,
  });
  const same = r.cuts.every((c) => c.sameDigest) && r.reuse.every((x) => x.sameDigest) && r.cross.every((c) => c.ok);
  out.push({ name: 'every timed run gives the same output digest', measured: same ? 'yes' : 'NO', target: 'yes', pass: same });
  return out;
}

export function renderMarkdown(r: Results): string {
  const m = r.machine;
  const L: string[] = [];
  L.push(`# chisel-ts benchmark`, '');
  L.push(
    `Measured ${m.date} by \`npm run bench\` on ${m.os}, ${m.nproc} cores (${m.cpu}), Node.js ${m.node}; ${r.release} ${r.arch}; the whole run took ${Math.round(r.seconds)} s.`,
    '',
  );
  L.push('## Targets', '', '| target | measured | goal | result |', '|---|---|---|---|');
  for (const t of r.targets)
    L.push(`| ${t.name} | ${t.measured} | ${t.target} | ${t.pass === null ? 'not measured' : t.pass ? 'pass' : 'FAIL'} |`);
  L.push(
    '',
    '## Load + full validation (`chisel-ts validate`, wall, median)',
    '',
    '| release | empty cache | parse cache warm |',
    '|---|---:|---:|',
  );
  for (const v of r.validate) L.push(`| ${path.basename(v.release)} | ${ms(v.coldMs.median)} | ${ms(v.warmMs.median)} |`);
  L.push(
    '',
    `## Cuts (wall, median; peak RSS; cold = empty cache, ${r.cuts[0]?.coldRuns.length ?? 0} runs; warm = \`--offline\`, ${r.cuts[0]?.warmRuns.length ?? 0} runs; mmdebstrap: median of its runs)`,
    '',
  );
  L.push(
    '| set | output | packages | files | cold | cold RSS | warm | warm RSS | mmdebstrap | cold / mmdebstrap | same digest |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  );
  for (const c of r.cuts) {
    const b = r.baselines[c.set];
    L.push(
      `| ${c.set} | ${c.output} | ${c.packages} | ${c.files} | ${ms(c.coldMs)} | ${mb(c.coldRssMB)} | ${ms(c.warmMs)} | ${mb(c.warmRssMB)} | ${b?.ms ? ms(b.ms) : (b?.skipped ?? '-')} | ${b?.ms && c.output === 'dir' ? ratio(c.coldMs, b.ms) : '-'} | ${c.sameDigest ? 'yes' : 'NO'} |`,
    );
  }
  L.push('', 'Warm online cuts (InRelease fetched again, unchanged):', '');
  for (const x of r.reuse)
    L.push(`* ${x.set}: ${ms(x.ms)}; blobs / parsed indexes written: ${x.changed.length}; same digest: ${x.sameDigest ? 'yes' : 'NO'}`);
  L.push('', '## Index decode + parse', '');
  const ix = r.index;
  if (ix) {
    L.push('| index | compressed | text | packages | decode | parse | cached form load |', '|---|---:|---:|---:|---:|---:|---:|');
    L.push(
      `| ${ix.path} | ${(ix.compressedBytes / 1e6).toFixed(1)} MB | ${(ix.bytes / 1e6).toFixed(1)} MB | ${ix.packages} | ${ms(ix.decodeMs)} (${ix.decodeMBps.toFixed(0)} MB/s) | ${ms(ix.parseMs)} (${ix.parseMBps.toFixed(0)} MB/s) | ${ms(ix.cacheLoadMs)} |`,
    );
  } else L.push('not measured (no index in the cache)');
  const e = r.extract;
  L.push('', '## Extraction against the decompression floor (sequential)', '');
  L.push(`${e.packages} .debs (${e.debMB.toFixed(0)} MB); floor: ${e.floorTools.join(', ')} of each data.tar member to /dev/null.`, '');
  L.push('| floor | cold extraction | warm (content cache) |', '|---:|---:|---:|');
  L.push(`| ${ms(e.floorMs)} | ${ms(e.coldMs)} | ${ms(e.warmMs)} |`, '');
  L.push(...renderChisel(r.chisel));
  const y = r.layers;
  L.push('## Layered rebuild (python-web, `layers: set`, one app file changed; warm, `--offline`)', '');
  if (y)
    L.push(
      `${y.layers} layers; every rebuild compressed only the files layer: ${y.oneLayerCompressed ? 'yes' : 'NO'}.`,
      '',
      '| rebuild (median) | warm --root cut (median) | ratio | rebuild runs | --root runs |',
      '|---:|---:|---:|---|---|',
      `| ${ms(y.rebuildMs)} | ${ms(y.rootMs)} | ${ratio(y.rebuildMs, y.rootMs)} | ${y.rebuildRuns.join(', ')} | ${y.rootRuns.join(', ')} |`,
      '',
    );
  else L.push('not run', '');
  return `${L.join('\n')}\n`;
}

/** Warm cuts of one group per Ubuntu release by Chisel and chisel-ts. */
function renderChisel(c: ChiselBench): string[] {
  const L = ['## Warm cuts against Chisel (wall, median of the warm runs; both fetch the InRelease files again)', ''];
  if (c.skipped) return [...L, c.skipped, ''];
  L.push(
    `Reference: ${path.basename(path.dirname(c.binary ?? ''))}; groups in bench/chisel.ts (amd64, Ubuntu archive); roots and caches on ${c.fsType ?? 'unknown'}.`,
    '',
    '| release | slices | entries | Chisel | chisel-ts | ratio | note |',
    '|---|---:|---:|---:|---:|---:|---|',
  );
  for (const x of c.rows) {
    const entries =
      x.chiselEntries !== null && x.chiselEntries !== x.entries ? `${x.entries ?? '-'} (Chisel ${x.chiselEntries})` : `${x.entries ?? '-'}`;
    const r = x.chiselMs !== null && x.tsMs !== null ? ratio(x.chiselMs, x.tsMs) : '-';
    L.push(`| ${x.release} | ${x.slices} | ${entries} | ${ms(x.chiselMs)} | ${ms(x.tsMs)} | ${r} | ${x.note ?? ''} |`);
  }
  return [...L, ''];
}
