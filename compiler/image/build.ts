// The whole build, as one explicit pipeline, shared by `cut` (flags) and
// `build` (an image file): release -> per arch: archives -> cut -> tree ->
// outputs (dir | tar | OCI layout | OCI archive) -> push.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openArchives, type UsedInRelease } from '../archive/index.js';
import type { ContentStore } from '../cache/store.js';
import { sourceDateEpoch, writeDir } from '../output/dir.js';
import type { OutputCompression as Compression } from '../output/compression.js';
import type { ImageConfig, LayoutResult, PlatformTree } from '../output/oci.js';
import type { PushResult } from '../registry/push.js';
import { splitTag } from '../registry/reference.js';
import type { WrittenBlob } from '../output/tar.js';
import type { Release } from '../release/model.js';
import { cut, type CutEvent, type CutResult, type Ignore, type PackageSource, type ResolvedPackage } from '../slicer/cut.js';
import { addFiles, type AddFiles } from '../tree/addfiles.js';
import { ensureDir } from '../tree/edit.js';
import { sortEntries, type Tree, type TreeEntry } from '../tree/model.js';
import type { SbomFormat } from '../sbom/index.js';

import { ChiselError, ExitCode } from '../util/errors.js';
import { releaseTemp, trackTemp, writeFileAtomic } from '../util/tempfiles.js';

export const NONROOT = { uid: 65532, gid: 65532, home: '/home/nonroot' };

export interface Outputs {
  root?: string;
  tar?: string;
  oci?: string;
  ociArchive?: string;
  push?: string;
}

export interface BuildSpec {
  release: Release;
  slices: string[];
  archs: string[];
  outputs: Outputs;
  /** Image reference: "name:tag" or "tag" (default "latest"). */
  tag?: string;
  compression?: Compression;
  config?: ImageConfig;
  nonroot?: boolean;
  /** SBOM of the build: written to `file` (with the image digest), and/or put in the image. */
  sbom?: { file?: string; format: SbomFormat; inImage?: boolean };
  /** Files from the build context added on top of the slices (image file `files:`). */
  files?: AddFiles[];
  /** dpkg status.d metadata in the tree (default true). */
  packageMetadata?: boolean;
  /** Seconds since the epoch for every time in the outputs (default SOURCE_DATE_EPOCH or 0). */
  epoch?: number;
  store: ContentStore;
  offline?: boolean;
  urlOverrides?: Map<string, string>;
  ignore?: Ignore[];
  insecure?: boolean;
  /** Packages pinned per arch (lockfile): arch -> name -> package. */
  pinned?: Map<string, Map<string, ResolvedPackage>>;
  /** Compute the image digests (result.image) even without an image output. */
  digests?: boolean;
  /** Called with the result before any output is written; throw to write nothing. */
  verify?: (result: BuildResult) => void;
  onEvent?: (arch: string, ev: CutEvent) => void;
  log?: (msg: string) => void;
}

export interface ArchBuild {
  arch: string;
  cut: CutResult;
  tree: Tree;
  /** The InRelease files the package choice read (none when every package was pinned). */
  archives: UsedInRelease[];
}

export interface BuildResult {
  epoch: number;
  archs: ArchBuild[];
  tar?: WrittenBlob;
  oci?: LayoutResult;
  ociArchive?: LayoutResult;
  push?: PushResult;
  /** The image's digests: from --oci / --oci-archive, or computed on the side (spec.digests). */
  image?: LayoutResult;
  config: ImageConfig;
}

export function wantsImage(o: Outputs): boolean {
  return Boolean(o.oci || o.ociArchive || o.push);
}

export function checkOutputs(spec: Pick<BuildSpec, 'outputs' | 'archs'>): void {
  const o = spec.outputs;
  if (!o.root && !o.tar && !wantsImage(o)) {
    throw new ChiselError('nothing to write: give at least one output', {
      code: 'usage',
      exitCode: ExitCode.USAGE,
      hint: 'use --root DIR, --tar FILE, --oci DIR, --oci-archive FILE or --push REGISTRY/REPO:TAG',
    });
  }
  if (spec.archs.length === 0) throw new ChiselError('no architecture given', { code: 'usage', exitCode: ExitCode.USAGE });
  if (new Set(spec.archs).size !== spec.archs.length)
    throw new ChiselError(`an architecture is listed twice: ${spec.archs.join(',')}`, { code: 'usage', exitCode: ExitCode.USAGE });
  if (spec.archs.length > 1 && (o.root || o.tar)) {
    throw new ChiselError(`--root and --tar hold one architecture, but ${spec.archs.length} were asked (${spec.archs.join(', ')})`, {
      code: 'usage',
      exitCode: ExitCode.USAGE,
      hint: 'use --oci, --oci-archive or --push for a multi-arch image, or cut each arch separately',
    });
  }
}

