// Lock stage: from a build's inputs and results to a Lockfile, and back from a
// Lockfile to the packages a `--locked` build must use; comparisons between
// a lock and the present (inputs, outputs) and between two locks.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ResolvedPackage } from '../archive/index.js';
import type { ContentStore } from '../cache/store.js';
import type { Release } from '../release/model.js';
import { releaseInputFiles } from '../release/layers.js';
import { addFiles, type AddFiles } from '../context/addfiles.js';
import type { Tree } from '../tree/model.js';
import { LOCKFILE_VERSION, sha256Of, type LockArchive, type LockInputs, type Lockfile, type LockPackage } from './lockfile.js';

export * from './lockfile.js';
export { diffLocks, formatLockDiff, markdownLockDiff, type ChangedPackage, type LockDiff } from './diff.js';

function sortedObject(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedObject);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortedObject((v as Record<string, unknown>)[k])]),
    );
  return v;
}

/** The release's name as the lock records it: a shipped name, or the directory's base name. */
export function releaseName(release: Release): string {
  return path.basename(release.dir);
}

/** What a lock's inputs are made of, as plain data (compiler/build maps a build spec and its plan to it). */
export interface LockSubject {
  release: Release;
  slices: string[];
  archs: string[];
  /** The packages the selections use (any arch). */
  packages: Iterable<string>;
  image: {
    /** "name:tag" or "tag". */
    tag: string;
    compression: string;
    nonroot: boolean;
    packageMetadata: boolean;
    keepSetId: boolean;
    /** The effective image configuration. */
    config: object;
    /** Files an image file adds (`files:`). */
    files?: AddFiles[];
    /** The SBOM format put in the image, or "none". */
    sbomInImage: string;
    /** The layering strategy (single when absent). */
    layers?: string;
  };
  epoch: number;
  store: ContentStore;
}

/** Digests of everything that decides the result. The release counts only by the files the selection uses (and every layer's chisel.yaml). */
export async function lockInputs(subject: LockSubject): Promise<LockInputs> {
  const { release } = subject;
  // An overlay's digest covers every layer's chisel.yaml and the package files used, whichever layer has them.
  const files = releaseInputFiles(release, subject.packages);
  const lines: string[] = [];
  for (const f of files) lines.push(`${f.name} ${sha256Of(await fs.readFile(f.file))}\n`);
  const { files: added, config, ...image } = subject.image;
  const core = {
    release: { name: releaseName(release), digest: sha256Of(lines.join('')), files: files.length },
    slices: [...subject.slices],
    archs: [...subject.archs],
    image: {
      tag: image.tag,
      compression: image.compression,
      nonroot: image.nonroot,
      packageMetadata: image.packageMetadata,
      ...(image.keepSetId ? { keepSetId: true as const } : {}),
      config: sortedObject(config) as Record<string, unknown>,
      files: await filesDigest(added, subject.store),
      sbomInImage: image.sbomInImage,
      // recorded only when layered, so the locks of single-layer images keep their digest
      ...(image.layers && image.layers !== 'single' ? { layers: image.layers } : {}),
    },
    sourceDateEpoch: subject.epoch,
  };
  return { digest: sha256Of(JSON.stringify(core)), ...core };
}

/** A digest of the files an image file adds (`files:`), or "none". */
async function filesDigest(files: AddFiles[] | undefined, store: ContentStore): Promise<string> {
  if (!files?.length) return 'none';
  const added = await addFiles({ entries: [] }, files, store);
  return sha256Of(
    added.entries.map((e) => `${e.path} ${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.sha256 ?? e.link ?? ''}\n`).join(''),
  );
}

/** What changed between the inputs a lock was made from and the present ones. */
export function inputChanges(locked: LockInputs, now: LockInputs): string[] {
  const out: string[] = [];
  if (locked.release.name !== now.release.name)
    out.push(`the release is ${now.release.name}, the lock was made for ${locked.release.name}`);
  else if (locked.release.digest !== now.release.digest)
    out.push(`the release definitions of ${now.release.name} changed (chisel.yaml or a slice file the selection uses)`);
  const list = (a: string[]) => a.join(', ');
  if (list(locked.slices) !== list(now.slices))
    out.push(`the requested slices are [${list(now.slices)}], the lock has [${list(locked.slices)}]`);
  if (list(locked.archs) !== list(now.archs)) out.push(`the architectures are [${list(now.archs)}], the lock has [${list(locked.archs)}]`);
  for (const k of ['tag', 'compression', 'nonroot', 'packageMetadata', 'keepSetId', 'files', 'sbomInImage', 'layers'] as const) {
    if (JSON.stringify(locked.image[k] ?? false) !== JSON.stringify(now.image[k] ?? false))
      out.push(`${k} is ${JSON.stringify(now.image[k] ?? false)}, the lock has ${JSON.stringify(locked.image[k] ?? false)}`);
  }
  if (JSON.stringify(locked.image.config) !== JSON.stringify(now.image.config))
    out.push(`the image configuration changed: ${JSON.stringify(now.image.config)}, the lock has ${JSON.stringify(locked.image.config)}`);
  if (locked.sourceDateEpoch !== now.sourceDateEpoch)
    out.push(`SOURCE_DATE_EPOCH is ${now.sourceDateEpoch}, the lock has ${locked.sourceDateEpoch}`);
  return out;
}

