// Scanner-visible package metadata, as distroless images carry it:
// /var/lib/dpkg/status.d/<package> holds the package's control paragraph and
// /var/lib/dpkg/status.d/<package>.md5sums the md5 of each file actually
// shipped from it. Scanners (Trivy, Grype, Syft) read these to list the
// image's packages.

import { createHash } from 'node:crypto';
import type { ContentStore } from '../cache/store.js';
import { ensureDir, withEntries } from '../tree/edit.js';
import type { Tree, TreeEntry } from '../tree/model.js';
import type { ShippedPath } from './build.js';
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
  shippedByPackage: Map<string, ShippedPath[]>,
  listings: Map<string, DebListing>,
  store: ContentStore,
): Promise<Tree> {
  const shipped = [...shippedByPackage.keys()].filter((p) => listings.has(p)).sort();
  if (shipped.length === 0) return tree;
  const added: TreeEntry[] = [];
  for (const pkg of shipped) {
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
    const files = shippedByPackage.get(pkg)!.filter((f) => f.type === 'file' || f.type === 'hardlink');
    for (const f of files.sort((a, b) => (a.path < b.path ? -1 : 1))) {
      const unchanged = f.originalSha256 === undefined || f.originalSha256 === f.sha256;
      const md5 = (unchanged ? fromDeb.get(f.path) : undefined) ?? (await md5OfBlob(store, f.sha256!));
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
  return withEntries(ensureDir(tree, STATUS_DIR, 0o755, 0, 0), added);
}
