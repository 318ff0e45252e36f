// Fetched packages -> listings. The full entry list of a .deb (every regular
// file with its sha256) is kept as side data keyed by the .deb's sha256, and
// the content of the files a cut can take goes into the content store
// (deduplicated by sha256). A warm cut of the same slices reads the listing
// and never decompresses the .deb again; a cut that needs content the store
// lacks unpacks the package again (cut.ts, missingContent).

import type { DebEntry } from '../deb/index.js';
import { readSized, SMALL_BLOB, type ContentStore, type WriteBatch } from '../cache/store.js';
import { ChiselError } from '../util/errors.js';

export interface ListedEntry extends DebEntry {
  /** Regular files and hard links: the content's sha256 in the store. */
  sha256?: string;
  /** Content kept in a pack: the index in the listing's `packs`, and the offset there. */
  pack?: number;
  offset?: number;
}

export interface DebListing {
  /** Listing format, bumped when the shape changes. */
  v: 1;
  entries: ListedEntry[];
  /** The control paragraph of the package (for dpkg status metadata). */
  control: string;
  md5sums?: string;
  /** sha256s of the pack blobs that hold the package's small files. */
  packs?: string[];
}

/** The .deb reader (and tar-stream under it), loaded only when a package is unpacked: a warm cut reads listings. */
const loadDeb = (): Promise<typeof import('../deb/index.js')> => import('../deb/index.js');

/** Files up to this size go into packs; a pack is closed once it holds this much. */
const PACK_MEMBER_MAX = 1 << 20;
const PACK_SIZE = 8 << 20;

/** The small files of one package, concatenated into pack blobs (one file on disk instead of hundreds). */
class PackWriter {
  readonly packs: string[] = [];
  private parts: Buffer[] = [];
  private size = 0;
  private readonly at = new Map<string, { pack: number; offset: number }>();
  constructor(
    private readonly store: ContentStore,
    private readonly batch: WriteBatch,
  ) {}

  async add(body: AsyncIterable<Uint8Array>, size: number, what: string): Promise<{ sha256: string; pack: number; offset: number }> {
    const { chunks, size: n, sha256 } = await readSized(body, size, what);
    this.store.markVerified(sha256); // hashed from the bytes the pack holds
    let where = this.at.get(sha256);
    if (!where) {
      where = { pack: this.packs.length, offset: this.size };
      this.at.set(sha256, where);
      this.parts.push(...chunks.map((c) => Buffer.from(c))); // copies: the pack outlives the decoder's buffers
      this.size += n;
      if (this.size >= PACK_SIZE) await this.close();
    }
    return { sha256, ...where };
  }

  /** Writes the open pack (in the background, joining the batch). */
  async close(): Promise<void> {
    if (this.at.size === 0) return;
    this.packs.push(await this.store.putBufferLater(Buffer.concat(this.parts, this.size), this.batch));
    this.parts = [];
    this.size = 0;
    this.at.clear();
  }
}

/** Tells the store where the packed content of a listing is (before anything reads it). */
export function registerListing(store: ContentStore, listing: DebListing): DebListing {
  if (!listing.packs) return listing;
  for (const e of listing.entries) {
    if (e.pack !== undefined && e.sha256) store.registerPacked(e.sha256, { pack: listing.packs[e.pack]!, offset: e.offset!, size: e.size });
  }
  return listing;
}

/** The cached listing of a .deb, registered with the store; undefined when there is none. */
export async function cachedListing(store: ContentStore, debSha256: string): Promise<DebListing | undefined> {
  const cached = await store.getMeta<DebListing>(KIND, debSha256);
  return cached?.v === 1 ? registerListing(store, cached) : undefined;
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
    const cached = await cachedListing(store, debSha256);
    if (cached) return cached;
  }
  const debPath = store.blobPath(debSha256);
  const entries: ListedEntry[] = [];
  const byPath = new Map<string, ListedEntry>();
  const writes = store.batch();
  const packer = new PackWriter(store, writes);
  try {
    const symlinks = new Set<string>();
    for await (const { entry, body } of (await loadDeb()).readDebData(debPath, { label })) {
      if (symlinks.size) refuseThroughSymlink(label, entry.path, symlinks, byPath);
      if (entry.type === 'symlink') symlinks.add(entry.path);
      else symlinks.delete(entry.path);
      const listed: ListedEntry = { ...entry };
      if (entry.type === 'file' && body) {
        const what = `${label}: ${entry.path}`;
        if (opts.keep && !opts.keep(entry.path)) listed.sha256 = (await readSized(body, entry.size, what, { keep: false })).sha256;
        else if (entry.size <= PACK_MEMBER_MAX) {
          const { sha256, pack, offset } = await packer.add(body, entry.size, what);
          Object.assign(listed, { sha256, pack, offset });
        } else
          listed.sha256 = (
            entry.size <= SMALL_BLOB ? await store.putSmall(body, entry.size, writes, what) : await store.putStream(body, undefined, what)
          ).sha256;
      } else if (entry.type === 'hardlink') {
        const target = byPath.get(entry.link!);
        if (target?.type !== 'file') {
          throw new ChiselError(
            `${label}: hard link ${entry.path} points to ${entry.link}, which is not an earlier regular file in the package`,
            { code: 'bad-package' },
          );
        }
        listed.sha256 = target.sha256!;
        listed.size = target.size;
        if (target.pack !== undefined) Object.assign(listed, { pack: target.pack, offset: target.offset });
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
  await packer.close();
  await writes.flush();
  const ctl = await (await loadDeb()).readDebControl(debPath, { label });
  const listing: DebListing = {
    v: 1,
    entries,
    control: ctl.control,
    ...(ctl.md5sums !== undefined ? { md5sums: ctl.md5sums } : {}),
    ...(packer.packs.length ? { packs: packer.packs } : {}),
  };
  await store.putMeta(KIND, debSha256, listing);
  return registerListing(store, listing);
}

/** A path under an earlier symlink of the package would be written through it (dpkg refuses that too). */
function refuseThroughSymlink(label: string, p: string, symlinks: Set<string>, byPath: Map<string, ListedEntry>): void {
  for (let dir = p.slice(0, p.lastIndexOf('/')); dir; dir = dir.slice(0, dir.lastIndexOf('/'))) {
    if (symlinks.has(dir)) {
      throw new ChiselError(
        `${label}: ${p} lies under ${dir}, a symlink to ${byPath.get(dir)?.link} earlier in the package; refusing to write through a symlink`,
        {
          code: 'bad-package',
          hint: 'the package is malformed or hostile; report it to its maintainer',
        },
      );
    }
  }
}
