// Artifacts (an SBOM, ...) attached to a pushed image as OCI referrers: an
// artifact manifest whose subject is the image. A registry with the
// referrers API answers with an OCI-Subject header; for one without it the
// artifact is listed in the index tagged `sha256-<hex>` (the referrers tag
// schema of the distribution spec), which `oras discover` also reads.

import { sha256Hex } from '../cache/store.js';
import { MEDIA } from '../output/oci.js';
import type { RegistryClient } from './client.js';
import type { Descriptor, PlannedManifest } from './layout.js';

/** One file pushed as an OCI artifact whose subject is the pushed image. */
export interface Artifact {
  artifactType: string;
  bytes: Buffer;
  /** File name (org.opencontainers.image.title). */
  title: string;
}

export interface PushedReferrer {
  digest: string;
  artifactType: string;
  via: 'referrers-api' | 'tag-schema';
}

const MT_EMPTY = 'application/vnd.oci.empty.v1+json';

const sha256Of = (bytes: Buffer): string => `sha256:${sha256Hex(bytes)}`;

/** Pushes `a` with `subject` as its subject; `created` is its manifests' org.opencontainers.image.created. */
export async function pushReferrer(
  client: RegistryClient,
  subject: PlannedManifest,
  a: Artifact,
  created: string | undefined,
): Promise<PushedReferrer> {
  const empty = Buffer.from('{}');
  const config: Descriptor = { mediaType: MT_EMPTY, digest: sha256Of(empty), size: empty.length };
  const layer: Descriptor = { mediaType: a.artifactType, digest: sha256Of(a.bytes), size: a.bytes.length };
  await client.pushBlob(config, empty);
  await client.pushBlob(layer, a.bytes);
  const annotations = created ? { 'org.opencontainers.image.created': created } : undefined;
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    artifactType: a.artifactType,
    config: { ...config, data: empty.toString('base64') },
    layers: [{ ...layer, annotations: { 'org.opencontainers.image.title': a.title } }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
    ...(annotations ? { annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const planned: PlannedManifest = { digest: sha256Of(bytes), mediaType: MEDIA.manifest, bytes };
  const res = await client.pushManifest(planned, planned.digest);
  if (res.headers['oci-subject'] === subject.digest) return { digest: planned.digest, artifactType: a.artifactType, via: 'referrers-api' };

  const tag = subject.digest.replace(':', '-');
  const what = `reading the referrers index ${tag}`;
  const got = await client.getManifest(tag, MEDIA.index, what);
  let index: { schemaVersion: number; mediaType: string; manifests: Array<Record<string, unknown>> } = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [],
  };
  if (got.status === 200) {
    try {
      const doc = JSON.parse(got.body.toString('utf8')) as typeof index;
      if (doc.mediaType === MEDIA.index && Array.isArray(doc.manifests)) index = doc;
    } catch {
      // not an index: replace it, as the distribution spec says
    }
  } else if (got.status !== 404) {
    throw client.httpError(what, got);
  }
  if (!index.manifests.some((m) => m.digest === planned.digest)) {
    index.manifests.push({
      mediaType: MEDIA.manifest,
      digest: planned.digest,
      size: bytes.length,
      artifactType: a.artifactType,
      ...(annotations ? { annotations } : {}),
    });
    const ib = Buffer.from(JSON.stringify(index));
    await client.pushManifest({ digest: sha256Of(ib), mediaType: MEDIA.index, bytes: ib }, tag);
  }
  return { digest: planned.digest, artifactType: a.artifactType, via: 'tag-schema' };
}
