// Push an OCI image layout directory (oci-layout, index.json, blobs/<alg>/<hex>)
// to a registry that speaks the OCI distribution API.
//
// Order of work: read and verify every manifest of the layout first (nothing
// is sent for a broken layout), then the blobs (config + layers; HEAD, and a
// monolithic upload only when missing, three at a time), then the manifests
// children first (by digest) and the top one last under the tag, so the tag
// never points at something incomplete.
//
// Transport: https by default; plain http only for localhost / 127.0.0.1 /
// [::1] or when `insecure` is set. Auth: credentials found as docker and podman
// find them (credentials.ts: auth files, credential helpers), used
// on a `Basic` challenge directly, or to obtain a token on a `Bearer`
// challenge (token cached per scope).

import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { forEachLimited } from '../http/limit.js';
import { ChiselError } from '../util/errors.js';
import { RegistryClient } from './client.js';
import { findCredentials } from './credentials.js';
import { blobPath, type Descriptor, layoutError, readLayout } from './layout.js';
import { isLocalHost, parseReference, splitScheme } from './reference.js';
import { type Artifact, type PushedReferrer, pushReferrer } from './referrers.js';

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
}

export interface PushResult {
  reference: string;
  digest: string;
  mediaType: string;
  uploadedBlobs: number;
  skippedBlobs: number;
  referrers?: PushedReferrer[];
}

const UPLOAD_CONCURRENCY = 3;

export async function pushLayout(layoutDir: string, ref: string, opts: PushOptions = {}): Promise<PushResult> {
  const log = opts.log ?? (() => {});
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

  // Read and check the whole layout before talking to the registry.
  const dir = path.resolve(layoutDir);
  const plan = await readLayout(dir, tag, reference);

  const { creds, configPath } = await findCredentials(
    registry,
    opts.dockerConfigPath !== undefined ? { configPath: opts.dockerConfigPath } : {},
  );
  const client = new RegistryClient({ registry, repository, configPath }, scheme, creds, !!opts.insecure, log);
  try {
    await client.ping();
    let uploaded = 0;
    let skipped = 0;
    await forEachLimited([...plan.blobs.values()], UPLOAD_CONCURRENCY, async (desc) => {
      if ((await pushLayoutBlob(client, dir, desc, log)) === 'uploaded') uploaded++;
      else skipped++;
    });
    for (const m of plan.manifests) await client.pushManifest(m, m.digest);
    await client.pushManifest(plan.top, tag);
    log(`pushed ${reference}@${plan.top.digest}`);
    const referrers = [];
    for (const a of opts.referrers ?? []) {
      const r = await pushReferrer(client, plan.top, a, opts.created);
      log(`attached ${a.title} (${a.artifactType}) as ${r.digest}`);
      referrers.push(r);
    }
    return {
      reference,
      digest: plan.top.digest,
      mediaType: plan.top.mediaType,
      uploadedBlobs: uploaded,
      skippedBlobs: skipped,
      ...(referrers.length ? { referrers } : {}),
    };
  } finally {
    client.close();
  }
}

/** One config or layer of the layout, streamed from its file (a blob absent from the layout but with external URLs is left out). */
async function pushLayoutBlob(
  client: RegistryClient,
  dir: string,
  desc: Descriptor,
  log: (m: string) => void,
): Promise<'uploaded' | 'skipped'> {
  const file = blobPath(dir, desc.digest);
  let size: number;
  try {
    size = (await fs.stat(file)).size;
  } catch (e) {
    if (desc.urls && desc.urls.length > 0) {
      log(`blob ${desc.digest} is not in the layout and has external URLs; not uploading it`);
      return 'skipped';
    }
    throw layoutError(dir, `missing blob ${desc.digest}: ${(e as Error).message}`);
  }
  if (size !== desc.size) throw layoutError(dir, `blob ${desc.digest} is ${size} bytes, its descriptor says ${desc.size}`);
  return client.pushBlob(desc, { open: () => createReadStream(file), length: size });
}