/** The image configuration with the non-root defaults applied. */
export function effectiveConfig(spec: Pick<BuildSpec, 'config' | 'nonroot'>): ImageConfig {
  const c: ImageConfig = { ...(spec.config ?? {}) };
  if (spec.nonroot) {
    c.user ??= `${NONROOT.uid}:${NONROOT.gid}`;
    c.workdir ??= NONROOT.home;
  }
  return c;
}

export async function build(spec: BuildSpec): Promise<BuildResult> {
  // A build for its digests only (chisel-ts lock) writes nothing.
  if (!spec.digests || Object.keys(spec.outputs).length > 0) checkOutputs(spec);
  const epoch = spec.epoch ?? sourceDateEpoch();
  const config = effectiveConfig(spec);
  const archs: ArchBuild[] = [];
  for (const arch of spec.archs) {
    const source = await openArchives(spec.release, arch, {
      store: spec.store,
      offline: Boolean(spec.offline),
      urlOverrides: spec.urlOverrides ?? new Map(),
    });
    const pinned = spec.pinned?.get(arch);
    const result = await cut({
      release: spec.release,
      slices: spec.slices,
      arch,
      store: spec.store,
      source: pinned ? pinnedSource(source, spec.store) : source,
      ignore: spec.ignore ?? [],
      packageMetadata: spec.packageMetadata ?? true,
      ...(spec.pinned?.get(arch) ? { pinned: spec.pinned.get(arch)! } : {}),
      onEvent: (ev) => spec.onEvent?.(arch, ev),
    });
    let tree = result.tree;
    if (spec.nonroot) tree = ensureDir(tree, NONROOT.home, 0o700, NONROOT.uid, NONROOT.gid);
    if (spec.files?.length) tree = await addFiles(tree, spec.files, spec.store);
    archs.push({ arch, cut: result, tree, archives: source.inReleases() });
  }
  if (spec.sbom?.inImage) {
    for (const a of archs) {
      const doc = Buffer.from(
        (await sbomModule()).sbomDocument(
          await (await import('../sbom/frombuild.js')).sbomInput({
            archs: [a],
            store: spec.store,
            releaseDir: spec.release.dir,
            name: spec.tag ?? 'rootfs',
            epoch,
          }),
          spec.sbom.format,
        ),
      );
      const file: TreeEntry = {
        path: `${SBOM_DIR}/chisel-ts.${spec.sbom.format}.json`,
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: doc.length,
        sha256: await spec.store.putBuffer(doc),
      };
      const tree = ensureDir(a.tree, SBOM_DIR, 0o755, 0, 0);
      a.tree = { entries: sortEntries([...tree.entries.filter((e) => e.path !== file.path), file]) };
    }
  }
  const out: BuildResult = { epoch, archs, config };
  const o = spec.outputs;
  const one = archs[0]!;
  const platforms: PlatformTree[] = archs.map((a) => ({ arch: a.arch, tree: a.tree }));
  const { name, tag } = splitTag(spec.tag);
  const imageOpts = {
    tag,
    compression: spec.compression ?? 'gzip',
    config,
    epoch,
    createdBy: `chisel-ts cut ${spec.slices.join(' ')}`,
  };
  if (spec.digests || spec.verify) {
    const scratch = trackTemp(path.join(tmpdir(), `chisel-ts-digests-${randomBytes(4).toString('hex')}`));
    try {
      out.image = await (await oci()).writeOciLayout(platforms, spec.store, scratch, imageOpts);
    } finally {
      await fs.rm(scratch, { recursive: true, force: true });
      releaseTemp(scratch);
    }
    spec.verify?.(out);
  }
  if (o.root) await writeDir(one.tree, spec.store, o.root, { mtime: epoch });
  if (o.tar)
    out.tar = await (await tar()).writeTarFile(
      one.tree,
      spec.store,
      o.tar,
      (await import('../output/compress.js')).compressionForFile(o.tar),
      { mtime: epoch },
    );
  if (o.oci) out.oci = await (await oci()).writeOciLayout(platforms, spec.store, o.oci, imageOpts);
  if (o.ociArchive)
    out.ociArchive = await (await oci()).writeOciArchive(platforms, spec.store, o.ociArchive, {
      ...imageOpts,
      repoTag: `${name ?? 'localhost/chisel-ts'}:${tag}`,
    });
  // the push layout (when --oci is not it) is written first: its digest names the image in the SBOM
  let pushLayoutDir = o.oci;
  let scratch: string | undefined;
  try {
    if (o.push && (!o.oci || splitTag(o.push).tag !== tag)) {
      scratch = trackTemp(path.join(tmpdir(), `chisel-ts-push-${randomBytes(4).toString('hex')}`));
      pushLayoutDir = path.join(scratch, 'layout');
      const pushed = await (await oci()).writeOciLayout(platforms, spec.store, pushLayoutDir, { ...imageOpts, tag: splitTag(o.push).tag });
      out.image ??= out.oci ?? out.ociArchive ?? pushed;
    }
    out.image ??= out.oci ?? out.ociArchive;
    let sbom: string | undefined;
    if (spec.sbom?.file) {
      const digest = out.image?.top.digest ?? (out.tar ? `sha256:${out.tar.diffId}` : undefined);
      sbom = (await sbomModule()).sbomDocument(
        await (await import('../sbom/frombuild.js')).sbomInput({
          archs,
          store: spec.store,
          releaseDir: spec.release.dir,
          name: spec.tag ?? 'rootfs',
          epoch,
          ...(digest ? { digest } : {}),
        }),
        spec.sbom.format,
      );
      await writeFileAtomic(spec.sbom.file, sbom);
    }
    if (o.push) {
      // --sbom with --push: the SBOM also goes to the registry, as a referrer of the image
      const referrers =
        sbom && spec.sbom
          ? [{ artifactType: SBOM_MEDIA_TYPE[spec.sbom.format], bytes: Buffer.from(sbom), title: path.basename(spec.sbom.file!) }]
          : [];
      out.push = await (await import('../registry/push.js')).pushLayout(pushLayoutDir!, o.push, {
        insecure: Boolean(spec.insecure),
        referrers,
        created: new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z'),
        ...(spec.log ? { log: spec.log } : {}),
      });
    }
  } finally {
    if (scratch) {
      await fs.rm(scratch, { recursive: true, force: true });
      releaseTemp(scratch);
    }
  }
  return out;
}