/** A digest of what one package put into the tree: its explicit entries, sorted. */
function packageContents(tree: Tree, owned: Set<string>): LockPackage['contents'] {
  let files = 0;
  let bytes = 0;
  const lines: string[] = [];
  for (const e of tree.entries) {
    if (!owned.has(e.path)) continue;
    if (e.type === 'file') {
      files++;
      bytes += e.size;
    }
    lines.push(`${e.path} ${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.size} ${e.sha256 ?? e.link ?? ''}\n`);
  }
  return { files, bytes, digest: sha256Of(lines.join('')) };
}

/** The image digests a lock records and checks (compiler/output's LayoutResult has them). */
export interface LockImage {
  top: { digest: string };
  images: Array<{
    arch: string;
    chainId: string;
    manifest: { digest: string };
    layers: Array<{ diffId: string; desc: { digest: string } }>;
  }>;
}

/** What a lock records of a build, as plain data: per arch the InRelease files read, the packages cut and the tree; the image digests. */
export interface LockBuild {
  archs: Array<{
    archives: Array<{ archive: string; suite: string; date: string; sha256: string }>;
    packages: Array<ResolvedPackage & { slices: string[]; shipped: Array<{ path: string }> }>;
    tree: Tree;
  }>;
  image?: LockImage;
}

export function lockFromBuild(inputs: LockInputs, result: LockBuild): Omit<Lockfile, 'integrity'> {
  const image = result.image;
  if (!image) throw new Error('lockFromBuild needs the image digests (build with digests: true)');
  const archives = new Map<string, LockArchive>();
  const packages = new Map<string, LockPackage>();
  for (const a of result.archs) {
    for (const r of a.archives)
      archives.set(`${r.archive}\0${r.suite}`, { name: r.archive, suite: r.suite, date: r.date, inRelease: `sha256:${r.sha256}` });
    for (const pkg of a.packages) {
      const key = `${pkg.name}\0${pkg.arch}`;
      if (packages.has(key)) continue;
      packages.set(key, {
        name: pkg.name,
        version: pkg.version,
        arch: pkg.arch,
        archive: pkg.archive,
        filename: pkg.filename,
        size: pkg.size,
        sha256: pkg.sha256,
        slices: [...pkg.slices],
        contents: packageContents(a.tree, new Set(pkg.shipped.map((f) => f.path))),
      });
    }
  }
  return {
    lockfileVersion: LOCKFILE_VERSION,
    inputs,
    archives: [...archives.values()],
    packages: [...packages.values()],
    outputs: {
      archs: Object.fromEntries(
        image.images.map((i) => [
          i.arch,
          {
            rootfs: `sha256:${i.chainId}`,
            manifest: i.manifest.digest,
            // a layered image: every layer, bottom first
            ...(i.layers.length > 1 ? { layers: i.layers.map((l) => ({ diffId: `sha256:${l.diffId}`, digest: l.desc.digest })) } : {}),
          },
        ]),
      ),
      image: image.top.digest,
    },
  };
}

/** The packages each arch must use: the lock's, exactly. */
export function pinnedFromLock(lock: Lockfile): Map<string, Map<string, ResolvedPackage>> {
  const out = new Map<string, Map<string, ResolvedPackage>>();
  for (const arch of lock.inputs.archs) {
    const m = new Map<string, ResolvedPackage>();
    for (const p of lock.packages) {
      if (p.arch !== arch && p.arch !== 'all') continue;
      m.set(p.name, {
        name: p.name,
        version: p.version,
        arch: p.arch,
        archive: p.archive,
        sha256: p.sha256,
        size: p.size,
        filename: p.filename,
      });
    }
    out.set(arch, m);
  }
  return out;
}

/** Output digests that differ from the lock's. */
export function outputChanges(lock: Lockfile, image: LockImage): string[] {
  const out: string[] = [];
  for (const i of image.images) {
    const want = lock.outputs.archs[i.arch];
    if (!want) continue;
    if (want.rootfs !== `sha256:${i.chainId}`) out.push(`${i.arch} rootfs is sha256:${i.chainId}, the lock says ${want.rootfs}`);
    if (want.manifest !== i.manifest.digest) out.push(`${i.arch} image manifest is ${i.manifest.digest}, the lock says ${want.manifest}`);
  }
  if (out.length === 0 && lock.outputs.image !== image.top.digest)
    out.push(`image is ${image.top.digest}, the lock says ${lock.outputs.image}`);
  return out;
}
