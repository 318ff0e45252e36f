// The installed package's root (where slices/ and runtime-schema/ live),
// whether running from compiler/ sources or from dist/.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'chisel-ts') return (cached = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the chisel-ts package root');
    dir = up;
  }
}
