// A package's changelog, read from its .deb: /usr/share/doc/<pkg>/
// changelog.Debian.gz (and changelog.Debian.<arch>.gz of a binNMU, or
// changelog.gz of a native package). A package whose doc directory is a
// symlink to another package's names that package instead. Parsed once per
// .deb (by its sha256) and kept in the content store's side data.

import zlib from 'node:zlib';
import type { ContentStore } from '../cache/store.js';
import { readBody, readDebData } from '../deb/index.js';
import { ChiselError } from '../util/errors.js';
import { parseChangelog, type ChangelogEntry } from './parse.js';

export interface DebChangelog {
  /** The changelog files read (paths in the package), empty when it has none. */
  files: string[];
  entries: ChangelogEntry[];
  /** The package whose doc directory /usr/share/doc/<pkg> points to (a symlink), when it does. */
  docLink?: string;
}

const MAX_COMPRESSED = 16 << 20;
const MAX_TEXT = 64 << 20;
const META = 'changelog';
const META_VERSION = 1;

/** The changelog of package `name` in the .deb at `debPath` (whose sha256 is `sha256`), from the cache when read before. */
export async function debChangelog(store: ContentStore, debPath: string, sha256: string, name: string): Promise<DebChangelog> {
  const key = `${sha256}-${name}`.replace(/[^A-Za-z0-9._+-]/g, '_');
  const hit = await store.getMeta<{ v: number; changelog: DebChangelog }>(META, key);
  if (hit?.v === META_VERSION) return hit.changelog;
  const changelog = await readChangelog(debPath, name);
  await store.putMeta(META, key, { v: META_VERSION, changelog });
  return changelog;
}

async function readChangelog(debPath: string, name: string): Promise<DebChangelog> {
  const dir = `/usr/share/doc/${name}`;
  const wanted = (p: string) =>
    p === `${dir}/changelog.Debian.gz` ||
    p === `${dir}/changelog.gz` ||
    /^changelog\.Debian\.[a-z0-9-]+\.gz$/.test(p.slice(dir.length + 1));
  const texts: Array<[string, string]> = [];
  let docLink: string | undefined;
  let seenDir = false;
  for await (const { entry, body } of readDebData(debPath, { label: name })) {
    const inDir = entry.path === dir || entry.path.startsWith(`${dir}/`);
    if (!inDir) {
      // dpkg-deb writes a directory's entries together: past it, nothing more is to be found
      if (seenDir && (texts.length || docLink)) break;
      continue;
    }
    seenDir = true;
    if (entry.path === dir && entry.type === 'symlink' && entry.link) docLink = entry.link.replace(/\/+$/, '').split('/').pop();
    else if (entry.path.startsWith(`${dir}/`) && wanted(entry.path) && entry.type === 'file' && body) {
      texts.push([entry.path, gunzip(await readBody(body, MAX_COMPRESSED, name, entry.path), name, entry.path)]);
    }
  }
  // the binNMU changelog (changelog.Debian.<arch>.gz) holds the newest entries
  texts.sort((a, b) => rank(a[0]) - rank(b[0]) || (a[0] < b[0] ? -1 : 1));
  const entries = texts.flatMap(([, t]) => parseChangelog(t));
  return { files: texts.map(([p]) => p), entries, ...(docLink ? { docLink } : {}) };
}

function rank(p: string): number {
  return /changelog\.Debian\.[^/]+\.gz$/.test(p) ? 0 : 1;
}

function gunzip(data: Buffer, label: string, file: string): string {
  try {
    return zlib.gunzipSync(data, { maxOutputLength: MAX_TEXT }).toString('utf8');
  } catch (e) {
    throw new ChiselError(`${label}: ${file} is not a readable gzip file: ${(e as Error).message}`, {
      code: 'changelog',
      hint: 'the package is damaged; run `chisel-ts cache verify --repair`',
    });
  }
}
