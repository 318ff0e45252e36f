// The output stage: from the trees of a build to every requested output.
// Every digest is computed once: the image (layers compressed once per
// platform, configs, manifests, index) is made once into one build-scoped
// blob directory, and each image output (--oci, --oci-archive, --push) is
// written from those blobs; a tag only changes index.json. --tar takes the
// layer blob itself when its compression is the layer's. Then the SBOM (it
// names the image by its digest), then the push (and its signatures).

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ContentStore, sha256Hex } from '../cache/store.js';
import { writeDir } from '../output/dir.js';
import type { PushedBlobs } from '../registry/push.js';
import type { OciImage } from '../output/oci.js';
import type { WrittenBlob } from '../output/tar.js';
import type { Attestation } from '../registry/signatures.js';
import type { SbomFormat } from '../sbom/index.js';
import { releaseLayers } from '../release/layers.js';
import { releaseTemp, sweepStale, tempSibling, trackTemp, writeFileAtomic } from '../util/tempfiles.js';
import { normalizedImageName, splitTag } from '../registry/reference.js';
import { failingAt } from '../util/errors.js';
import { wantsImage, type ArchBuild, type BuildResult, type BuildSpec } from './spec.js';
import { sbomArch } from './subjects.js';

// Output writers are loaded when an output asks for them (start-up time of a plain cut).
const oci = () => import('../output/oci.js');
const tar = () => import('../output/tar.js');
const sbomModule = () => import('../sbom/index.js');

/** Media types of the SBOM formats (artifactType of a pushed SBOM). */
export const SBOM_MEDIA_TYPE: Record<SbomFormat, string> = { spdx: 'application/spdx+json', cyclonedx: 'application/vnd.cyclonedx+json' };

/** in-toto predicate types of the SBOM formats (what `cosign verify-attestation --type spdxjson|cyclonedx` looks for). */
export const SBOM_PREDICATE_TYPE: Record<SbomFormat, string> = {
  spdx: 'https://spdx.dev/Document',
  cyclonedx: 'https://cyclonedx.org/bom',
};

/** Write every output of `spec` from the trees of `archs`; spec.verify sees the digests before anything is written. */
export async function writeOutputs(
  spec: BuildSpec,
  archs: ArchBuild[],
  config: BuildResult['config'],
  epoch: number,
  /** Awaited before the root directory is put in place (see writeDir). */
  opts: { beforePublish?: () => Promise<void> } = {},
): Promise<BuildResult> {
  const out: BuildResult = { epoch, archs, config };
  const o = spec.outputs;
  const needImage = Boolean(spec.digests || spec.verify || wantsImage(o));
  // The build's blobs live in one temporary directory, next to the first
  // image output when its parent exists (so the layout takes them as hard
  // links), else in the system's. Not the content store: layers are per
  // build and large, and would only grow the cache.
  const blobDir = needImage ? await blobDirFor(o.oci ?? o.ociArchive) : undefined;
  try {
    const image = blobDir
      ? await failingAt('output', o.oci ?? o.ociArchive ?? blobDir, () => makeImage(spec, archs, config, epoch, blobDir))
      : undefined;
    const { name, tag } = splitTag(spec.tag);
    const fullName = normalizedImageName(spec.tag);
    const pushTag = o.push ? splitTag(o.push).tag : undefined;
    if (image) {
      // the image as the outputs name it: by the build's tag, or by the push's when push is the only image output
      const byPushTag = !(spec.digests || spec.verify || o.oci || o.ociArchive);
      out.image = (await oci()).taggedImage(image, byPushTag ? pushTag! : tag, byPushTag ? undefined : fullName);
      spec.verify?.(out);
    }
    const one = archs[0]!;
    const root = o.root;
    if (root)
      await failingAt('output', root, () =>
        writeDir(one.tree, spec.store, root, { mtime: epoch, ...(opts.beforePublish ? { beforePublish: opts.beforePublish } : {}) }),
      );
    const tarFile = o.tar;
    if (tarFile) out.tar = await failingAt('output', tarFile, () => writeTar(spec, one, tarFile, epoch, image));
    const layout = o.oci;
    if (layout) out.oci = await failingAt('output', layout, async () => (await oci()).writeOciLayout(image!, layout, tag, fullName));
    const ociArchive = o.ociArchive;
    if (ociArchive)
      out.ociArchive = await failingAt('output', ociArchive, async () =>
        (await oci()).writeOciArchive(image!, ociArchive, {
          tag,
          repoTag: `${name ?? 'localhost/chisel-ts'}:${tag}`,
          epoch,
          fullName,
        }),
      );
    const sbomFile = spec.sbom?.file;
    const sbom = sbomFile ? await failingAt('output', sbomFile, () => writeSbomFile(spec, sbomFile, archs, epoch, out)) : undefined;
    if (o.push) {
      // --sbom with --push: the SBOM also goes to the registry, as a referrer of the image
      const referrers =
        sbom && spec.sbom
          ? [{ artifactType: SBOM_MEDIA_TYPE[spec.sbom.format], bytes: Buffer.from(sbom), title: path.basename(spec.sbom.file!) }]
          : [];
      out.push = await (await import('../registry/image.js')).pushImage(image!, o.push, {
        insecure: Boolean(spec.insecure),
        referrers,
        ...(spec.sign ? { sign: spec.sign } : {}),
        ...(spec.attest ? { attestations: await attestations(spec, archs, sbom) } : {}),
        created: new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z'),
        pushedBlobs: pushedBlobs(spec.store),
        ...(spec.log ? { log: spec.log } : {}),
      });
    }
    return out;
  } finally {
    if (blobDir) {
      await fs.rm(blobDir, { recursive: true, force: true });
      releaseTemp(blobDir);
    }
  }
}