// Output writers and the SBOM are loaded when an output asks for them (start-up time of a plain cut).
const oci = () => import('../output/oci.js');
const tar = () => import('../output/tar.js');
const sbomModule = () => import('../sbom/index.js');

export const SBOM_DIR = '/usr/share/sbom';
/** Media types of the SBOM formats (artifactType of a pushed SBOM). */
export const SBOM_MEDIA_TYPE: Record<SbomFormat, string> = { spdx: 'application/spdx+json', cyclonedx: 'application/vnd.cyclonedx+json' };

/** A package source for pinned packages: a download failure names the package and every place looked. */
function pinnedSource(source: PackageSource, store: ContentStore): PackageSource {
  return {
    resolve: (name, archive) => source.resolve(name, archive),
    async fetchDeb(p) {
      try {
        return await source.fetchDeb(p);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new ChiselError(
          `pinned package ${p.name} ${p.version} (${p.arch}, sha256 ${p.sha256.slice(0, 12)}) is not available: not in the cache ${store.root}, and archive ${p.archive} (${p.filename}) failed: ${why}`,
          {
            code: 'locked-missing',
            exitCode: ExitCode.ARCHIVE,
            hint: `restore the cache, or point --archive-url ${p.archive}=URL at a mirror or snapshot that still serves ${p.filename}; or run \`chisel-ts lock\` to move to the current version`,
          },
        );
      }
    },
  };
}
