// zstd through a pinned WASM build of the reference library, so compressed
// bytes do not change with the Node version.

// Loaded on first use: most commands never touch zstd.
type Zstd = typeof import('@bokuweb/zstd-wasm');
let ready: Promise<Zstd> | undefined;
const load = (): Promise<Zstd> =>
  (ready ??= import('@bokuweb/zstd-wasm').then(async (m) => {
    const zstd = (m as Zstd & { default?: Zstd }).default ?? m; // a CommonJS module
    await zstd.init();
    return zstd;
  }));

/** Level 3 by default: zstd's own default, the speed Chisel writes manifest.wall at (19 cost more than half of a warm cut). */
export async function zstdCompress(data: Uint8Array, level = 3): Promise<Buffer> {
  return Buffer.from((await load()).compress(data, level));
}

export async function zstdDecompress(data: Uint8Array): Promise<Buffer> {
  return Buffer.from((await load()).decompress(data));
}
