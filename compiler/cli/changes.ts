// What `lock --diff` and `outdated` share: the release a lockfile was made
// from, the archive access flags, and the changelog notes of version changes
// (the new .debs fetched by hash into the content cache, verified).

import type { Command } from 'commander';
import { openArchives, type ArchiveSet } from '../archive/index.js';
import { ContentStore, defaultCacheDir } from '../cache/store.js';
import { changeNotes, type ChangeNotes, type VersionChange } from '../changelog/index.js';
import type { ChangedPackage } from '../lock/index.js';
import { loadRelease, resolveReleaseDir } from '../release/index.js';
import type { Release } from '../release/model.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import { collect, parseArchiveUrls, releaseCacheDir, type Reporter } from './common.js';

export interface AccessFlags {
  release?: string;
  cacheDir?: string;
  offline?: boolean;
  archiveUrl?: string[];
  json?: boolean;
  format?: string;
  quiet?: boolean;
  verbose?: boolean;
}

export function addChangeOptions(cmd: Command): Command {
  return cmd
    .option('--cache-dir <dir>', 'content cache (default: $XDG_CACHE_HOME/chisel-ts)')
    .option('--archive-url <name=url>', 'base URL for an archive of the release (repeatable; env CHISEL_TS_ARCHIVE_URL_<NAME>)', collect)
    .option('--format <f>', 'text (default), markdown (a pull-request comment) or json')
    .option('--json', 'the same as --format json');
}

export type OutputFormat = 'text' | 'markdown' | 'json';

export function outputFormat(flags: AccessFlags): OutputFormat {
  if (flags.json) return 'json';
  const f = flags.format ?? 'text';
  if (f !== 'text' && f !== 'markdown' && f !== 'json')
    throw new ChiselError(`--format ${JSON.stringify(f)}: expected text, markdown or json`, { code: 'usage', exitCode: ExitCode.USAGE });
  return f;
}

/** The release a lockfile names (a shipped one), or --release. */
export async function lockRelease(flags: AccessFlags, name: string): Promise<Release> {
  let dir: string;
  try {
    dir = resolveReleaseDir(flags.release ?? name);
  } catch (e) {
    if (flags.release !== undefined) throw e;
    throw new ChiselError(`the lockfile was made from release "${name}", which is not a release shipped with chisel-ts`, {
      code: 'release',
      hint: 'pass its directory with --release DIR (the packages are fetched through its archives)',
    });
  }
  return loadRelease(dir, { cacheDir: releaseCacheDir(flags) });
}

/** The archives of a release, one set per architecture, opened once each. */
export class Archives {
  readonly store: ContentStore;
  private readonly sets = new Map<string, Promise<ArchiveSet>>();
  constructor(
    readonly release: Release,
    private readonly flags: AccessFlags,
    private readonly report: Reporter,
  ) {
    this.store = new ContentStore(flags.cacheDir ?? defaultCacheDir());
  }
  forArch(arch: string): Promise<ArchiveSet> {
    let s = this.sets.get(arch);
    if (!s) {
      s = openArchives(this.release, arch, {
        store: this.store,
        offline: Boolean(this.flags.offline),
        urlOverrides: parseArchiveUrls(this.flags.archiveUrl),
        onNotice: (m) => this.report.notice(m),
      });
      this.sets.set(arch, s);
    }
    return s;
  }
}

/** A package as a lockfile or an index names it: enough to fetch its .deb by hash. */
export interface DebRef {
  name: string;
  version: string;
  arch: string;
  archive: string;
  filename: string;
  sha256: string;
}

/**
 * The changelog notes of each change: `newSide(name, arch)` names the new
 * package (for a change, and for the package its doc directory points to),
 * fetched through the archives of `fetchArch` (or taken from the cache).
 */
export async function notesOf(
  changes: VersionChange[],
  archives: Archives,
  fetchArch: string,
  newSide: (name: string, arch: string) => DebRef | undefined | Promise<DebRef | undefined>,
): Promise<ChangeNotes[]> {
  const set = await archives.forArch(fetchArch);
  return changeNotes(changes, archives.store, async (name, arch) => {
    const p = await newSide(name, arch);
    if (!p) return undefined;
    return { path: await set.fetchDeb(p), sha256: p.sha256 };
  });
}

/** The notes put on the diff's changed packages. */
export function annotate(changed: ChangedPackage[], notes: ChangeNotes[]): void {
  changed.forEach((c, i) => {
    const n = notes[i]!;
    c.changelog = n.changelog;
    c.entries = n.entries;
    if (n.urgency) c.urgency = n.urgency;
    c.cves = n.cves;
  });
}
