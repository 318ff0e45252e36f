// The cut pipeline: release -> selection -> plan (resolved packages) ->
// fetched packages -> tree. Outputs (dir, tar, OCI) are written from the tree
// by compiler/output.

import type { ContentStore } from '../cache/store.js';
import type { Release } from '../release/model.js';
import { sortEntries, type Tree } from '../tree/model.js';
import { ChiselError } from '../util/errors.js';
import { buildTree, type BuiltTree } from './build.js';
import { addPackageMetadata } from './dpkgmeta.js';
import { collectClaims, wantedContent } from './claims.js';
import { generateManifests } from './manifest.js';
import { removeUntilMutate, runMutateScripts } from './mutate.js';
import { select, selectedPackages, type Selection } from './selection.js';
import { cachedListing, missingContent, unpackDeb, type DebListing } from './unpack.js';

/** What the cut needs to know about a package chosen from the archive. */
export interface ResolvedPackage {
  name: string;
  version: string;
  arch: string;
  archive: string;
  sha256: string;
  size: number;
  filename: string;
  suite?: string;
  component?: string;
}

/** The archive side of the cut (compiler/archive's ArchiveSet satisfies it). */
export interface PackageSource {
  resolve(pkg: string, pinnedArchive?: string): Promise<ResolvedPackage>;
  fetchDeb(p: ResolvedPackage): Promise<string>;
}

export type Ignore = 'unmaintained' | 'unstable';

export interface CutRequest {
  release: Release;
  slices: string[];
  arch: string;
  store: ContentStore;
  /** One per arch: where packages come from. */
  source: PackageSource;
  ignore?: Ignore[];
  now?: Date;
  /** Write /var/lib/dpkg/status.d (default true). */
  packageMetadata?: boolean;
  /** Packages pinned by a lockfile: name -> exact package to use. */
  pinned?: Map<string, ResolvedPackage>;
  onEvent?: (ev: CutEvent) => void;
}

export type CutEvent =
  | { kind: 'selected'; slice: string; reason: string }
  | { kind: 'resolved'; package: ResolvedPackage }
  | { kind: 'fetched'; package: string }
  | { kind: 'unpacked'; package: string; cached: boolean };

export interface CutResult {
  selection: Selection;
  packages: Map<string, { pkg: ResolvedPackage; listing: DebListing }>;
  built: BuiltTree;
  tree: Tree;
}

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
  const { release, store, source } = req;
  checkMaintenance(release, req.now ?? new Date(), req.ignore ?? []);
  const selection = select(release, req.slices, req.arch);
  for (const s of selection.slices) {
    const key = `${s.package}_${s.name}`;
    req.onEvent?.({ kind: 'selected', slice: key, reason: selection.reasons.get(key) ?? '' });
  }
  const names = selectedPackages(selection);
  const claims = collectClaims(selection);
  // Each package is fetched and unpacked as soon as it is resolved: the .debs
  // of one archive download while the index of another is still parsed.
  const packages = new Map<string, { pkg: ResolvedPackage; listing: DebListing }>();
  const settled = await Promise.allSettled(
    names.map(async (name) => {
      const pkg = req.pinned?.get(name) ?? (await source.resolve(name, release.packages.get(name)?.archive));
      req.onEvent?.({ kind: 'resolved', package: pkg });
      const label = `package ${pkg.name} ${pkg.version}`;
      let listing = await cachedListing(store, pkg.sha256);
      const cached = listing !== undefined;
      if (!cached) {
        await source.fetchDeb(pkg);
        req.onEvent?.({ kind: 'fetched', package: pkg.name });
        listing = await unpackDeb(store, pkg.sha256, label, { keep: wantedContent(claims.get(pkg.name) ?? [], pkg.name) });
      }
      req.onEvent?.({ kind: 'unpacked', package: pkg.name, cached });
      packages.set(pkg.name, { pkg, listing: listing! });
    }),
  );
  await store.settle();
  // The first failure in package order (not in time order), once nothing is left running.
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const listings = new Map([...packages].map(([n, v]) => [n, v.listing]));
  let built = await buildTree(claims, listings, store);
  // Content the store lacks (a listing cached by a cut of other slices, or
  // content that left the cache): unpack those packages again, keeping all.
  const missing = new Set(
    await missingContent(
      store,
      [...built.nodes.values()].flatMap((n) => (n.entry.sha256 ? [n.entry.sha256] : [])),
    ),
  );
  if (missing.size > 0) {
    for (const { pkg } of packages.values()) {
      const entry = packages.get(pkg.name)!;
      if (!entry.listing.entries.some((e) => e.sha256 && missing.has(e.sha256))) continue;
      await source.fetchDeb(pkg);
      entry.listing = await unpackDeb(store, pkg.sha256, `package ${pkg.name} ${pkg.version}`, { force: true });
      listings.set(pkg.name, entry.listing);
    }
    built = await buildTree(claims, listings, store);
  }
  await runMutateScripts(selection, built, store);
  removeUntilMutate(built);
  await generateManifests(
    selection,
    built,
    names.map((n) => packages.get(n)!.pkg).map((p) => ({ name: p.name, version: p.version, sha256: p.sha256, arch: p.arch })),
    store,
  );
  let tree: Tree = { entries: sortEntries([...built.nodes.values()].map((n) => n.entry)) };
  if (req.packageMetadata !== false) tree = await addPackageMetadata(tree, built, listings, store);
  return { selection, packages, built, tree };
}
