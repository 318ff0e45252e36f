// The cut: a planned selection and package choice (compiler/pipeline/plan.ts) ->
// fetched packages -> tree, and per package what it shipped, as plain data.
// Outputs (dir, tar, OCI) are written from the tree by compiler/output.

import type { ContentStore } from '../cache/store.js';
import type { ResolvedPackage } from '../archive/index.js';
import type { Release } from '../release/model.js';
import { contentSums, type Tree } from '../tree/model.js';
import { ChiselError } from '../util/errors.js';
import type { ShippedPath } from './build.js';
import type { Selection } from './selection.js';
import { cachedCut, cutKey, saveCut } from './cutcache.js';

export { damagedError } from './damaged.js';

/** What the cut needs to know about a package chosen from the archive (or pinned by a lockfile). */
export type { ResolvedPackage } from '../archive/index.js';
export type { ShippedPath } from './build.js';

/** The archive side of the cut (compiler/archive's ArchiveSet satisfies it). */
export interface PackageSource {
  resolve(pkg: string, pinnedArchive?: string): Promise<ResolvedPackage>;
  /** Download (unless cached) and verify a .deb; `onBytes` sees the bytes of the download so far (from 0 again on a retry). */
  fetchDeb(p: ResolvedPackage, onBytes?: (bytes: number) => void): Promise<string>;
}

export type Ignore = 'unmaintained' | 'unstable';

export interface CutRequest {
  /** The selection of the plan (compiler/pipeline/plan.ts). */
  selection: Selection;
  /** The package choice of the plan: one per package of the selection, in its order. */
  packages: ResolvedPackage[];
  store: ContentStore;
  /** One per arch: where the .debs come from. */
  source: Pick<PackageSource, 'fetchDeb'>;
  /** Write /var/lib/dpkg/status.d (default true). */
  packageMetadata?: boolean;
  /** Keep the setuid / setgid bits packages ship (as Chisel does); by default only those a slice asks for with `mode:`. */
  keepSetId?: boolean;
  /** Take no result from the cut cache (a cached one named damaged content). */
  fresh?: boolean;
  /** Only a cut from the cut cache (the pipeline's early cut, from a plan not yet confirmed): `NotCached` otherwise. */
  cachedOnly?: boolean;
  /**
   * The caller hashes the tree's contents before any output is published
   * (the pipeline does, or a lone root's write): a cached cut is then returned
   * unchecked, marked `cached`. Otherwise the cut checks them itself.
   */
  deferCheck?: boolean;
  onEvent?: (ev: CutEvent) => void;
}

export type CutEvent =
  | { kind: 'selected'; slice: string; reason: string }
  | { kind: 'resolved'; package: ResolvedPackage }
  /** Before any download: how many packages the cut unpacks, and the .debs (count, bytes) it downloads. */
  | { kind: 'planned'; packages: number; downloads: number; bytes: number }
  /** A download under way: the bytes of this package's .deb so far. */
  | { kind: 'downloading'; package: string; bytes: number }
  | { kind: 'fetched'; package: string; bytes: number }
  | { kind: 'unpacked'; package: string; cached: boolean }
  /** Cached content of these paths failed its hash: the package was unpacked again from its verified .deb. */
  | { kind: 'healed'; package: string; paths: string[] };

/** One package of the cut, as plain data. */
export interface CutPackage extends ResolvedPackage {
  /** Names of its slices in the selection. */
  slices: string[];
  /** The paths it shipped, in the order the cut placed them. */
  shipped: ShippedPath[];
  /** Its files with setuid / setgid bits: kept (a slice asked with `mode:`) or dropped. */
  setId: { kept: string[]; dropped: string[] };
  /** Its control paragraph, verbatim. */
  control: string;
  /** sha256 of its /usr/share/doc/<name>/copyright, when it has one. */
  copyright?: string;
}

export interface SetIdDropped {
  path: string;
  pkg: string;
  /** The mode the package ships. */
  mode: number;
}

export interface CutResult {
  selection: Selection;
  /** In the selection's package order. */
  packages: CutPackage[];
  /** Files whose setuid / setgid bits were dropped because no slice asked for them, in path order. */
  setIdDropped: SetIdDropped[];
  tree: Tree;
  /** Taken from the cut cache: a damaged content then means cutting afresh (`fresh`), which heals it. */
  cached?: boolean;
}

/** A cut asked `cachedOnly` that the cut cache does not hold. */
export class NotCached extends Error {}

export function checkMaintenance(release: Release, now: Date, ignore: Ignore[]): void {
  const m = release.maintenance;
  if (!m) return;
  const today = now.toISOString().slice(0, 10);
  if (today < m.standard && !ignore.includes('unstable')) {
    throw new ChiselError(`release ${release.dir} is unstable until ${m.standard}`, {
      code: 'unstable',
      hint: 'pass --ignore=unstable to cut it anyway',
    });
  }
  const end = m.expanded ?? m.endOfLife;
  if (today > end && !ignore.includes('unmaintained')) {
    throw new ChiselError(`release ${release.dir} is unmaintained since ${end}`, {
      code: 'unmaintained',
      hint: 'pass --ignore=unmaintained to cut it anyway',
    });
  }
}

export async function cut(req: CutRequest): Promise<CutResult> {
  const key = cutKey(req);
  if (key && !req.fresh) {
    const hit = await fromCache(req, key);
    if (hit) return hit;
  }
  if (req.cachedOnly) throw new NotCached('the cut cache holds no cut of these inputs');
  // the packages' side (listings, unpacking, the tree's rules, mutate scripts) is loaded only when a cut is not cached
  const result = await (await import('./fresh.js')).cutFresh(req);
  if (key) saveCut(req.store, key, result);
  return result;
}

/**
 * A cut taken from the cut cache, once every content of its tree is there and
 * passes its hash (undefined otherwise: the cut is done afresh, healing what
 * is missing), or unchecked with `deferCheck`. Its events are a fresh cut's
 * with every package cached.
 */
async function fromCache(req: CutRequest, key: string): Promise<CutResult | undefined> {
  const hit = await cachedCut(req, key);
  if (!hit) return undefined;
  if (!req.deferCheck && (await req.store.checkContents(contentSums(hit.tree))).length > 0) return undefined;
  req.onEvent?.({ kind: 'planned', packages: req.packages.length, downloads: 0, bytes: 0 });
  for (const pkg of req.packages) {
    req.store.touchMeta('deb-listing', pkg.sha256); // the package's last use, for cache prune
    req.onEvent?.({ kind: 'unpacked', package: pkg.name, cached: true });
  }
  return hit;
}
