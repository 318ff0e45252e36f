// Trees -> an OCI image layout (one image, or an index of one image per
// platform), and the same layout packed into one tar with a docker-style
// manifest.json (`--oci-archive`). Every JSON document is written with a fixed
// key order and every time comes from SOURCE_DATE_EPOCH, so the same trees
// and configuration always give the same digests. The layout is built in a
// temporary directory and renamed into place.
// The image is made once (makeImage: layers compressed once, every digest)
// and written by each output from the same blobs.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import type { ContentStore } from '../cache/store.js';
import type { Tree } from '../tree/model.js';
import { ociPlatform } from '../util/arch.js';
import { ChiselError } from '../util/errors.js';
import { compressor, GZIP_LEVEL, ZSTD_LEVEL } from './compress.js';
import type { OutputCompression } from './compression.js';
import { hasher, tarStreamOf } from './tar.js';
import { MAX_LAYERS } from './layers.js';
import { releaseTemp, sweepStale, tempSibling } from '../util/tempfiles.js';

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: {
    gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
    zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
    none: 'application/vnd.oci.image.layer.v1.tar',
  },
} as const;

export const REF_NAME = 'org.opencontainers.image.ref.name';
/** The full, normalized image name, as `docker save` writes it; `podman load` names the image by it. */
export const IMAGE_NAME = 'io.containerd.image.name';
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The runtime configuration of an image (OCI config "config"). */
export interface ImageConfig {
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  /** KEY=VALUE; PATH is added when missing. */
  env?: string[];
  workdir?: string;
  labels?: Record<string, string>;
  /** "8080/tcp", "53/udp"; a bare port means tcp. */
  ports?: string[];
  /** Manifest annotations. */
  annotations?: Record<string, string>;
}

export interface PlatformTree {
  /** Debian architecture. */
  arch: string;
  tree: Tree;
  /** The tree split into layers, bottom first (see layers.ts); one layer of the whole tree when absent. */
  layers?: LayerTree[];
}

/** One layer of an image: its part of the tree, and what made it (the config history). */
export interface LayerTree {
  tree: Tree;
  createdBy: string;
}

export interface ImageOptions {
  compression: OutputCompression;
  config: ImageConfig;
  /** Seconds since the epoch for `created` and every mtime (the build's source date epoch). */
  epoch: number;
  /** What produced the layer, for the config history (of a one-layer image). */
  createdBy?: string;
  /** Called as each layer is made (or taken from the layer cache). */
  onLayer?: (arch: string, layer: ImageLayer) => void;
}

function checkLayerCount(n: number, arch: string): void {
  if (n > MAX_LAYERS)
    throw new ChiselError(`the ${arch} image would have ${n} layers; containerd accepts at most ${MAX_LAYERS}`, {
      code: 'usage',
      hint: 'choose a layering with fewer layers (--layers single, or --layers set with fewer sets)',
    });
}

/** The layer cache's key of a compressed layer: its diff_id, the compression and its level. */
function layerKey(diffId: string, compression: OutputCompression): string {
  const level = compression === 'gzip' ? GZIP_LEVEL : compression === 'zstd' ? ZSTD_LEVEL : 0;
  return `${diffId}-${compression}-${level}`;
}

interface CachedLayer {
  sha256: string;
  size: number;
  diffSize: number;
}

/**
 * The layer of `tree`, as a blob in `blobDir` named by its digest. Compressed
 * layers go through the layer cache: the tar is hashed first (its diff_id),
 * and a layer of that diff_id, compression and level already in the content
 * store is copied (verified on the way) instead of compressed again. A miss
 * compresses the tar (checking it hashes to the same diff_id) and keeps a copy.
 */
