// The layers of a release (an overlay and the releases it extends) as the
// later stages see them: which files make a release's inputs and how the
// lock and the provenance name them. Pure: no I/O.

import path from 'node:path';
import type { Release, ReleaseLayer } from './model.js';

/** The release's layers, bottom first; one for a release that extends none. */
export function releaseLayers(release: Release): ReleaseLayer[] {
  return release.layers ?? [{ dir: release.dir, label: '' }];
}

/**
 * A release file's name in the lock and the provenance: its path in its
 * layer, after the layer's label for a base (`debian-13/slices/libc6.yaml`).
 * The same on every machine that has the same release.
 */
export function releaseFileName(release: Release, file: string): string {
  const layer = layerOf(release, file);
  if (!layer) return path.relative(release.dir, file).split(path.sep).join('/');
  const rel = path.relative(layer.dir, file).split(path.sep).join('/');
  return layer.label ? `${layer.label}/${rel}` : rel;
}

/** The files a cut of these packages reads: every layer's chisel.yaml and the packages' own files, sorted by name. */
export function releaseInputFiles(release: Release, packages: Iterable<string>): Array<{ name: string; file: string }> {
  const files = new Set<string>(releaseLayers(release).map((l) => path.join(l.dir, 'chisel.yaml')));
  for (const p of packages) {
    const def = release.packages.get(p);
    if (def) files.add(def.file);
  }
  return [...files]
    .map((file) => ({ name: releaseFileName(release, file), file }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Whether a release file is in the layer of the release's own directory (not in a base's). */
export function isOwnFile(release: Release, file: string): boolean {
  return layerOf(release, file)?.dir === release.dir;
}

/** The layer a file belongs to: the deepest layer directory that holds it (a base may sit inside the overlay's directory). */
function layerOf(release: Release, file: string): ReleaseLayer | undefined {
  return releaseLayers(release)
    .filter((l) => isInside(l.dir, file))
    .sort((a, b) => b.dir.length - a.dir.length)[0];
}

function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
