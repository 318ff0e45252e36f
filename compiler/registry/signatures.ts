// Signatures in cosign's format, pushed next to the image: for a manifest
// sha256:<hex>, the tag `sha256-<hex>.sig` names an OCI manifest with one
// layer per signature. A layer is the "simple signing" payload (JSON naming
// the repository and the manifest's digest), its annotation
// dev.cosignproject.cosign/signature the base64 ECDSA P-256 SHA-256
// signature (ASN.1 DER) of exactly those bytes. The config is the image
// config cosign writes for it (the layers' digests as diff_ids). This is
// what `cosign sign --key` pushes (checked against cosign 2.5), so `cosign
// verify --key` reads it; a signature already under the tag is kept, as
// cosign does.

import { createPublicKey, sign, verify } from 'node:crypto';
import { sha256Hex } from '../cache/store.js';
import { MEDIA } from '../output/oci.js';
import type { RegistryClient } from './client.js';
import type { SigningKey } from './keys.js';
import type { Descriptor, PlannedManifest } from './layout.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export interface PushedSignature {
  /** The signed manifest. */
  digest: string;
  /** Where the signature is: `sha256-<hex>.sig`. */
  tag: string;
  /** The signature manifest's digest. */
  manifest: string;
}

const sha256Of = (bytes: Buffer): string => `sha256:${sha256Hex(bytes)}`;

/** The simple-signing payload cosign signs for `digest` in `repository` (REGISTRY/REPO), byte for byte as cosign writes it. */
export function simpleSigningPayload(repository: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': repository },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

/** The tag cosign looks for the signatures of `digest` under. */
export const signatureTag = (digest: string): string => `${digest.replace(':', '-')}.sig`;

interface SignatureLayer extends Descriptor {
  annotations: Record<string, string>;
}

/** Signs `digest` with `key` and pushes the signature under its .sig tag (with those already there). */
export async function pushSignature(client: RegistryClient, digest: string, key: SigningKey): Promise<PushedSignature> {
  const repository = `${client.target.registry}/${client.target.repository}`;
  const payload = simpleSigningPayload(repository, digest);
  const signature = sign('sha256', payload, key.key).toString('base64');
  const layer: SignatureLayer = {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    size: payload.length,
    digest: sha256Of(payload),
    annotations: { [SIGNATURE_ANNOTATION]: signature },
  };
  await client.pushBlob(layer, payload);
  const tag = signatureTag(digest);
  const layers = [...(await existingSignatures(client, tag)).filter((l) => !ourEarlierSignature(l, payload, key)), layer];
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  const configDesc: Descriptor = { mediaType: MEDIA.config, size: config.length, digest: sha256Of(config) };
  await client.pushBlob(configDesc, config);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.manifest, config: configDesc, layers }));
  const planned: PlannedManifest = { digest: sha256Of(bytes), mediaType: MEDIA.manifest, bytes };
  await client.pushManifest(planned, tag);
  return { digest, tag, manifest: planned.digest };
}

/** A signature of this payload by this key made before (ECDSA signatures differ each time): the new one replaces it. */
function ourEarlierSignature(l: SignatureLayer, payload: Buffer, key: SigningKey): boolean {
  if (l.digest !== sha256Of(payload)) return false;
  return verify('sha256', payload, createPublicKey(key.key), Buffer.from(l.annotations[SIGNATURE_ANNOTATION]!, 'base64'));
}

/** The signature layers already under `tag` (none when it is missing or not a signature manifest). */
async function existingSignatures(client: RegistryClient, tag: string): Promise<SignatureLayer[]> {
  const what = `reading the signatures ${tag}`;
  const got = await client.getManifest(tag, MEDIA.manifest, what);
  if (got.status === 404) return [];
  if (got.status !== 200) throw client.httpError(what, got);
  try {
    const doc = JSON.parse(got.body.toString('utf8')) as { layers?: SignatureLayer[] };
    return (doc.layers ?? []).filter(
      (l) => l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE && typeof l.annotations?.[SIGNATURE_ANNOTATION] === 'string',
    );
  } catch {
    return [];
  }
}
