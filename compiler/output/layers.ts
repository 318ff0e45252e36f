// Layering: the tree of an image split into ordered layers, each a disjoint
// part of it. `single` (the default) is one layer of the whole tree. `set`
// gives each set of the release's `sets:` hierarchy that the request uses a
// layer, in dependency order (static, then the rest of base, then the rest
// of python3), then the requested slices that no set holds, then everything
// no slice shipped (the user's files, the non-root home, an SBOM) on top.
// A path is in the layer of the lowest set whose slices ship it; a
// package's dpkg metadata goes with its lowest slice; a hard-link group
// stays together. Directories are repeated as parents in every layer that
// needs them, with the tree's header (so the same bytes in each), and a
// layer's bytes depend only on its own content: two images that use the
// same set have the same layer for it.

import type { LayerTree } from './oci.js';
import { STATUS_DIR } from '../slicer/dpkgmeta.js';
import { select } from '../slicer/selection.js';
import type { Release } from '../release/model.js';
import type { Tree, TreeEntry } from '../tree/model.js';
import { ChiselError, ExitCode } from '../util/errors.js';

export const LAYER_STRATEGIES = ['single', 'set'] as const;
export type LayerStrategy = (typeof LAYER_STRATEGIES)[number];

export function parseLayerStrategy(v: string | undefined, where = '--layers'): LayerStrategy | undefined {
  if (v === undefined) return undefined;
  if ((LAYER_STRATEGIES as readonly string[]).includes(v)) return v as LayerStrategy;
  throw new ChiselError(`${where} ${JSON.stringify(v)}: expected one of ${LAYER_STRATEGIES.join(', ')}`, {
    code: 'usage',
    exitCode: ExitCode.USAGE,
    hint: 'single: one layer (the default); set: one layer per set of the release (static, base, python3, ...), your files on top',
  });
}

/** What the layering reads of one arch's build. */
export interface LayerInput {
  release: Release;
  arch: string;
  /** The request as given (slice keys and set names). */
  requested: string[];
  tree: Tree;
  /** Per package: its selected slices and the paths it shipped, with the slices that list each. */
  packages: Array<{ name: string; slices: string[]; shipped: Array<{ path: string; slices: string[] }> }>;
}

/** The sets the request uses (named, or members of a named set), dependencies first, ties by name. */
export function usedSets(release: Release, requested: string[]): string[] {
  const sets = release.sets ?? new Map<string, string[]>();
  const used = new Set<string>();
  const visit = (name: string): void => {
    if (!sets.has(name) || used.has(name)) return;
    used.add(name);
    for (const m of sets.get(name)!) visit(m);
  };
  for (const r of requested) visit(r);
  const deps = new Map([...used].map((s) => [s, sets.get(s)!.filter((m) => sets.has(m))]));
  const order: string[] = [];
  const done = new Set<string>();
  const names = [...used].sort();
  while (order.length < names.length) {
    const ready = names.find((s) => !done.has(s) && deps.get(s)!.every((d) => done.has(d)))!;
    done.add(ready);
    order.push(ready);
  }
  return order;
}

function parentsOf(p: string): string[] {
  const out: string[] = [];
  for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) out.push(p.slice(0, i));
  return out;
}

/** The layers of `input` by set, bottom first; empty layers are left out. */
export function layersBySet(input: LayerInput): LayerTree[] {
  const { release, arch } = input;
  // each selected slice: the index of the lowest layer that holds it
  const names: string[] = [];
  const sliceLayer = new Map<string, number>();
  for (const set of usedSets(release, input.requested)) {
    names.push(`chisel-ts layer: set ${set}`);
    for (const s of select(release, [set], arch).slices) {
      const key = `${s.package}_${s.name}`;
      if (!sliceLayer.has(key)) sliceLayer.set(key, names.length - 1);
    }
  }
  const rest = [...new Set(input.packages.flatMap((p) => p.slices.map((s) => `${p.name}_${s}`)))].filter((k) => !sliceLayer.has(k)).sort();
  const restLayer = names.length;
  names.push(`chisel-ts layer: slices ${rest.join(' ')}`);
  const topLayer = names.length;
  names.push('chisel-ts layer: files');
  for (const k of rest) sliceLayer.set(k, restLayer);
  const lowest = (slices: string[]) => Math.min(topLayer, ...slices.map((s) => sliceLayer.get(s) ?? topLayer));

  const of = new Map<string, number>();
  for (const pkg of input.packages) {
    for (const f of pkg.shipped) of.set(f.path, Math.min(of.get(f.path) ?? topLayer, lowest(f.slices)));
    const meta = lowest(pkg.slices.map((s) => `${pkg.name}_${s}`));
    for (const suffix of ['', '.md5sums']) of.set(`${STATUS_DIR}/${pkg.name}${suffix}`, meta);
  }
  // a hard-link group goes where its lowest member goes
  const byPath = new Map(input.tree.entries.map((e) => [e.path, e]));
  const groupLayer = new Map<string, number>();
  for (const e of input.tree.entries) {
    if (e.type !== 'hardlink') continue;
    const g = Math.min(groupLayer.get(e.link!) ?? of.get(e.link!) ?? topLayer, of.get(e.path) ?? topLayer);
    groupLayer.set(e.link!, g);
  }
  for (const e of input.tree.entries) {
    const primary = e.type === 'hardlink' ? e.link! : e.path;
    const g = groupLayer.get(primary);
    if (g !== undefined) of.set(e.path, g);
  }

  const members: Array<Set<string>> = names.map(() => new Set());
  for (const e of input.tree.entries) {
    const explicit = of.get(e.path);
    // a directory no slice shipped is placed by its children (below), or on top when it has none
    if (e.type === 'dir' && explicit === undefined) continue;
    const layer = explicit ?? topLayer;
    members[layer]!.add(e.path);
    for (const p of parentsOf(e.path)) members[layer]!.add(p);
  }
  for (const e of input.tree.entries) if (e.type === 'dir' && !members.some((m) => m.has(e.path))) members[topLayer]!.add(e.path);

  const layers: LayerTree[] = [];
  members.forEach((m, i) => {
    if (m.size === 0) return;
    const entries: TreeEntry[] = input.tree.entries.filter((e) => m.has(e.path));
    if (entries.length !== m.size) {
      const missing = [...m].filter((p) => !byPath.has(p));
      throw new Error(`layer ${names[i]}: parents not in the tree: ${missing.slice(0, 3).join(', ')}`);
    }
    layers.push({ tree: { entries }, createdBy: names[i]! });
  });
  return layers;
}
