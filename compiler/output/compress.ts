// Layer and tarball compression with pinned implementations (fflate for
// gzip, the zstd reference library built to WASM), never Node's zlib, whose
// output may change between Node releases. Input is cut into fixed-size
// chunks first, so the compressed bytes do not depend on how the input
// stream happened to be chunked.

import { Transform, type TransformCallback } from 'node:stream';
import { Gzip } from 'fflate';
import { zstdCompress } from '../util/zstd.js';
import type { OutputCompression } from './compression.js';

const CHUNK = 1 << 20;
export const GZIP_LEVEL = 6;
export const ZSTD_LEVEL = 3;

export function compressor(c: OutputCompression): Transform {
  if (c === 'gzip') return gzipTransform();
  if (c === 'zstd') return zstdTransform();
  return new Transform({ transform: (chunk: Buffer, _e, cb) => cb(null, chunk) });
}

/** Re-chunks its input into CHUNK-sized pieces before handing them on. */
abstract class FixedChunks extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  protected abstract push1(chunk: Uint8Array, final: boolean): void;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      while (this.pendingBytes >= CHUNK) {
        const all = Buffer.concat(this.pending);
        this.push1(all.subarray(0, CHUNK), false);
        const rest = all.subarray(CHUNK);
        this.pending = rest.length ? [rest] : [];
        this.pendingBytes = rest.length;
      }
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.push1(Buffer.concat(this.pending), true);
      this.pending = [];
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}

function gzipTransform(): Transform {
  class GzipT extends FixedChunks {
    private readonly gz = new Gzip({ level: GZIP_LEVEL, mtime: 0 }, (data) => this.push(Buffer.from(data)));
    protected push1(chunk: Uint8Array, final: boolean): void {
      this.gz.push(chunk, final);
    }
  }
  return new GzipT();
}

function zstdTransform(): Transform {
  // The WASM build compresses whole buffers: collect, then compress once.
  const parts: Buffer[] = [];
  return new Transform({
    transform(chunk: Buffer, _e, cb) {
      parts.push(chunk);
      cb();
    },
    flush(cb) {
      zstdCompress(Buffer.concat(parts), ZSTD_LEVEL).then(
        (out) => cb(null, out),
        (e: Error) => cb(e),
      );
    },
  });
}

/** `.tar.gz`/`.tgz` → gzip, `.tar.zst` → zstd, anything else uncompressed. */
export function compressionForFile(file: string): OutputCompression {
  if (/\.(tar\.gz|tgz)$/.test(file)) return 'gzip';
  if (/\.tar\.zst$/.test(file)) return 'zstd';
  return 'none';
}
