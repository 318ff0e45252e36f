// Layering: the tree of an image split into ordered layers, each a disjoint
// part of it. `single` (the default) is one layer of the whole tree.
// `package:N` gives the largest packages a layer each (at most N layers in
// all), the other packages one layer, the files no package shipped the top
// one. `set`
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

/** containerd (and so Docker and Kubernetes nodes) refuses images of more layers than this. */
export const MAX_LAYERS = 127;

export const LAYER_STRATEGIES = ['single', 'set', 'package'] as const;
/** single, set, package (at most DEFAULT_PACKAGE_LAYERS layers) or package:N (at most N). */
export type LayerStrategy = 'single' | 'set' | 'package' | `package:${number}`;
export const DEFAULT_PACKAGE_LAYERS = 16;

export function parseLayerStrategy(v: string | undefined, where = '--layers'): LayerStrategy | undefined {
  if (v === undefined) return undefined;
  const budget = /^package:(\d{1,3})$/.exec(v);
  if ((LAYER_STRATEGIES as readonly string[]).includes(v) || (budget && Number(budget[1]) >= 2 && Number(budget[1]) <= MAX_LAYERS))
    return v as LayerStrategy;
  throw new ChiselError(`${where} ${JSON.stringify(v)}: expected one of single, set, package, package:N (N from 2 to ${MAX_LAYERS})`, {
    code: 'usage',
    exitCode: ExitCode.USAGE,
    hint: 'single: one layer (the default); set: one layer per set of the release (static, base, python3, ...); package:N: the largest packages in their own layers, at most N layers; your files always on top',
  });
}

/** The layers of `input` by `strategy` (undefined: one layer). */
export function layersOf(strategy: LayerStrategy | undefined, input: LayerInput): LayerTree[] | undefined {
  if (!strategy || strategy === 'single') return undefined;
  if (strategy === 'set') return layersBySet(input);
  return layersByPackage(input, strategy === 'package' ? DEFAULT_PACKAGE_LAYERS : Number(strategy.slice('package:'.length)));
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
  return splitTree(input.tree, of, names);
}

/**
 * The layers of `input` by package under a budget of `max` layers: the
 * largest packages (by the bytes they ship) get a layer each, in the cut's
 * package order, the others share one layer, and the files no package
 * shipped are on top.
 */
export function layersByPackage(input: LayerInput, max: number): LayerTree[] {
  const sizes = new Map<string, number>();
  const byPath = new Map(input.tree.entries.map((e) => [e.path, e]));
  for (const pkg of input.packages)
    sizes.set(
      pkg.name,
      pkg.shipped.reduce((n, f) => n + (byPath.get(f.path)?.size ?? 0), 0),
    );
  const own = new Set(
    [...sizes]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, Math.max(0, max - 2))
      .map(([name]) => name),
  );
  const names: string[] = [];
  const layerOf = new Map<string, number>();
  for (const pkg of input.packages)
    if (own.has(pkg.name)) {
      layerOf.set(pkg.name, names.length);
      names.push(`chisel-ts layer: package ${pkg.name}`);
    }
  const rest = input.packages.filter((p) => !own.has(p.name)).map((p) => p.name);
  const restLayer = names.length;
  names.push(`chisel-ts layer: packages ${rest.join(' ')}`);
  const topLayer = names.length;
  names.push('chisel-ts layer: files');
  const of = new Map<string, number>();
  for (const pkg of input.packages) {
    const layer = layerOf.get(pkg.name) ?? restLayer;
    for (const f of pkg.shipped) of.set(f.path, Math.min(of.get(f.path) ?? topLayer, layer));
    for (const suffix of ['', '.md5sums']) of.set(`${STATUS_DIR}/${pkg.name}${suffix}`, layer);
  }
  return splitTree(input.tree, of, names);
}

/**
 * `tree` split into the layers `names` (bottom first) by `of` (path -> layer;
 * absent: the top layer): a hard-link group goes where its lowest member
 * goes, a directory is repeated as a parent wherever it is needed, and one no
 * entry needs goes on top. Empty layers are left out.
 */
function splitTree(tree: Tree, of: Map<string, number>, names: string[]): LayerTree[] {
  const topLayer = names.length - 1;
  const byPath = new Map(tree.entries.map((e) => [e.path, e]));
  const groupLayer = new Map<string, number>();
  for (const e of tree.entries) {
    if (e.type !== 'hardlink') continue;
    const g = Math.min(groupLayer.get(e.link!) ?? of.get(e.link!) ?? topLayer, of.get(e.path) ?? topLayer);
    groupLayer.set(e.link!, g);
  }
  const place = new Map(of);
  for (const e of tree.entries) {
    const g = groupLayer.get(e.type === 'hardlink' ? e.link! : e.path);
    if (g !== undefined) place.set(e.path, g);
  }

  const members: Array<Set<string>> = names.map(() => new Set());
  for (const e of tree.entries) {
    const explicit = place.get(e.path);
    // a directory no package shipped is placed by its children (below), or on top when it has none
    if (e.type === 'dir' && explicit === undefined) continue;
    const layer = explicit ?? topLayer;
    members[layer]!.add(e.path);
    for (const p of parentsOf(e.path)) members[layer]!.add(p);
  }
  for (const e of tree.entries) if (e.type === 'dir' && !members.some((m) => m.has(e.path))) members[topLayer]!.add(e.path);

  const layers: LayerTree[] = [];
  members.forEach((m, i) => {
    if (m.size === 0) return;
    const entries: TreeEntry[] = tree.entries.filter((e) => m.has(e.path));
    if (entries.length !== m.size) {
      const missing = [...m].filter((p) => !byPath.has(p));
      throw new Error(`layer ${names[i]}: parents not in the tree: ${missing.slice(0, 3).join(', ')}`);
    }
    layers.push({ tree: { entries }, createdBy: names[i]! });
  });
  return layers;
}
