// `generate: manifest`: Chisel's manifest.wall — zstd-compressed jsonwall,
// one JSON object per line, sorted bytewise after the header.

import type { ContentStore } from '../cache/store.js';
import { zstdCompress } from '../util/zstd.js';
import type { BuiltTree } from './build.js';
import type { Selection } from './selection.js';
import { sliceKey } from '../release/model.js';

export interface ManifestPackage {
  name: string;
  version: string;
  sha256: string;
  arch: string;
}

/** The mode as Chisel records it: permission bits and the sticky bit; setuid and setgid are left out (its unixPerm). */
function modeString(mode: number): string {
  return `0${(mode & 0o1777).toString(8)}`;
}

/** The path as Chisel records it: clean, with a trailing '/' for directories only (a symlink declared `/var/run/` is `/var/run`). */
function recordedPath(declared: string, type: string): string {
  const clean = declared.length > 1 ? declared.replace(/\/+$/, '') : declared;
  return type === 'dir' ? `${clean}/` : clean;
}

/** The jsonwall text for the tree as it stands (after mutate and until-removal). */
export function manifestText(
  sel: Selection,
  built: BuiltTree,
  packages: ManifestPackage[],
  manifestPath: string,
  manifestSlices: Set<string>,
): string {
  const lines: string[] = [];
  for (const p of [...packages].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    lines.push(JSON.stringify({ kind: 'package', name: p.name, version: p.version, sha256: p.sha256, arch: p.arch }));
  }
  for (const s of sel.slices) lines.push(JSON.stringify({ kind: 'slice', name: sliceKey(s.package, s.name) }));
  for (const node of built.nodes.values()) {
    // A path only `until: mutate` slices list is not recorded, even when it stays (a non-empty directory).
    if (!node.explicit || node.generate || node.reported.size === 0) continue;
    const e = node.entry;
    const path = recordedPath(node.declared, e.type);
    const slices = [...node.reported].sort();
    const rec: Record<string, unknown> = { kind: 'path', path, mode: modeString(e.mode), slices };
    if (e.type === 'file' || e.type === 'hardlink') {
      rec.sha256 = node.originalSha256 ?? e.sha256;
      if (node.originalSha256 && e.sha256 !== node.originalSha256) rec.final_sha256 = e.sha256;
      if (e.size > 0) rec.size = e.size; // Chisel's size is omitempty
    }
    if (e.type === 'symlink') rec.link = e.link;
    if (node.inode !== undefined) rec.inode = node.inode;
    lines.push(JSON.stringify(rec));
    for (const s of slices) lines.push(JSON.stringify({ kind: 'content', slice: s, path }));
  }
  const wallSlices = [...manifestSlices].sort();
  lines.push(JSON.stringify({ kind: 'path', path: manifestPath, mode: '0644', slices: wallSlices }));
  for (const s of wallSlices) lines.push(JSON.stringify({ kind: 'content', slice: s, path: manifestPath }));
  const sorted = [...new Set(lines)]
    .map((l) => [Buffer.from(l), l] as const) // each line's bytes once, not once per comparison
    .sort((a, b) => Buffer.compare(a[0], b[0]))
    .map(([, l]) => l);
  const header = JSON.stringify({ jsonwall: '1.0', schema: '1.0', count: sorted.length + 1 });
  return `${header}\n${sorted.join('\n')}\n`;
}

/** Write every requested manifest.wall into the store and the tree. */
export async function generateManifests(sel: Selection, built: BuiltTree, packages: ManifestPackage[], store: ContentStore): Promise<void> {
  for (const [path, slices] of built.manifests) {
    const text = manifestText(sel, built, packages, path, slices);
    const data = await zstdCompress(Buffer.from(text, 'utf8'));
    const sha256 = await store.putBuffer(data);
    const treePath = built.resolve(path);
    built.nodes.set(treePath, {
      entry: { path: treePath, type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, sha256 },
      explicit: true,
      declared: path,
      slices: new Set(slices),
      reported: new Set(slices),
      package: '',
      mutable: false,
      untilMutate: false,
    });
  }
}
