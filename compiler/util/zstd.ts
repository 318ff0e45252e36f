// zstd through a pinned WASM build of the reference library, so compressed
// bytes do not change with the Node version.

import zstd from '@bokuweb/zstd-wasm';

let ready: Promise<void> | undefined;

export async function zstdCompress(data: Uint8Array, level = 19): Promise<Buffer> {
  ready ??= zstd.init();
  await ready;
  return Buffer.from(zstd.compress(data, level));
}

export async function zstdDecompress(data: Uint8Array): Promise<Buffer> {
  ready ??= zstd.init();
  await ready;
  return Buffer.from(zstd.decompress(data));
}
