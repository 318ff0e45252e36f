// Small, pure edits of a cut tree made after the slices: entries added on top
// (dpkg metadata, files of an image file, an SBOM), the home directory of the
// non-root user.

import { sortEntries, type Tree, type TreeEntry } from './model.js';

/** The tree with directory `dir` (and missing parents, 0755 root) present; an existing entry is left alone. */
export function ensureDir(tree: Tree, dir: string, mode: number, uid: number, gid: number): Tree {
  const have = new Map(tree.entries.map((e) => [e.path, e]));
  const added: TreeEntry[] = [];
  const parts = dir.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    if (have.has(p)) continue;
    const last = i === parts.length;
    added.push({ path: p, type: 'dir', mode: last ? mode : 0o755, uid: last ? uid : 0, gid: last ? gid : 0, size: 0 });
  }
  if (!added.length) return tree;
  return { entries: sortEntries([...tree.entries, ...added]) };
}

/** The tree with `entries` added; an entry of the tree at the same path is replaced. */
export function withEntries(tree: Tree, entries: readonly TreeEntry[]): Tree {
  const ours = new Set(entries.map((e) => e.path));
  return { entries: sortEntries([...tree.entries.filter((e) => !ours.has(e.path)), ...entries]) };
}
