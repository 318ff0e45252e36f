// The compressions a layer or tarball can have. The implementations are in
// compress.ts, loaded only by the writers that need them.

export type OutputCompression = 'gzip' | 'zstd' | 'none';

export const COMPRESSIONS: readonly OutputCompression[] = ['gzip', 'zstd', 'none'];
