// Push an image to a registry that speaks the OCI distribution API. What is
// pushed is a plan (PushPlan): the blobs with a way to open each, and the
// manifests as bytes. pushLayout makes it from an OCI image layout directory
// (oci-layout, index.json, blobs/<alg>/<hex>); image.ts makes it from a
// build's image in memory.
//
// Order of work: the whole plan first (for a layout: every manifest read and
// verified, every blob there with its size; nothing is sent for a broken
// layout), then the blobs (config + layers; HEAD, and a monolithic upload
// only when missing, three at a time), then the manifests children first (by
// digest) and the top one last under the tag, so the tag never points at
// something incomplete.
//
// Transport: https by default; plain http only for localhost / 127.0.0.1 /
// [::1] or when `insecure` is set. Auth: credentials found as docker and podman
// find them (credentials.ts: auth files, credential helpers), used
// on a `Basic` challenge directly, or to obtain a token on a `Bearer`
// challenge (token cached per scope).
//
// With a signing key the image is signed after the push, in cosign's format
// (signatures.ts): the top manifest and each platform manifest.

import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { forEachLimited } from '../http/limit.js';
import { ChiselError } from '../util/errors.js';
import { RegistryClient } from './client.js';
import { findCredentials } from './credentials.js';
import { blobPath, type Descriptor, layoutError, type PlannedManifest, readLayout } from './layout.js';
import { isLocalHost, parseReference, splitScheme } from './reference.js';
import type { SigningKey } from './keys.js';
import { type Artifact, type PushedReferrer, pushReferrer } from './referrers.js';
import { type Attestation, type PushedSignature, pushAttestation, pushSignature } from './signatures.js';

export interface PushOptions {
  /** Allow plain HTTP for non-localhost hosts. */
  insecure?: boolean;
  /** Only this docker config file; default: the auth files podman and docker read (credentials.ts authFiles). */
  dockerConfigPath?: string;
  log?: (msg: string) => void;
  /** Artifacts (an SBOM, ...) to attach to the pushed image as OCI referrers. */
  referrers?: Artifact[];
  /** annotations.org.opencontainers.image.created of the referrer manifests. */
  created?: string;
  /** Sign the pushed image (the top manifest and each platform manifest) with this key, in cosign's format. */
  sign?: SigningKey;
  /** With `sign`: in-toto attestations of the top manifest (cosign's .att tag). */
  attestations?: Attestation[];
  /** Where blobs were pushed before (for cross-repository mounts): a repository of `registry` that holds `digest`, and a record of a push. */
  pushedBlobs?: PushedBlobs;
}

/** A record of the repositories blobs were pushed to, per registry. */
export interface PushedBlobs {
  repositoryOf(registry: string, digest: string): Promise<string | undefined>;
  record(registry: string, repository: string, digests: string[]): Promise<void>;
}

export interface PushResult {
  reference: string;
  digest: string;
  mediaType: string;
  uploadedBlobs: number;
  skippedBlobs: number;
  /** Blobs mounted from another repository of the registry (not uploaded; counted among skippedBlobs too). */
  mountedBlobs: number;
  referrers?: PushedReferrer[];
  signatures?: PushedSignature[];
  attestations?: Array<PushedSignature & { predicateType: string }>;
}

/** A config or layer to push, and how to read it (opened once per upload attempt). */
export interface PlannedBlob {
  desc: Descriptor;
  body: { open: () => Readable; length: number };
}

/** Everything a push sends, known before the registry is contacted. */
export interface PushPlan {
  /** Configs and layers, each once. */
  blobs: PlannedBlob[];
  /** Blobs not at hand but with external URLs (non-distributable layers): not uploaded, counted as skipped. */
  foreign?: Descriptor[];
  /** Children before parents; the top one is not among them. */
  manifests: PlannedManifest[];
  /** Pushed last, under the tag. */
  top: PlannedManifest;
}

/** Where a push goes: the reference parsed, the scheme chosen (plain HTTP refused unless local or insecure). */
interface PushTarget {
  registry: string;
  repository: string;
  tag: string;
  reference: string;
  scheme: 'http' | 'https';
}

const UPLOAD_CONCURRENCY = 3;

function pushTarget(ref: string, opts: PushOptions): PushTarget {
  const { scheme: explicitScheme } = splitScheme(ref.trim());
  const { registry, repository, tag } = parseReference(ref);
  const reference = `${registry}/${repository}:${tag}`;
  const local = isLocalHost(registry);
  if (explicitScheme === 'http' && !local && !opts.insecure) {
    throw new ChiselError(`refusing to push to ${registry}/${repository} over plain HTTP`, {
      code: 'push-insecure',
      hint: 'use --insecure to allow plain HTTP to a registry other than localhost',
    });
  }
  const scheme: 'http' | 'https' = explicitScheme ?? (local || opts.insecure ? 'http' : 'https');
  return { registry, repository, tag, reference, scheme };
}

