// Signatures in cosign's format, pushed next to the image: for a manifest
// sha256:<hex>, the tag `sha256-<hex>.sig` names an OCI manifest with one
// layer per signature. A layer is the "simple signing" payload (JSON naming
// the repository and the manifest's digest), its annotation
// dev.cosignproject.cosign/signature the base64 ECDSA P-256 SHA-256
// signature (ASN.1 DER) of exactly those bytes. The config is the image
// config cosign writes for it (the layers' digests as diff_ids). This is
// what `cosign sign --key` pushes (checked against cosign 2.5), so `cosign
// verify --key` reads it; a signature already under the tag is kept, as
// cosign does. Attestations go the same way under `sha256-<hex>.att`: an
// in-toto statement in a DSSE envelope (what `cosign attest` pushes and
// `cosign verify-attestation` reads).

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

interface CosignLayer extends Descriptor {
  annotations: Record<string, string>;
}

/** Signs `digest` with `key` and pushes the signature under its .sig tag (with those already there). */
export async function pushSignature(client: RegistryClient, digest: string, key: SigningKey): Promise<PushedSignature> {
  const payload = simpleSigningPayload(repositoryOf(client), digest);
  const layer: CosignLayer = {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    size: payload.length,
    digest: sha256Of(payload),
    annotations: { [SIGNATURE_ANNOTATION]: sign('sha256', payload, key.key).toString('base64') },
  };
  const tag = signatureTag(digest);
  const manifest = await pushCosignLayer(client, tag, layer, payload, SIMPLE_SIGNING_MEDIA_TYPE, (l) =>
    ourEarlierSignature(l, payload, key),
  );
  return { digest, tag, manifest };
}

/** An in-toto attestation of the pushed image: its predicate type and the predicate (an SBOM document, ...). */
export interface Attestation {
  predicateType: string;
  predicate: unknown;
}

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** The in-toto statement cosign attests for `digest` in `repository` (cosign 2.5 writes Statement v0.1). */
export function inTotoStatement(repository: string, digest: string, a: Attestation): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: a.predicateType,
      subject: [{ name: repository, digest: { sha256: digest.slice('sha256:'.length) } }],
      predicate: a.predicate,
    }),
  );
}

/** DSSE's pre-authentication encoding: what a DSSE signature signs. */
export function dssePae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
}

/**
 * Attests `a` about `digest`: the statement in a DSSE envelope signed with
 * `key`, pushed under the tag `sha256-<hex>.att` as cosign attest does (an
 * attestation of the same predicate type already there is replaced, as with
 * `cosign attest --replace`). The statement is the same bytes for the same
 * inputs; the ECDSA signature is not (random nonce).
 */
export async function pushAttestation(client: RegistryClient, digest: string, a: Attestation, key: SigningKey): Promise<PushedSignature> {
  const statement = inTotoStatement(repositoryOf(client), digest, a);
  const sig = sign('sha256', dssePae(IN_TOTO_PAYLOAD_TYPE, statement), key.key).toString('base64');
  const envelope = Buffer.from(
    JSON.stringify({ payloadType: IN_TOTO_PAYLOAD_TYPE, payload: statement.toString('base64'), signatures: [{ keyid: '', sig }] }),
  );
  const layer: CosignLayer = {
    mediaType: DSSE_MEDIA_TYPE,
    size: envelope.length,
    digest: sha256Of(envelope),
    annotations: { [SIGNATURE_ANNOTATION]: '', predicateType: a.predicateType },
  };
  const tag = `${digest.replace(':', '-')}.att`;
  const manifest = await pushCosignLayer(
    client,
    tag,
    layer,
    envelope,
    DSSE_MEDIA_TYPE,
    (l) => l.annotations.predicateType === a.predicateType,
  );
  return { digest, tag, manifest };
}

const repositoryOf = (client: RegistryClient): string => `${client.target.registry}/${client.target.repository}`;

/**
 * Pushes `blob` (described by `layer`) and the manifest under `tag` with it
 * as its last layer; the `mediaType` layers already there stay unless
 * `replaces` says the new one replaces them. The config is the one cosign
 * writes (the layers' digests as diff_ids). Returns the manifest's digest.
 */
async function pushCosignLayer(
  client: RegistryClient,
  tag: string,
  layer: CosignLayer,
  blob: Buffer,
  mediaType: string,
  replaces: (l: CosignLayer) => boolean,
): Promise<string> {
  await client.pushBlob(layer, blob);
  const layers = [...(await existingLayers(client, tag, mediaType)).filter((l) => !replaces(l)), layer];
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
  return planned.digest;
}

/** A signature of this payload by this key made before (ECDSA signatures differ each time): the new one replaces it. */
function ourEarlierSignature(l: CosignLayer, payload: Buffer, key: SigningKey): boolean {
  if (l.digest !== sha256Of(payload)) return false;
  return verify('sha256', payload, createPublicKey(key.key), Buffer.from(l.annotations[SIGNATURE_ANNOTATION]!, 'base64'));
}

/** The `mediaType` layers already under `tag` (none when it is missing or not such a manifest). */
async function existingLayers(client: RegistryClient, tag: string, mediaType: string): Promise<CosignLayer[]> {
  const what = `reading ${tag}`;
  const got = await client.getManifest(tag, MEDIA.manifest, what);
  if (got.status === 404) return [];
  if (got.status !== 200) throw client.httpError(what, got);
  try {
    const doc = JSON.parse(got.body.toString('utf8')) as { layers?: CosignLayer[] };
    return (doc.layers ?? []).filter((l) => l.mediaType === mediaType && typeof l.annotations?.[SIGNATURE_ANNOTATION] === 'string');
  } catch {
    return [];
  }
}
