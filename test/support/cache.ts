// Checks on a content cache left by a test.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../../compiler/cache/store.js';

/** Every blob in the cache matches its name (temporary ".tmp-*" files, never read as blobs, aside). */
export function cacheIsVerified(cacheDir: string): boolean {
  const base = path.join(cacheDir, 'blobs', 'sha256');
  if (!existsSync(base)) return true;
  for (const f of readdirSync(base)) {
    if (f.startsWith('.')) continue;
    if (sha256Hex(readFileSync(path.join(base, f))) !== f) return false;
  }
  return true;
}
