// Issue 22: rebuilding the python-web example with `layers: set` after one
// app file changed (only the files layer is compressed again; the set layers
// come from the layer cache) against the warm `--root` cut of its slices.
// Both warm and --offline, on one cache filled by a first build; every
// rebuild changes app/main.py and must compress exactly one layer.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { discard } from './trash.js';
import { chisel, median, ROOT } from './proc.js';

export interface LayerRebuildBench {
  /** Median of the rebuilds after one app file changed. */
  rebuildMs: number;
  rebuildRuns: number[];
  /** Median of the warm `--root` cuts of the example's slices. */
  rootMs: number;
  rootRuns: number[];
  layers: number;
  /** Every rebuild compressed exactly one layer (the files layer) and took the others from the cache. */
  oneLayerCompressed: boolean;
}

interface BuildReport {
  image: { manifests: Array<{ layers: Array<{ cached: boolean }> }> };
}

const EXAMPLE = path.join(ROOT, 'examples', 'python-web');

async function cli(args: string[]): Promise<{ ms: number; stdout: string }> {
  const r = await chisel(args);
  if (r.status !== 0) throw new Error(`chisel-ts ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r;
}

export async function benchLayerRebuild(work: string, runs: number, arch: string, log: (msg: string) => void): Promise<LayerRebuildBench> {
  const dir = path.join(work, 'python-web');
  const cache = path.join(work, 'cache-python-web');
  await fs.cp(path.join(EXAMPLE, 'app'), path.join(dir, 'app'), { recursive: true });
  const yaml = await fs.readFile(path.join(EXAMPLE, 'image.yaml'), 'utf8');
  const release = /^release:\s*(\S+)/m.exec(yaml)?.[1];
  const slices = /^slices:\s*\[([^\]]*)\]/m
    .exec(yaml)?.[1]
    ?.split(',')
    .map((s) => s.trim());
  if (!release || !slices?.length) throw new Error(`${EXAMPLE}/image.yaml: no release: or slices: [..] line for the layers bench`);
  const file = path.join(dir, 'image.yaml');
  await fs.writeFile(file, `${yaml.replace(/^layers:.*\n/m, '')}layers: set\n`);
  const main = path.join(dir, 'app', 'main.py');
  const source = await fs.readFile(main, 'utf8');
  const build = (extra: string[]) => cli(['build', file, '--arch', arch, '--cache-dir', cache, '--json', '--quiet', ...extra]);

  log(`python-web (layers: set, ${arch}): a first build fills the cache`);
  await build([]);
  const rootOut = path.join(work, 'out-python-web-root');
  const root = () =>
    cli(['cut', '--release', release, '--arch', arch, '--cache-dir', cache, '--offline', '--quiet', '--root', rootOut, ...slices]);
  await root();
  await discard(rootOut, work);

  log(`python-web: ${runs} rebuilds after one app file changed, ${runs} warm --root cuts of ${slices.join(' ')}`);
  const rebuildRuns: number[] = [];
  const rootRuns: number[] = [];
  let layers = 0;
  let oneLayerCompressed = true;
  for (let i = 0; i < runs; i++) {
    await fs.writeFile(main, `${source}\n# bench rebuild ${i}\n`);
    const b = await build(['--offline']);
    rebuildRuns.push(Math.round(b.ms));
    const ls = (JSON.parse(b.stdout) as BuildReport).image.manifests[0]!.layers;
    layers = ls.length;
    if (ls.filter((l) => !l.cached).length !== 1) oneLayerCompressed = false;
    const r = await root();
    rootRuns.push(Math.round(r.ms));
    await discard(rootOut, work);
  }
  await discard(cache, work);
  return { rebuildMs: median(rebuildRuns), rebuildRuns, rootMs: median(rootRuns), rootRuns, layers, oneLayerCompressed };
}
