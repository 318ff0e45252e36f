// Scanner-visible package metadata, as distroless images carry it:
// /var/lib/dpkg/status.d/<package> holds the package's control paragraph and
// /var/lib/dpkg/status.d/<package>.md5sums the md5 of each file actually
// shipped from it. Scanners (Trivy, Grype, Syft) read these to list the
// image's packages.

import { createHash } from 'node:crypto';
import type { ContentStore } from '../cache/store.js';
import { ensureDir } from '../tree/edit.js';
import { sortEntries, type Tree, type TreeEntry } from '../tree/model.js';
import type { BuiltTree } from './build.js';
import type { DebListing } from './unpack.js';

export const STATUS_DIR = '/var/lib/dpkg/status.d';

function md5sumsOf(listing: DebListing): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (listing.md5sums ?? '').split('\n')) {
    const m = /^([0-9a-f]{32})\s+(.+)$/.exec(line.trim());
    if (m) out.set(`/${m[2]!.replace(/^\.?\//, '')}`, m[1]!);
  }
  return out;
}

async function md5OfBlob(store: ContentStore, sha256: string): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of store.contentStream(sha256)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Control paragraph as dpkg writes it: the fields verbatim, one trailing newline. */
export function statusParagraph(control: string): string {
  return `${control.replace(/\s+$/, '')}\n`;
}

/** The tree with status.d entries for every package that contributed a path. */
export async function addPackageMetadata(
  tree: Tree,
  built: BuiltTree,
  listings: Map<string, DebListing>,
  store: ContentStore,
): Promise<Tree> {
  const shipped = new Map<string, Array<{ path: string; sha256: string; original?: string }>>();
  for (const n of built.nodes.values()) {
    if (!n.package || !n.explicit || !listings.has(n.package)) continue;
    const list = shipped.get(n.package) ?? [];
    if (n.entry.type === 'file' || n.entry.type === 'hardlink')
      list.push({ path: n.entry.path, sha256: n.entry.sha256!, ...(n.originalSha256 ? { original: n.originalSha256 } : {}) });
    shipped.set(n.package, list);
  }
  if (shipped.size === 0) return tree;
  let out = ensureDir(tree, STATUS_DIR, 0o755, 0, 0);
  const added: TreeEntry[] = [];
  for (const pkg of [...shipped.keys()].sort()) {
    const listing = listings.get(pkg)!;
    const status = Buffer.from(statusParagraph(listing.control));
    added.push({
      path: `${STATUS_DIR}/${pkg}`,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: status.length,
      sha256: await store.putBuffer(status),
    });
    const fromDeb = md5sumsOf(listing);
    const lines: string[] = [];
    for (const f of shipped.get(pkg)!.sort((a, b) => (a.path < b.path ? -1 : 1))) {
      const unchanged = f.original === undefined || f.original === f.sha256;
      const md5 = (unchanged ? fromDeb.get(f.path) : undefined) ?? (await md5OfBlob(store, f.sha256));
      lines.push(`${md5}  ${f.path.slice(1)}\n`);
    }
    if (lines.length) {
      const sums = Buffer.from(lines.join(''));
      added.push({
        path: `${STATUS_DIR}/${pkg}.md5sums`,
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: sums.length,
        sha256: await store.putBuffer(sums),
      });
    }
  }
  // Ours replace any same-named entry a slice may have put there.
  const ours = new Set(added.map((a) => a.path));
  out = { entries: sortEntries([...out.entries.filter((e) => !ours.has(e.path)), ...added]) };
  return out;
}
