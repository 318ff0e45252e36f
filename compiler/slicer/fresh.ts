// A cut done from the packages (compiler/slicer/cut.ts takes a cached one
// when it can): fetched packages -> their listings -> the tree, with the
// mutate scripts, keystores, manifests and dpkg metadata; damaged cached
// content healed from the packages.

import type { ResolvedPackage } from '../archive/index.js';
import { sortEntries, type Tree } from '../tree/model.js';
import { buildTree, shippedPaths, type BuiltTree, type ShippedPath } from './build.js';
import { collectClaims, wantedContent, type Claim } from './claims.js';
import type { CutPackage, CutRequest, CutResult } from './cut.js';
import { damagedError } from './damaged.js';
import { addPackageMetadata } from './dpkgmeta.js';
import { writeKeystores } from './keystores.js';
import { generateManifests } from './manifest.js';
import { removeUntilMutate, runMutateScripts } from './mutate.js';
import type { Selection } from './selection.js';
import { cachedListing, unpackDeb, type DebListing } from './unpack.js';

export async function cutFresh(req: CutRequest): Promise<CutResult> {
  const { selection, store } = req;
  const claims = collectClaims(selection);
  const listings = await fetchAndUnpack(req, claims);
  const built = await buildTree(claims, listings, store, { keepSetId: Boolean(req.keepSetId) });
  // Every content the tree takes is hashed before anything reads it (once
  // per process: content this process wrote is known good). Content the
  // store lacks (a listing cached by a cut of other slices, or content that
  // left the cache) or that fails its hash (a damaged cache): those packages
  // are unpacked again from their verified .deb (fetched again when needed).
  // The listing (paths, sha256s) stays the same, so the tree does too.
  const bad = await store.checkContents(treeContents(built));
  if (bad.length > 0) await healContent(req, listings, built, bad);
  await runMutateScripts(selection, built, store);
  await writeKeystores(selection, built, store);
  removeUntilMutate(built);
  await generateManifests(
    selection,
    built,
    req.packages.map((p) => ({ name: p.name, version: p.version, sha256: p.sha256, arch: p.arch })),
    store,
  );
  const shipped = shippedPaths(built);
  let tree: Tree = { entries: sortEntries([...built.nodes.values()].map((n) => n.entry)) };
  if (req.packageMetadata !== false) tree = await addPackageMetadata(tree, shipped, listings, store);
  return {
    selection,
    packages: req.packages.map((pkg) => cutPackage(pkg, selection, shipped.get(pkg.name) ?? [], built, listings.get(pkg.name)!)),
    setIdDropped: built.setIdDropped,
    tree,
  };
}

function treeContents(built: BuiltTree): string[] {
  return [...built.nodes.values()].flatMap((n) => (n.entry.sha256 ? [n.entry.sha256] : []));
}

/**
 * Restores the content of `bad` (missing or damaged): a damaged blob is
 * dropped, and each package that holds one is unpacked again from its .deb
 * (fetchDeb hashes a cached .deb and fetches it again when it is damaged or
 * gone). A damaged file is reported (a 'healed' event); content that is still
 * wrong afterwards fails the cut, naming the file.
 */
async function healContent(req: CutRequest, listings: Map<string, DebListing>, built: BuiltTree, bad: string[]): Promise<void> {
  const { store, source } = req;
  const damaged = new Set<string>();
  for (const sum of bad) if (await store.hasContent(sum)) damaged.add(sum);
  // what goes with a damaged blob (the rest of its pack) is missing too
  const badSet = new Set(bad);
  for (const sum of damaged) for (const s of await store.dropContent(sum)) badSet.add(s);
  const paths = pathsOf(built, badSet);
  for (const pkg of req.packages) {
    const listing = listings.get(pkg.name)!;
    const held = listing.entries.filter((e) => e.sha256 && badSet.has(e.sha256));
    if (held.length === 0) continue;
    const broken = [...new Set(held.filter((e) => damaged.has(e.sha256!)).flatMap((e) => paths.get(e.sha256!) ?? [e.path]))];
    try {
      await source.fetchDeb(pkg);
    } catch (e) {
      if (broken.length === 0) throw e;
      throw damagedError(broken, e);
    }
    listings.set(pkg.name, await unpackDeb(store, pkg.sha256, `package ${pkg.name} ${pkg.version}`, { force: true }));
    if (broken.length) req.onEvent?.({ kind: 'healed', package: pkg.name, paths: broken });
  }
  const still = await store.checkContents([...badSet].filter((s) => paths.has(s)));
  if (still.length > 0) throw damagedError([...new Set(still.flatMap((s) => paths.get(s) ?? [s]))]);
}

/** The tree paths of each content of `sums`. */
function pathsOf(built: BuiltTree, sums: Set<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of built.nodes.values()) {
    const s = n.entry.sha256;
    if (s && sums.has(s)) out.set(s, [...(out.get(s) ?? []), n.entry.path]);
  }
  return out;
}

/** Each package is fetched (unless its listing is cached) and unpacked; the .debs download side by side. */
async function fetchAndUnpack(req: CutRequest, claims: Map<string, Claim[]>): Promise<Map<string, DebListing>> {
  const { store, source } = req;
  const listings = new Map<string, DebListing>();
  // which packages are cached first, so the totals are known before anything downloads
  const cachedListings = await Promise.all(req.packages.map((pkg) => cachedListing(store, pkg.sha256)));
  const toFetch = req.packages.filter((_, i) => cachedListings[i] === undefined);
  req.onEvent?.({
    kind: 'planned',
    packages: req.packages.length,
    downloads: toFetch.length,
    bytes: toFetch.reduce((n, p) => n + p.size, 0),
  });
  const settled = await Promise.allSettled(
    req.packages.map(async (pkg, i) => {
      const label = `package ${pkg.name} ${pkg.version}`;
      let listing = cachedListings[i];
      const cached = listing !== undefined;
      if (!cached) {
        await source.fetchDeb(pkg, (bytes) => req.onEvent?.({ kind: 'downloading', package: pkg.name, bytes }));
        req.onEvent?.({ kind: 'fetched', package: pkg.name, bytes: pkg.size });
        listing = await unpackDeb(store, pkg.sha256, label, { keep: wantedContent(claims.get(pkg.name) ?? [], pkg.name) });
      }
      if (cached) store.touchMeta('deb-listing', pkg.sha256); // the package's last use, for cache prune
      req.onEvent?.({ kind: 'unpacked', package: pkg.name, cached });
      listings.set(pkg.name, listing!);
    }),
  );
  await store.settle();
  // The first failure in package order (not in time order), once nothing is left running.
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return listings;
}

function cutPackage(pkg: ResolvedPackage, selection: Selection, shipped: ShippedPath[], built: BuiltTree, listing: DebListing): CutPackage {
  const copyright = listing.entries.find((e) => e.path === `/usr/share/doc/${pkg.name}/copyright` && e.sha256);
  const dropped = built.setIdDropped.filter((d) => d.pkg === pkg.name).map((d) => d.path);
  const kept = shipped.filter((f) => f.type === 'file' && f.mode & 0o6000).map((f) => f.path);
  return {
    ...pkg,
    slices: selection.slices.filter((s) => s.package === pkg.name).map((s) => s.name),
    shipped,
    setId: { kept, dropped: [...new Set(dropped)] },
    control: listing.control,
    ...(copyright ? { copyright: copyright.sha256! } : {}),
  };
}
