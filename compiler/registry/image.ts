// Push a build's image straight from memory: the plan is made from the
// OciImage (output/oci.ts) itself, its blobs read where they are (a layer
// from its file in the build's blob directory, a config from its bytes), and
// the manifests and index pushed as the very bytes --oci writes, so the
// digests are the same. The tag goes only in the top manifest's PUT.

import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Descriptor as ImageDescriptor, OciBlob, OciImage } from '../output/oci.js';
import type { Descriptor, PlannedManifest } from './layout.js';
import { type PlannedBlob, type PushOptions, type PushPlan, type PushResult, pushPlan } from './push.js';

/** Push `image` to `ref` (the tag from `ref`). */
export function pushImage(image: OciImage, ref: string, opts: PushOptions = {}): Promise<PushResult> {
  return pushPlan(imagePlan(image), ref, opts);
}

/** The plan of `image`: each config and layer once, the platform manifests (for an index), and the top one. */
export function imagePlan(image: OciImage): PushPlan {
  const blobs = new Map<string, PlannedBlob>();
  for (const img of image.images) {
    for (const d of [img.config, ...img.layers.map((l) => l.desc)]) {
      if (!blobs.has(d.digest)) blobs.set(d.digest, { desc: descriptor(d), body: opener(blobOf(image, d), d.size) });
    }
  }
  const top = planned(image, image.top);
  const manifests = image.images.length > 1 ? uniqueManifests(image) : [];
  return { blobs: [...blobs.values()], manifests, top };
}

function uniqueManifests(image: OciImage): PlannedManifest[] {
  const seen = new Set<string>();
  const out: PlannedManifest[] = [];
  for (const img of image.images) {
    if (seen.has(img.manifest.digest)) continue;
    seen.add(img.manifest.digest);
    out.push(planned(image, img.manifest));
  }
  return out;
}

function descriptor(d: ImageDescriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

function blobOf(image: OciImage, d: ImageDescriptor): OciBlob {
  const blob = image.blobs.get(d.digest.slice('sha256:'.length));
  if (!blob) throw new Error(`internal: image has no blob ${d.digest}`);
  return blob;
}

function planned(image: OciImage, d: ImageDescriptor): PlannedManifest {
  const blob = blobOf(image, d);
  if (!('bytes' in blob)) throw new Error(`internal: manifest ${d.digest} is not in memory`);
  return { digest: d.digest, mediaType: d.mediaType, bytes: blob.bytes };
}

/** A stream of the blob, opened once per upload attempt; `size` is its descriptor's (a layer file's size as it was written). */
function opener(blob: OciBlob, size: number): PlannedBlob['body'] {
  if ('bytes' in blob) {
    const { bytes } = blob;
    return { open: () => Readable.from([bytes]), length: bytes.length };
  }
  const { file } = blob;
  return { open: () => createReadStream(file), length: size };
}
