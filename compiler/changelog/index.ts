// Why a package moved from one version to another, from its Debian
// changelog: the entries between the two versions, their highest urgency and
// the CVE ids they mention. Where the new .deb comes from is the caller's
// (the content cache and the archive client: see compiler/cli/lock.ts and
// outdated.ts).

import type { ContentStore } from '../cache/store.js';
import { debChangelog } from './deb.js';
import { allCves, entriesBetween, highestUrgency, type ChangelogEntry } from './parse.js';

export { allCves, cveIds, entriesBetween, highestUrgency, parseChangelog, type ChangelogEntry } from './parse.js';
export { debChangelog, type DebChangelog } from './deb.js';

export interface VersionChange {
  name: string;
  arch: string;
  from: string;
  to: string;
}

export interface ChangeNotes extends VersionChange {
  /** The changelog entries newer than `from` and not newer than `to`, in the changelog's order. */
  entries: ChangelogEntry[];
  /** The highest urgency of the entries (none when there are no entries). */
  urgency?: string;
  cves: string[];
  /** Where the entries come from: "pkg" (its own changelog), another package of the same source (its doc directory is a symlink to it), or "none". */
  changelog: string;
}

/** The .deb of package `name` (the new side of a change), or undefined when there is none to read. */
export type DebLookup = (name: string, arch: string) => Promise<{ path: string; sha256: string } | undefined>;

/** The notes of each change, in order; a package whose doc directory is a symlink is read through the package it names (once). */
export async function changeNotes(changes: VersionChange[], store: ContentStore, lookup: DebLookup): Promise<ChangeNotes[]> {
  return Promise.all(
    changes.map(async (c) => {
      let name = c.name;
      for (let hops = 0; hops < 3; hops++) {
        const deb = await lookup(name, c.arch);
        if (!deb) break;
        const log = await debChangelog(store, deb.path, deb.sha256, name);
        if (log.entries.length || !log.docLink || log.docLink === name) {
          if (!log.entries.length) break;
          const entries = entriesBetween(log.entries, c.from, c.to);
          const urgency = highestUrgency(entries);
          return { ...c, entries, ...(urgency ? { urgency } : {}), cves: allCves(entries), changelog: name };
        }
        name = log.docLink;
      }
      return { ...c, entries: [], cves: [], changelog: 'none' };
    }),
  );
}
