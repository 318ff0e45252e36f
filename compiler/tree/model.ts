// One model of a cut root filesystem. The directory, the tarball and the OCI
// layers are all written from it, so the outputs stay consistent. File
// contents are held by reference (sha256 in the content store), never in
// memory.

export type EntryType = 'dir' | 'file' | 'symlink' | 'hardlink';

export interface TreeEntry {
  /** Absolute, clean path without a trailing slash ("/usr/bin"). The root itself is not an entry. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (0o7777 mask). */
  mode: number;
  uid: number;
  gid: number;
  /** Size in bytes of a file (0 for others). */
  size: number;
  /** file (and hardlink): sha256 hex of the content, stored in the ContentStore. */
  sha256?: string;
  /** symlink: the target, verbatim. hardlink: the absolute path of the primary
   *  file entry of its group; the primary always sorts before its links. */
  link?: string;
}

export interface Tree {
  /** Entries sorted by path (byte order), parents before children. */
  entries: TreeEntry[];
}

/** Byte-wise comparison of paths such that a parent sorts before its children
 *  and siblings sort by name: as if compared component by component, with
 *  "/" below every other byte. No allocation: trees sort thousands of paths. */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === SLASH) return -1;
    if (y === SLASH) return 1;
    // UTF-8 byte order is code point order; UTF-16 code units agree with it
    // except that a surrogate (a code point above U+FFFF) sorts after U+E000-U+FFFF.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
const SLASH = 0x2f;

/** The sha256 of each entry with content, in entry order. */
export function contentSums(tree: Tree): string[] {
  return tree.entries.flatMap((e) => (e.sha256 ? [e.sha256] : []));
}

export function sortEntries(entries: TreeEntry[]): TreeEntry[] {
  return entries.sort((a, b) => comparePaths(a.path, b.path));
}
