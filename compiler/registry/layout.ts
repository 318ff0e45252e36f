// Reading an OCI image layout for a push: the manifest to push (by tag),
// every manifest under it (digests and sizes checked, children first) and
// the blobs they name. Nothing is sent for a layout that fails here.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MEDIA, REF_NAME } from '../output/oci.js';
import { ChiselError } from '../util/errors.js';

const MT_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const MT_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const MANIFEST_TYPES = new Set<string>([MEDIA.manifest, MT_DOCKER_MANIFEST]);
const INDEX_TYPES = new Set<string>([MEDIA.index, MT_DOCKER_LIST]);

const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  urls?: string[];
}

/** A manifest or index, as the bytes to send. */
export interface PlannedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface LayoutPlan {
  /** Configs and layers, each once. */
  blobs: Map<string, Descriptor>;
  /** Children before parents; the top one is not among them. */
  manifests: PlannedManifest[];
  top: PlannedManifest;
}

export function layoutError(dir: string, what: string, hint = 'rebuild the image layout'): ChiselError {
  return new ChiselError(`OCI layout ${dir}: ${what}`, { code: 'push-layout', hint });
}

export function blobPath(dir: string, digest: string): string {
  const [alg, hex] = digest.split(':') as [string, string];
  return path.join(dir, 'blobs', alg, hex);
}

/** Reads and checks the layout in `dir`: the manifest named `tag` (or `fullRef`), or its only one, and all below it. */
export async function readLayout(dir: string, tag: string, fullRef: string): Promise<LayoutPlan> {
  const marker = (await readJsonFile(dir, 'oci-layout')) as { imageLayoutVersion?: unknown } | null;
  if (!marker || typeof marker.imageLayoutVersion !== 'string') throw layoutError(dir, 'oci-layout has no imageLayoutVersion');
  const top = selectTop(dir, await readJsonFile(dir, 'index.json'), tag, fullRef);
  const plan = { blobs: new Map<string, Descriptor>(), manifests: [] as PlannedManifest[] };
  const planned = await planManifest(dir, top, plan, new Set([top.digest]), 0);
  return { ...plan, top: planned };
}

function checkDescriptor(dir: string, d: unknown, where: string): Descriptor {
  const desc = d as Partial<Descriptor> | null;
  if (!desc || typeof desc !== 'object') throw layoutError(dir, `${where}: descriptor is not an object`);
  if (typeof desc.digest !== 'string' || !DIGEST_RE.test(desc.digest))
    throw layoutError(dir, `${where}: bad digest ${JSON.stringify(desc.digest)}`);
  if (typeof desc.size !== 'number' || !Number.isSafeInteger(desc.size) || desc.size < 0)
    throw layoutError(dir, `${where}: bad size for ${desc.digest}`);
  if (desc.mediaType !== undefined && typeof desc.mediaType !== 'string')
    throw layoutError(dir, `${where}: bad mediaType for ${desc.digest}`);
  return { ...desc, mediaType: desc.mediaType ?? '' } as Descriptor;
}

async function readJsonFile(dir: string, name: string): Promise<unknown> {
  const p = path.join(dir, name);
  let text: string;
  try {
    text = await fs.readFile(p, 'utf8');
  } catch (e) {
    throw layoutError(
      dir,
      `cannot read ${name}: ${(e as Error).message}`,
      'give the directory of an OCI image layout (with oci-layout, index.json and blobs/)',
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw layoutError(dir, `${name} is not valid JSON: ${(e as Error).message}`);
  }
}

async function readManifestBlob(dir: string, desc: Descriptor): Promise<Buffer> {
  if (desc.size > MAX_MANIFEST_SIZE) throw layoutError(dir, `manifest ${desc.digest} is too large (${desc.size} bytes)`);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(blobPath(dir, desc.digest));
  } catch (e) {
    throw layoutError(dir, `missing manifest blob ${desc.digest}: ${(e as Error).message}`);
  }
  const [alg] = desc.digest.split(':') as [string];
  const actual = `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
  if (actual !== desc.digest) throw layoutError(dir, `blob ${desc.digest} has digest ${actual} (corrupted layout)`);
  if (bytes.length !== desc.size) throw layoutError(dir, `blob ${desc.digest} is ${bytes.length} bytes, descriptor says ${desc.size}`);
  return bytes;
}

function selectTop(dir: string, index: unknown, tag: string, fullRef: string): Descriptor {
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests) || manifests.length === 0) throw layoutError(dir, 'index.json lists no manifests');
  const descs = manifests.map((m, i) => checkDescriptor(dir, m, `index.json manifests[${i}]`));
  if (descs.length === 1) return descs[0]!;
  const matching = descs.filter((d) => {
    const name = d.annotations?.[REF_NAME];
    return name === tag || name === fullRef;
  });
  if (matching.length === 1) return matching[0]!;
  const names = descs.map((d) => d.annotations?.[REF_NAME] ?? '(unnamed)').join(', ');
  throw layoutError(
    dir,
    matching.length === 0
      ? `index.json lists ${descs.length} manifests and none is annotated ${REF_NAME}=${tag} (names: ${names})`
      : `index.json lists ${matching.length} manifests annotated ${REF_NAME}=${tag}`,
    'push with the tag of the manifest to push, or write a layout with a single manifest',
  );
}

async function planManifest(
  dir: string,
  desc: Descriptor,
  plan: Omit<LayoutPlan, 'top'>,
  seen: Set<string>,
  depth: number,
): Promise<PlannedManifest> {
  if (depth > MAX_INDEX_DEPTH) throw layoutError(dir, `image indexes nested more than ${MAX_INDEX_DEPTH} deep`);
  const bytes = await readManifestBlob(dir, desc);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw layoutError(dir, `manifest ${desc.digest} is not valid JSON: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object') throw layoutError(dir, `manifest ${desc.digest} is not a JSON object`);
  const mediaType = typeof doc.mediaType === 'string' && doc.mediaType ? doc.mediaType : desc.mediaType;
  const planned: PlannedManifest = { digest: desc.digest, mediaType, bytes };
  if (INDEX_TYPES.has(mediaType)) {
    const children = doc.manifests;
    if (!Array.isArray(children)) throw layoutError(dir, `image index ${desc.digest} has no "manifests" list`);
    for (const [i, c] of children.entries()) {
      const child = checkDescriptor(dir, c, `image index ${desc.digest} manifests[${i}]`);
      if (seen.has(child.digest)) continue;
      seen.add(child.digest);
      plan.manifests.push(await planManifest(dir, child, plan, seen, depth + 1));
    }
  } else if (MANIFEST_TYPES.has(mediaType)) {
    const config = checkDescriptor(dir, doc.config, `manifest ${desc.digest} config`);
    const layers = doc.layers;
    if (!Array.isArray(layers)) throw layoutError(dir, `manifest ${desc.digest} has no "layers" list`);
    plan.blobs.set(config.digest, config);
    for (const [i, l] of layers.entries()) {
      const layer = checkDescriptor(dir, l, `manifest ${desc.digest} layers[${i}]`);
      if (!plan.blobs.has(layer.digest)) plan.blobs.set(layer.digest, layer);
    }
  } else {
    throw layoutError(
      dir,
      `manifest ${desc.digest} has unsupported media type "${mediaType || '(none)'}"`,
      `only ${MEDIA.manifest} and ${MEDIA.index} (or their Docker v2 equivalents) can be pushed`,
    );
  }
  return planned;
}
