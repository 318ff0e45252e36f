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
 *  and siblings sort by name: compare component by component. */
export function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x !== y) return Buffer.compare(Buffer.from(x), Buffer.from(y));
  }
  return pa.length - pb.length;
}

export function sortEntries(entries: TreeEntry[]): TreeEntry[] {
  return entries.sort((a, b) => comparePaths(a.path, b.path));
}