/** --attest: the provenance, and the SBOM when one was made. */
async function attestations(spec: BuildSpec, archs: ArchBuild[], sbom: string | undefined): Promise<Attestation[]> {
  const { provenancePredicate, SLSA_PROVENANCE_V1 } = await import('./provenance.js');
  const out: Attestation[] = [{ predicateType: SLSA_PROVENANCE_V1, predicate: await provenancePredicate(spec, archs) }];
  if (sbom && spec.sbom) out.unshift({ predicateType: SBOM_PREDICATE_TYPE[spec.sbom.format], predicate: JSON.parse(sbom) as unknown });
  return out;
}

/** Where this cache pushed blobs before, per registry (meta/pushed-blob): the source of cross-repository mounts. */
function pushedBlobs(store: ContentStore): PushedBlobs {
  const key = (registry: string, digest: string) => sha256Hex(`${registry}\n${digest}`);
  return {
    repositoryOf: async (registry, digest) =>
      (await store.getMeta<{ repository: string }>('pushed-blob', key(registry, digest)))?.repository,
    record: async (registry, repository, digests) => {
      for (const d of digests) await store.putMeta('pushed-blob', key(registry, d), { repository });
    },
  };
}

async function blobDirFor(output: string | undefined): Promise<string> {
  const parent = output ? path.dirname(path.resolve(output)) : undefined;
  const beside = parent && (await fs.stat(parent).catch(() => undefined))?.isDirectory();
  if (beside) await sweepStale(path.join(parent, 'blobs'));
  const dir = beside
    ? tempSibling(path.join(parent, 'blobs'))
    : trackTemp(path.join(tmpdir(), `chisel-ts-blobs-${randomBytes(4).toString('hex')}`));
  await failingAt('output', dir, () => fs.mkdir(dir, { recursive: true }));
  return dir;
}

async function makeImage(
  spec: BuildSpec,
  archs: ArchBuild[],
  config: BuildResult['config'],
  epoch: number,
  blobDir: string,
): Promise<OciImage> {
  const { layersOf } = await import('../output/layers.js');
  return oci().then((m) =>
    m.makeImage(
      archs.map((a) => ({
        arch: a.arch,
        tree: a.tree,
        layers: layersOf(spec.layers, {
          release: spec.release,
          arch: a.arch,
          requested: spec.slices,
          tree: a.tree,
          packages: a.cut.packages,
        }),
      })),
      spec.store,
      blobDir,
      {
        compression: spec.compression ?? 'gzip',
        config,
        epoch,
        createdBy: `chisel-ts cut ${spec.slices.join(' ')}`,
        onLayer: (arch, l) =>
          spec.log?.(
            `[${arch}] layer ${l.desc.digest} (diff_id sha256:${l.diffId}, ${l.desc.size} bytes): ${l.cached ? 'from the layer cache' : 'compressed'}`,
          ),
      },
    ),
  );
}

/** --tar: the layer blob itself when the file's compression is the layer's (the same bytes), else written from the tree. */
async function writeTar(spec: BuildSpec, one: ArchBuild, file: string, epoch: number, image: OciImage | undefined): Promise<WrittenBlob> {
  const compression = (await import('../output/compress.js')).compressionForFile(file);
  const img = image?.compression === compression ? image.images.find((i) => i.arch === one.arch) : undefined;
  // a layered image's layers are parts of the tree: the tarball is then written from the tree
  const layer = img?.layers.length === 1 ? img.layers[0]! : undefined;
  const blob = layer ? image!.blobs.get(layer.desc.digest.slice(7)) : undefined;
  if (layer && blob && 'file' in blob) {
    return (await tar()).copyTarFile(blob.file, file, {
      sha256: layer.desc.digest.slice(7),
      size: layer.desc.size,
      diffId: layer.diffId,
      diffSize: layer.diffSize,
    });
  }
  return (await tar()).writeTarFile(one.tree, spec.store, file, compression, { mtime: epoch });
}

async function writeSbomFile(spec: BuildSpec, file: string, archs: ArchBuild[], epoch: number, out: BuildResult): Promise<string> {
  const digest = out.image?.top.digest ?? (out.tar ? `sha256:${out.tar.diffId}` : undefined);
  const sbom = (await sbomModule()).sbomDocument(
    await (await import('../sbom/frombuild.js')).sbomInput({
      archs: archs.map(sbomArch),
      store: spec.store,
      releaseDir: releaseLayers(spec.release)[0]!.dir,
      name: spec.tag ?? 'rootfs',
      epoch,
      ...(digest ? { digest } : {}),
      // a layered image: its layers (an SBOM inside the image cannot name them: it is part of them)
      layers: (out.image?.images ?? [])
        .filter((i) => i.layers.length > 1)
        .flatMap((i) => i.layers.map((l) => ({ arch: i.arch, digest: l.desc.digest, diffId: `sha256:${l.diffId}` }))),
    }),
    spec.sbom!.format,
  );
  await writeFileAtomic(file, sbom);
  return sbom;
}
