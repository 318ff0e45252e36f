// Fetched packages -> listings. The full entry list of a .deb (every regular
// file with its sha256) is kept as side data keyed by the .deb's sha256, and
// the content of the files a cut can take goes into the content store
// (deduplicated by sha256). A warm cut of the same slices reads the listing
// and never decompresses the .deb again; a cut that needs content the store
// lacks unpacks the package again (cut.ts, missingContent).

import { createHash } from 'node:crypto';
import { readDebControl, readDebData, type DebEntry } from '../deb/index.js';
import { SMALL_BLOB, type ContentStore } from '../cache/store.js';
import { ChiselError } from '../util/errors.js';

export interface ListedEntry extends DebEntry {
  /** Regular files and hard links: the content's sha256 in the store. */
  sha256?: string;
}

export interface DebListing {
  /** Listing format, bumped when the shape changes. */
  v: 1;
  entries: ListedEntry[];
  /** The control paragraph of the package (for dpkg status metadata). */
  control: string;
  md5sums?: string;
}

const KIND = 'deb-listing';

export interface UnpackOptions {
  /** Unpack even when a listing is cached. */
  force?: boolean;
  /** The package paths whose content is stored (default: all); the others are only hashed. */
  keep?: (path: string) => boolean;
}

export async function unpackDeb(store: ContentStore, debSha256: string, label: string, opts: UnpackOptions = {}): Promise<DebListing> {
  if (!opts.force) {
    const cached = await store.getMeta<DebListing>(KIND, debSha256);
    if (cached?.v === 1) return cached;
  }
  const debPath = store.blobPath(debSha256);
  const entries: ListedEntry[] = [];
  const byPath = new Map<string, ListedEntry>();
  const writes = store.batch();
  try {
    const symlinks = new Set<string>();
    for await (const { entry, body } of readDebData(debPath, { label })) {
      if (symlinks.size) refuseThroughSymlink(label, entry.path, symlinks, byPath);
      if (entry.type === 'symlink') symlinks.add(entry.path);
      else symlinks.delete(entry.path);
      const listed: ListedEntry = { ...entry };
      if (entry.type === 'file' && body) {
        const what = `${label}: ${entry.path}`;
        const { sha256 } =
          opts.keep && !opts.keep(entry.path)
            ? await hashOnly(body)
            : entry.size <= SMALL_BLOB
              ? await store.putSmall(body, entry.size, writes, what)
              : await store.putStream(body, undefined, what);
        listed.sha256 = sha256;
      } else if (entry.type === 'hardlink') {
        const target = byPath.get(entry.link!);
        if (!target || target.type !== 'file') {
          throw new ChiselError(`${label}: hard link ${entry.path} points to ${entry.link}, which is not an earlier regular file in the package`, { code: 'bad-package' });
        }
        listed.sha256 = target.sha256!;
        listed.size = target.size;
      } else if (body) {
        body.resume();
      }
      entries.push(listed);
      byPath.set(listed.path, listed);
    }
  } catch (e) {
    await writes.flush().catch(() => undefined);
    if (e instanceof ChiselError) throw e;
    throw new ChiselError(`${label}: cannot read package: ${(e as Error).message}`, { code: 'bad-package', cause: e });
  }
  // Every blob is written before the listing is.
  await writes.flush();
  const ctl = await readDebControl(debPath, { label });
  const listing: DebListing = { v: 1, entries, control: ctl.control, ...(ctl.md5sums !== undefined ? { md5sums: ctl.md5sums } : {}) };
  await store.putMeta(KIND, debSha256, listing);
  return listing;
}

/** A path under an earlier symlink of the package would be written through it (dpkg refuses that too). */
function refuseThroughSymlink(label: string, p: string, symlinks: Set<string>, byPath: Map<string, ListedEntry>): void {
  for (let dir = p.slice(0, p.lastIndexOf('/')); dir; dir = dir.slice(0, dir.lastIndexOf('/'))) {
    if (symlinks.has(dir)) {
      throw new ChiselError(`${label}: ${p} lies under ${dir}, a symlink to ${byPath.get(dir)?.link} earlier in the package; refusing to write through a symlink`, {
        code: 'bad-package',
        hint: 'the package is malformed or hostile; report it to its maintainer',
      });
    }
  }
}

/** The sha256s among `sums` whose content is missing from the store. */
export async function missingContent(store: ContentStore, sums: Iterable<string>): Promise<string[]> {
  const missing: string[] = [];
  await Promise.all([...new Set(sums)].map(async (s) => {
    if (!(await store.has(s))) missing.push(s);
  }));
  return missing;
}

async function hashOnly(body: AsyncIterable<Uint8Array>): Promise<{ sha256: string }> {
  const hash = createHash('sha256');
  for await (const c of body) hash.update(c);
  return { sha256: hash.digest('hex') };
}