async function makeLayer(tree: Tree, store: ContentStore, blobDir: string, opts: ImageOptions): Promise<ImageLayer> {
  const mediaType = MEDIA.layer[opts.compression];
  const tarOf = () => tarStreamOf(tree, store, { mtime: opts.epoch });
  const tmp = path.join(blobDir, `.layer-${randomBytes(4).toString('hex')}`);
  let key: string | undefined;
  let diff: { sha256: string; size: number } | undefined;
  if (opts.compression !== 'none') {
    const raw = hasher();
    await pipeline(tarOf(), raw, new Writable({ write: (_c, _e, cb) => cb() }));
    diff = raw.result();
    key = layerKey(diff.sha256, opts.compression);
    const hit = await store.getMeta<CachedLayer>('layer', key);
    if (hit && hit.diffSize === diff.size && (await store.copyVerifiedTo(hit.sha256, tmp))) {
      await fs.rename(tmp, path.join(blobDir, hit.sha256));
      // its last use, for `cache prune` (least recently used first)
      await store.touchMetaNow('layer', key);
      return {
        desc: { mediaType, digest: `sha256:${hit.sha256}`, size: hit.size },
        diffId: diff.sha256,
        diffSize: diff.size,
        cached: true,
      };
    }
  }
  const raw = hasher();
  const packed = hasher();
  await pipeline(tarOf(), raw, compressor(opts.compression), packed, createWriteStream(tmp));
  const p = packed.result();
  const r = raw.result();
  if (diff && diff.sha256 !== r.sha256)
    throw new ChiselError(`the layer tar changed between two writes (sha256 ${diff.sha256}, then ${r.sha256})`, {
      code: 'output',
      hint: 'the content cache changed during the build; build again',
    });
  const file = path.join(blobDir, p.sha256);
  await fs.rename(tmp, file);
  if (key) {
    // a cache write: a failure only costs the next build a compression
    await store
      .putFileCopy(file, p.sha256)
      .then(() => store.putMeta('layer', key, { sha256: p.sha256, size: p.size, diffSize: r.size } satisfies CachedLayer))
      .catch(() => undefined);
  }
  return { desc: { mediaType, digest: `sha256:${p.sha256}`, size: p.size }, diffId: r.sha256, diffSize: r.size, cached: false };
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface ImageLayer {
  /** The compressed blob. */
  desc: Descriptor;
  /** sha256 hex of the uncompressed tar (the OCI diff_id) and its size. */
  diffId: string;
  diffSize: number;
  /** The layer was taken from the layer cache (nothing compressed). */
  cached: boolean;
}

export interface PlatformImage {
  arch: string;
  manifest: Descriptor;
  config: Descriptor;
  /** Bottom first. */
  layers: ImageLayer[];
  /** The OCI ChainID of the layers (sha256 hex): the diff_id itself for one layer. What a lock records as the rootfs. */
  chainId: string;
}

/** The OCI ChainID of diff_ids (hex): the first, then sha256("<chain> sha256:<next>") up the stack. */
export function chainId(diffIds: string[]): string {
  let chain = diffIds[0]!;
  for (const d of diffIds.slice(1)) chain = createHash('sha256').update(`sha256:${chain} sha256:${d}`).digest('hex');
  return chain;
}

export interface LayoutResult {
  /** The descriptor index.json holds: the manifest (one platform) or the image index. */
  top: Descriptor;
  images: PlatformImage[];
}

/** A blob of an image: its bytes (the JSON documents), or a file (a layer, in the build's blob directory). */
export type OciBlob = { bytes: Buffer } | { file: string };

/**
 * The image of a build, made once: every digest, and every blob by digest
 * (sha256 hex). Its writers put it into a layout directory or an OCI archive
 * under a tag; the tag names the image in index.json only, so every output
 * shares the same blobs.
 */
export interface OciImage {
  /** The manifest (one platform) or the image index, without a ref name. */
  top: Descriptor;
  images: PlatformImage[];
  blobs: Map<string, OciBlob>;
  compression: OutputCompression;
}

/** JSON with keys in the order given by the object literal (callers build them in a fixed order). */
function canonical(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

function sortedRecord(r: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!r || Object.keys(r).length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k]!;
  return out;
}

export function normalizePort(p: string): string {
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(p);
  if (!m || Number(m[1]) > 65535 || Number(m[1]) === 0)
    throw new ChiselError(`invalid port "${p}"`, { code: 'usage', hint: 'write PORT or PORT/tcp, PORT/udp, PORT/sctp' });
  return `${m[1]}/${m[2] ?? 'tcp'}`;
}

export function configDocument(
  arch: string,
  cfg: ImageConfig,
  layers: { diffId: string; createdBy: string }[],
  epoch: number,
): Record<string, unknown> {
  const created = new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
  const env = [...(cfg.env ?? [])];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(`PATH=${DEFAULT_PATH}`);
  const c: Record<string, unknown> = {};
  if (cfg.user) c.User = cfg.user;
  const ports = [...new Set((cfg.ports ?? []).map(normalizePort))].sort();
  if (ports.length) c.ExposedPorts = Object.fromEntries(ports.map((p) => [p, {}]));
  c.Env = env;
  if (cfg.entrypoint?.length) c.Entrypoint = cfg.entrypoint;
  if (cfg.cmd?.length) c.Cmd = cfg.cmd;
  if (cfg.workdir) c.WorkingDir = cfg.workdir;
  const labels = sortedRecord(cfg.labels);
  if (labels) c.Labels = labels;
  const p = ociPlatform(arch);
  return {
    created,
    architecture: p.architecture,
    ...(p.variant ? { variant: p.variant } : {}),
    os: 'linux',
    config: c,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${l.diffId}`) },
    history: layers.map((l) => ({ created, created_by: l.createdBy })),
  };
}

/** Make the image of `platforms`: each layer compressed once into `blobDir` (an empty directory the caller owns and removes). */
export async function makeImage(platforms: PlatformTree[], store: ContentStore, blobDir: string, opts: ImageOptions): Promise<OciImage> {
  if (platforms.length === 0) throw new ChiselError('no platform to build', { code: 'usage' });
  const blobs = new Map<string, OciBlob>();
  const bytes = (data: Buffer, mediaType: string): Descriptor => {
    const hex = createHash('sha256').update(data).digest('hex');
    blobs.set(hex, { bytes: data });
    return { mediaType, digest: `sha256:${hex}`, size: data.length };
  };
  const { epoch } = opts;
  const images: PlatformImage[] = [];
  const annotations = sortedRecord(opts.config.annotations);
  for (const { arch, tree, layers: parts } of platforms) {
    const layerTrees = parts?.length ? parts : [{ tree, createdBy: opts.createdBy ?? 'chisel-ts' }];
    checkLayerCount(layerTrees.length, arch);
    const layers: ImageLayer[] = [];
    for (const part of layerTrees) {
      const l = await makeLayer(part.tree, store, blobDir, opts);
      blobs.set(l.desc.digest.slice(7), { file: path.join(blobDir, l.desc.digest.slice(7)) });
      opts.onLayer?.(arch, l);
      layers.push(l);
    }
    const history = layers.map((l, i) => ({ diffId: l.diffId, createdBy: layerTrees[i]!.createdBy }));
    const config = bytes(canonical(configDocument(arch, opts.config, history, epoch)), MEDIA.config);
    const manifestDoc = {
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.desc.mediaType, digest: l.desc.digest, size: l.desc.size })),
      ...(annotations ? { annotations } : {}),
    };
    const manifest = bytes(canonical(manifestDoc), MEDIA.manifest);
    images.push({
      arch,
      manifest: { ...manifest, platform: ociPlatform(arch) },
      config,
      layers,
      chainId: chainId(layers.map((l) => l.diffId)),
    });
  }
  let top: Descriptor;
  if (images.length === 1) {
    top = images[0]!.manifest;
  } else {
    const indexDoc = {
      schemaVersion: 2,
      mediaType: MEDIA.index,
      manifests: images.map((i) => i.manifest),
      ...(annotations ? { annotations } : {}),
    };
    top = bytes(canonical(indexDoc), MEDIA.index);
  }
  return { top, images, blobs, compression: opts.compression };
}

/** The image named by `tag` (and by its full name when known): what index.json holds. */
export function taggedImage(image: OciImage, tag: string, fullName?: string): LayoutResult {
  const annotations: Record<string, string> = fullName ? { [IMAGE_NAME]: fullName, [REF_NAME]: tag } : { [REF_NAME]: tag };
  return { top: { ...image.top, annotations }, images: image.images };
}

function layoutFiles(tagged: LayoutResult): { ociLayout: Buffer; index: Buffer } {
  return {
    ociLayout: canonical({ imageLayoutVersion: '1.0.0' }),
    index: canonical({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [tagged.top] }),
  };
}

/** Put a blob at `dest`: a file is hard-linked (same filesystem) or copied; bytes are written. */
async function placeBlob(blob: OciBlob, dest: string): Promise<void> {
  if ('bytes' in blob) return fs.writeFile(dest, blob.bytes);
  try {
    await fs.link(blob.file, dest);
  } catch {
    await fs.copyFile(blob.file, dest);
  }
}

/** Write `image`, named `tag`, as an OCI layout into the (new or empty) directory `dest`. */
export async function writeOciLayout(image: OciImage, dest: string, tag: string, fullName?: string): Promise<LayoutResult> {
  const target = path.resolve(dest);
  const existing = await fs.readdir(target).catch(() => undefined);
  if (existing?.length)
    throw new ChiselError(`--oci ${dest} exists and is not empty`, {
      code: 'output',
      hint: 'remove it or choose a new directory; chisel-ts does not add to an existing layout',
    });
  await fs.mkdir(path.dirname(target), { recursive: true });
  await sweepStale(target);
  const tmp = tempSibling(target);
  try {
    const tagged = taggedImage(image, tag, fullName);
    await fs.mkdir(path.join(tmp, 'blobs', 'sha256'), { recursive: true });
    for (const [hex, blob] of image.blobs) await placeBlob(blob, path.join(tmp, 'blobs', 'sha256', hex));
    const files = layoutFiles(tagged);
    await fs.writeFile(path.join(tmp, 'oci-layout'), files.ociLayout);
    await fs.writeFile(path.join(tmp, 'index.json'), files.index);
    if (existing) await fs.rmdir(target);
    await fs.rename(tmp, target);
    return tagged;
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    releaseTemp(tmp);
  }
}

/** `image` packed into one tar, with a docker `manifest.json` so `docker load` accepts it too. */
export async function writeOciArchive(
  image: OciImage,
  file: string,
  opts: { tag: string; repoTag: string; epoch: number; fullName?: string },
): Promise<LayoutResult> {
  const dest = path.resolve(file);
  await fs.mkdir(path.dirname(dest), { recursive: true });
  await sweepStale(dest);
  const tmpTar = tempSibling(dest);
  try {
    const tagged = taggedImage(image, opts.tag, opts.fullName);
    await packImage(image, tagged, tmpTar, opts.repoTag, opts.epoch);
    await fs.rename(tmpTar, dest);
    return tagged;
  } finally {
    await fs.rm(tmpTar, { force: true });
    releaseTemp(tmpTar);
  }
}

async function packImage(image: OciImage, tagged: LayoutResult, dest: string, repoTag: string, epoch: number): Promise<void> {
  const docker = image.images.map((img, i) => ({
    Config: `blobs/sha256/${img.config.digest.slice(7)}`,
    RepoTags: i === 0 ? [repoTag] : [],
    Layers: img.layers.map((l) => `blobs/sha256/${l.desc.digest.slice(7)}`),
  }));
  const mtime = new Date(epoch * 1000);
  const pack = tarStream.pack();
  const h = (name: string, size: number, type: 'file' | 'directory' = 'file') => ({
    name,
    size,
    type,
    mode: type === 'file' ? 0o644 : 0o755,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    mtime,
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  const done = pipeline(pack, createWriteStream(dest));
  const add = (name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry(h(name, data.length), data, (e) => (e ? reject(e) : resolve())));
  const dir = (name: string) =>
    new Promise<void>((resolve, reject) => pack.entry(h(name, 0, 'directory'), (e) => (e ? reject(e) : resolve())));
  try {
    await dir('blobs/');
    await dir('blobs/sha256/');
    for (const hex of [...image.blobs.keys()].sort()) {
      const blob = image.blobs.get(hex)!;
      if ('bytes' in blob) await add(`blobs/sha256/${hex}`, blob.bytes);
      else {
        const st = await fs.stat(blob.file);
        await pipeline(createReadStream(blob.file), pack.entry(h(`blobs/sha256/${hex}`, st.size)));
      }
    }
    const files = layoutFiles(tagged);
    await add('index.json', files.index);
    await add('manifest.json', canonical(docker));
    await add('oci-layout', files.ociLayout);
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
  }
  await done;
}

/** Our own consistency check of a layout (what the packaged validators miss). */
export async function checkLayout(dir: string): Promise<string[]> {
  const problems: string[] = [];
  const blob = async (d: Descriptor): Promise<Buffer | undefined> => {
    const hex = d.digest.replace(/^sha256:/, '');
    const p = path.join(dir, 'blobs', 'sha256', hex);
    const data = await fs.readFile(p).catch(() => undefined);
    if (!data) problems.push(`missing blob ${d.digest}`);
    else if (data.length !== d.size) problems.push(`blob ${d.digest}: size ${data.length}, descriptor says ${d.size}`);
    else if (createHash('sha256').update(data).digest('hex') !== hex) problems.push(`blob ${d.digest}: content does not match its digest`);
    return data;
  };
  const index = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const manifests: Descriptor[] = [];
  for (const d of index.manifests) {
    if (d.mediaType === MEDIA.index) {
      const data = await blob(d);
      if (data) manifests.push(...(JSON.parse(data.toString()) as { manifests: Descriptor[] }).manifests);
    } else manifests.push(d);
  }
  for (const m of manifests) {
    const data = await blob(m);
    if (!data) continue;
    const doc = JSON.parse(data.toString()) as { config: Descriptor; layers: Descriptor[] };
    const cfgData = await blob(doc.config);
    for (const l of doc.layers) await blob(l);
    if (cfgData) {
      const cfg = JSON.parse(cfgData.toString()) as { rootfs: { diff_ids: string[] }; architecture: string };
      if (cfg.rootfs.diff_ids.length !== doc.layers.length)
        problems.push(`manifest ${m.digest}: ${doc.layers.length} layers but ${cfg.rootfs.diff_ids.length} diff_ids`);
      if (m.platform && m.platform.architecture !== cfg.architecture)
        problems.push(`manifest ${m.digest}: platform ${m.platform.architecture} but config says ${cfg.architecture}`);
    }
  }
  return problems;
}
