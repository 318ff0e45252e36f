// `npm pack` of the checkout, as the tests of the package and of the builder
// image use it.

import { execFileSync } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');

/**
 * `npm pack` into `dir`. Without the prepack build: the tests run on dist/,
 * which `npm test` builds first, and a rebuild would replace dist/ under the
 * other test files.
 */
export function packTarball(dir: string): { file: string; files: string[] } {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  const [info] = JSON.parse(out) as [{ filename: string; files: { path: string }[] }];
  return { file: path.join(dir, info.filename), files: info.files.map((f) => f.path) };
}
