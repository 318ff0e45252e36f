// The results of cuts, by their inputs: the same release files, slices, arch,
// packages (by .deb sha256), options and code give the same tree, so a warm
// cut of a selection cut before takes its tree from here instead of building
// it again from the packages' listings. The content it names is hashed before
// use like any other (a missing or damaged one: the cut is done afresh, and
// heals the cache). One sealed JSON entry per key in meta/cut/.

import type { PackedAt, ContentStore } from '../cache/store.js';
import type { ResolvedPackage } from '../archive/index.js';
import { sha256Hex } from '../cache/store.js';
import type { Tree } from '../tree/model.js';
import { codeId } from '../util/codeid.js';
import type { CutPackage, CutRequest, CutResult } from './cut.js';

const KIND = 'cut';
/** The entry's own format (the key changes with the code anyway). */
const FORMAT = 1;

interface CachedCut {
  v: number;
  tree: Tree;
  /** What the cut found per package, in the request's package order (the package itself comes from the request). */
  packages: Array<Omit<CutPackage, keyof ResolvedPackage>>;
  setIdDropped: CutResult['setIdDropped'];
  /** Where the tree's packed contents are (the listings say so on a fresh cut; a cached cut reads no listing). */
  packed: Array<[string, PackedAt]>;
}

/** The key of a cut's result, or undefined when its inputs cannot be named (a release without a digest, code of unknown identity). */
export function cutKey(req: CutRequest): string | undefined {
  const { selection } = req;
  const code = codeId();
  if (!selection.release.digest || !code) return undefined;
  return sha256Hex(
    JSON.stringify({
      format: FORMAT,
      code,
      release: selection.release.digest,
      arch: selection.arch,
      slices: selection.slices.map((s) => `${s.package}_${s.name}`),
      packages: req.packages.map((p) => [p.name, p.version, p.arch, p.sha256]),
      packageMetadata: req.packageMetadata !== false,
      keepSetId: Boolean(req.keepSetId),
    }),
  );
}

/** The cached result of the cut `key`, its contents registered with the store; undefined when there is none. */
export async function cachedCut(req: CutRequest, key: string): Promise<CutResult | undefined> {
  const c = await req.store.getMeta<CachedCut>(KIND, key);
  if (c?.v !== FORMAT || c.packages.length !== req.packages.length) return undefined;
  for (const [sha, at] of c.packed) req.store.registerPacked(sha, at);
  req.store.touchMeta(KIND, key);
  return {
    selection: req.selection,
    packages: req.packages.map((pkg, i) => ({ ...pkg, ...c.packages[i]! })),
    setIdDropped: c.setIdDropped,
    tree: c.tree,
    cached: true,
  };
}

/** Records the result of the cut `key` (in the background: it only saves the next cut's work). */
export function saveCut(store: ContentStore, key: string, result: CutResult): void {
  const packed: Array<[string, PackedAt]> = [];
  const seen = new Set<string>();
  for (const e of result.tree.entries) {
    if (!e.sha256 || seen.has(e.sha256)) continue;
    seen.add(e.sha256);
    const at = store.packedAt(e.sha256);
    if (at) packed.push([e.sha256, at]);
  }
  const entry: CachedCut = {
    v: FORMAT,
    tree: result.tree,
    packages: result.packages.map(({ slices, shipped, setId, control, copyright }) => ({
      slices,
      shipped,
      setId,
      control,
      ...(copyright !== undefined ? { copyright } : {}),
    })),
    setIdDropped: result.setIdDropped,
    packed,
  };
  store.putMetaLater(KIND, key, entry);
}
