// Reading OCI layouts and layers back in tests (independently of the writer).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import tarStream from 'tar-stream';
import { zstdDecompress } from '../../compiler/util/zstd.js';

export interface LayerEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname?: string;
  content: Buffer;
}

export function blob(layout: string, digest: string): Buffer {
  return readFileSync(path.join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
}

export function json<T = any>(layout: string, digest: string): T {
  return JSON.parse(blob(layout, digest).toString()) as T;
}

export async function decompressLayer(data: Buffer, mediaType: string): Promise<Buffer> {
  if (mediaType.endsWith('+gzip')) return zlib.gunzipSync(data);
  if (mediaType.endsWith('+zstd')) return zstdDecompress(data);
  return data;
}

export async function tarEntries(tar: Buffer): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  const ex = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.push({
          name: h.name,
          type: h.type ?? 'file',
          mode: h.mode ?? 0,
          uid: h.uid ?? 0,
          gid: h.gid ?? 0,
          mtime: (h.mtime?.getTime() ?? 0) / 1000,
          ...(h.linkname ? { linkname: h.linkname } : {}),
          content: Buffer.concat(chunks),
        });
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([tar]).pipe(ex);
  await done;
  return out;
}

/** The manifests of a layout's (first) ref, one per platform. */
export function manifestsOf(
  layout: string,
): Array<{ digest: string; platform?: { architecture: string; variant?: string }; manifest: any; config: any }> {
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
  const top = index.manifests[0];
  const descs = top.mediaType === 'application/vnd.oci.image.index.v1+json' ? json(layout, top.digest).manifests : [top];
  return descs.map((d: any) => {
    const manifest = json(layout, d.digest);
    return { digest: d.digest, platform: d.platform, manifest, config: json(layout, manifest.config.digest) };
  });
}
