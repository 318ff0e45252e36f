// The whole build, as one pipeline shared by `cut` (flags), `build` (an image
// file) and `lock`: release -> plan (per arch: selection and package choice)
// -> cut (fetched packages -> tree) -> the image's additions -> outputs
// (dir | tar | OCI layout | OCI archive | push) -> SBOM. Each stage is a
// function of its inputs with plain data between them (spec.ts, plan.ts).

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeDir } from '../output/dir.js';
import type { PlatformTree } from '../output/oci.js';
import type { SbomFormat } from '../sbom/index.js';
import { cut, type PackageSource } from '../slicer/cut.js';
import type { Selection } from '../slicer/selection.js';
import { addFiles } from '../tree/addfiles.js';
import { ensureDir, withEntries } from '../tree/edit.js';
import type { TreeEntry } from '../tree/model.js';
import { releaseTemp, trackTemp, writeFileAtomic } from '../util/tempfiles.js';
import { planBuild, type BuildPlan } from './plan.js';
import { checkOutputs, effectiveConfig, NONROOT, specEpoch, splitTag, type ArchBuild, type BuildResult, type BuildSpec } from './spec.js';
import { sbomArch } from './subjects.js';

export * from './spec.js';

/** Build what the spec asks; `selections` when the caller made them already (to check a lockfile's inputs). */
export async function build(spec: BuildSpec, selections?: Selection[]): Promise<BuildResult> {
  // A build for its digests only (chisel-ts lock) writes nothing.
  if (!spec.digests || Object.keys(spec.outputs).length > 0) checkOutputs(spec);
  const epoch = specEpoch(spec);
  const config = effectiveConfig(spec);
  const { plan, sources } = await planBuild(spec, selections);
  const archs = await cutPlan(spec, plan, sources);
  if (spec.sbom?.inImage) await addSbomToTrees(spec, spec.sbom.format, archs, epoch);
  return writeOutputs(spec, archs, config, epoch);
}

/** The cut of each planned arch, with the image's additions: the non-root home, the image file's files. */
async function cutPlan(spec: BuildSpec, plan: BuildPlan, sources: Map<string, PackageSource>): Promise<ArchBuild[]> {
  const archs: ArchBuild[] = [];
  for (const p of plan.archs) {
    const { arch } = p;
    const result = await cut({
      selection: p.selection,
      packages: p.packages,
      store: spec.store,
      source: sources.get(arch)!,
      packageMetadata: spec.packageMetadata ?? true,
      onEvent: (ev) => spec.onEvent?.(arch, ev),
    });
    let tree = result.tree;
    if (spec.nonroot) tree = ensureDir(tree, NONROOT.home, 0o700, NONROOT.uid, NONROOT.gid);
    if (spec.files?.length) tree = await addFiles(tree, spec.files, spec.store);
    archs.push({ arch, cut: result, tree, archives: p.archives });
  }
  return archs;
}

/** The SBOM of each arch, put in its own tree (`sbom: {in-image: true}`). */
async function addSbomToTrees(spec: BuildSpec, format: SbomFormat, archs: ArchBuild[], epoch: number): Promise<void> {
  for (const a of archs) {
    const doc = Buffer.from(
      (await sbomModule()).sbomDocument(
        await (await import('../sbom/frombuild.js')).sbomInput({
          archs: [sbomArch(a)],
          store: spec.store,
          releaseDir: spec.release.dir,
          name: spec.tag ?? 'rootfs',
          epoch,
        }),
        format,
      ),
    );
    const file: TreeEntry = {
      path: `${SBOM_DIR}/chisel-ts.${format}.json`,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: doc.length,
      sha256: await spec.store.putBuffer(doc),
    };
    a.tree = withEntries(ensureDir(a.tree, SBOM_DIR, 0o755, 0, 0), [file]);
  }
}

async function writeOutputs(spec: BuildSpec, archs: ArchBuild[], config: BuildResult['config'], epoch: number): Promise<BuildResult> {
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
          archs: archs.map(sbomArch),
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
      out.push = await (await import('../output/push.js')).pushLayout(pushLayoutDir!, o.push, {
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
