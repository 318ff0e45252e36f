// The identity of the running code: caches of computed results (a cut's
// tree) are keyed by it, so a build of other code never reuses them, whatever
// the version number says. The bundle carries its id in a file written when
// it is made (`code-id`, the sha256 of its modules); code run from dist/ or
// from the TypeScript sources hashes its own directory once per process.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_ID_FILE = 'code-id';

let cached: string | null | undefined;

/** The id of the code this module belongs to; undefined when it cannot be told (a cache keyed by it is then not used). */
export function codeId(): string | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  try {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const file = path.join(here, CODE_ID_FILE);
    if (existsSync(file)) cached = readFileSync(file, 'utf8').trim() || null;
    else {
      // compiler/util (sources) or dist/compiler/util: the whole compiler/ directory
      const top = path.dirname(here);
      if (path.basename(top) === 'compiler') cached = hashCodeDir(top, dependencyLock(top));
    }
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}

/** sha256 over the names and bytes of every .js and .ts file below `dir`, in path order, then of `extra` files (the lockfile of the dependencies). */
export function hashCodeDir(dir: string, extra: string[] = []): string {
  const h = createHash('sha256');
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts')).sort();
  for (const f of files)
    h.update(`${f}\0`)
      .update(readFileSync(path.join(dir, f)))
      .update('\0');
  for (const f of extra)
    h.update(`${path.basename(f)}\0`)
      .update(readFileSync(f))
      .update('\0');
  return h.digest('hex');
}

/** The dependencies' lockfile of the package holding `dir`, when there is one (their code is part of the result: zstd's bytes). */
export function dependencyLock(dir: string): string[] {
  for (let d = dir; path.dirname(d) !== d; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json')))
      return existsSync(path.join(d, 'package-lock.json')) ? [path.join(d, 'package-lock.json')] : [];
  }
  return [];
}
