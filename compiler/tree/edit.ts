// Small, pure edits of a cut tree made for an image (not by slices): e.g. the
// home directory of the non-root user.

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