/** Push the OCI image layout in `layoutDir`: its manifest tagged as `ref`'s tag (or its only one), under `ref`. */
export async function pushLayout(layoutDir: string, ref: string, opts: PushOptions = {}): Promise<PushResult> {
  const target = pushTarget(ref, opts);
  // Read and check the whole layout before talking to the registry.
  const plan = await layoutPlan(path.resolve(layoutDir), target);
  return pushTo(plan, target, opts);
}

/** Push `plan` to `ref`: the blobs, the manifests, the top one under the tag, then the referrers. */
export async function pushPlan(plan: PushPlan, ref: string, opts: PushOptions = {}): Promise<PushResult> {
  return pushTo(plan, pushTarget(ref, opts), opts);
}

async function pushTo(plan: PushPlan, target: PushTarget, opts: PushOptions): Promise<PushResult> {
  const log = opts.log ?? (() => {});
  const { registry, repository, tag, reference, scheme } = target;
  const { creds, configPath } = await findCredentials(
    registry,
    opts.dockerConfigPath !== undefined ? { configPath: opts.dockerConfigPath } : {},
  );
  const client = new RegistryClient({ registry, repository, configPath }, scheme, creds, !!opts.insecure, log);
  try {
    await client.ping();
    let uploaded = 0;
    let skipped = 0;
    let mounted = 0;
    for (const desc of plan.foreign ?? []) {
      log(`blob ${desc.digest} is not in the layout and has external URLs; not uploading it`);
      skipped++;
    }
    const known = opts.pushedBlobs;
    await forEachLimited(plan.blobs, UPLOAD_CONCURRENCY, async (b) => {
      const from = await known?.repositoryOf(registry, b.desc.digest).catch(() => undefined);
      const r = await client.pushBlob(b.desc, b.body, from);
      if (r === 'uploaded') uploaded++;
      else skipped++;
      if (r === 'mounted') mounted++;
    });
    for (const m of plan.manifests) await client.pushManifest(m, m.digest);
    await client.pushManifest(plan.top, tag);
    log(`pushed ${reference}@${plan.top.digest}`);
    await known
      ?.record(
        registry,
        repository,
        plan.blobs.map((b) => b.desc.digest),
      )
      .catch(() => undefined);
    const referrers = [];
    for (const a of opts.referrers ?? []) {
      const r = await pushReferrer(client, plan.top, a, opts.created);
      log(`attached ${a.title} (${a.artifactType}) as ${r.digest}`);
      referrers.push(r);
    }
    const signatures = [];
    if (opts.sign) {
      for (const digest of new Set([plan.top.digest, ...plan.manifests.map((m) => m.digest)])) {
        const s = await pushSignature(client, digest, opts.sign);
        log(`signed ${digest} with ${opts.sign.file}: ${s.tag}`);
        signatures.push(s);
      }
    }
    const attestations = [];
    for (const a of opts.sign ? (opts.attestations ?? []) : []) {
      const s = await pushAttestation(client, plan.top.digest, a, opts.sign!);
      log(`attested ${a.predicateType} about ${plan.top.digest}: ${s.tag}`);
      attestations.push({ ...s, predicateType: a.predicateType });
    }
    return {
      reference,
      digest: plan.top.digest,
      mediaType: plan.top.mediaType,
      uploadedBlobs: uploaded,
      skippedBlobs: skipped,
      mountedBlobs: mounted,
      ...(referrers.length ? { referrers } : {}),
      ...(signatures.length ? { signatures } : {}),
      ...(attestations.length ? { attestations } : {}),
    };
  } finally {
    client.close();
  }
}

/** The plan of a layout: its manifests (read and checked), each config and layer streamed from its file (its size checked). */
async function layoutPlan(dir: string, target: PushTarget): Promise<PushPlan> {
  const layout = await readLayout(dir, target.tag, target.reference);
  const blobs: PlannedBlob[] = [];
  const foreign: Descriptor[] = [];
  for (const desc of layout.blobs.values()) {
    const file = blobPath(dir, desc.digest);
    let size: number;
    try {
      size = (await fs.stat(file)).size;
    } catch (e) {
      // a blob absent from the layout but with external URLs is left out
      if (desc.urls && desc.urls.length > 0) {
        foreign.push(desc);
        continue;
      }
      throw layoutError(dir, `missing blob ${desc.digest}: ${(e as Error).message}`);
    }
    if (size !== desc.size) throw layoutError(dir, `blob ${desc.digest} is ${size} bytes, its descriptor says ${desc.size}`);
    blobs.push({ desc, body: { open: () => createReadStream(file), length: size } });
  }
  return { blobs, ...(foreign.length ? { foreign } : {}), manifests: layout.manifests, top: layout.top };
}
