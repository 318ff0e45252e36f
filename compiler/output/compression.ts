// The compressions a layer or tarball can have. The implementations are in
// compress.ts, loaded only by the writers that need them.

export type Compression = 'gzip' | 'zstd' | 'none';

export const COMPRESSIONS: readonly Compression[] = ['gzip', 'zstd', 'none'];
