// Debian changelogs (debian/changelog, as installed in
// /usr/share/doc/<pkg>/changelog.Debian.gz): the entries, each with its
// version, distributions, urgency and the CVE ids its text mentions; and the
// entries between two versions, by dpkg's version ordering.
//
//   package (version) distribution(s); urgency=high
//
//     * Fix CVE-2025-1234 ...
//
//    -- Maintainer <m@example.org>  Mon, 01 Jan 2025 00:00:00 +0000

import { compareVersions } from '../archive/version.js';

export interface ChangelogEntry {
  /** The source package the entry names. */
  source: string;
  version: string;
  distributions: string[];
  /** low, medium, high, emergency or critical (lowercased; "medium" when the header names none). */
  urgency: string;
  /** CVE ids the entry's text mentions, sorted by year and number, each once. */
  cves: string[];
  /** The trailer's date, as written ("" when the entry has no trailer). */
  date: string;
}

// dpkg's Dpkg::Changelog::Entry::Debian header and trailer
const HEADER = /^(\w[-+0-9a-z.]*) \(([^() \t]+)\)((?:\s+[-+0-9a-z.]+)+);(.*?)\s*$/i;
const TRAILER = /^ -- (.*) <(.*)>( {1,2})((\w+,\s*)?\d{1,2}\s+\w+\s+\d{4}\s+\d{1,2}:\d\d:\d\d\s+[-+]\d{4}.*?)\s*$/;
const CVE = /\bCVE-(\d{4})-(\d{4,})\b/gi;

/** Entries of a changelog text, newest first as written; lines outside any entry (old-format tails) are ignored. */
export function parseChangelog(text: string): ChangelogEntry[] {
  const out: ChangelogEntry[] = [];
  let cur: (ChangelogEntry & { body: string[] }) | undefined;
  const flush = () => {
    if (!cur) return;
    const { body, ...e } = cur;
    out.push({ ...e, cves: cveIds(body.join('\n')) });
    cur = undefined;
  };
  for (const line of text.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      flush();
      cur = {
        source: h[1]!,
        version: h[2]!,
        distributions: h[3]!.trim().split(/\s+/),
        urgency: urgencyOf(h[4]!),
        cves: [],
        date: '',
        body: [],
      };
      continue;
    }
    if (!cur) continue;
    const t = TRAILER.exec(line);
    if (t) {
      cur.date = t[4]!;
      flush();
      continue;
    }
    // an old-format tail ("Old Changelog:", "Local variables:") ends the entries
    if (/^(?:Old Changelog:|Local variables:|;;\s)/i.test(line)) {
      flush();
      break;
    }
    cur.body.push(line);
  }
  flush();
  return out;
}

/** "urgency=high, binary-only=yes" -> "high"; a comment after the value ("medium (high for X)") is dropped. */
function urgencyOf(keywords: string): string {
  const m = /(?:^|[,\s])urgency\s*=\s*([A-Za-z]+)/i.exec(keywords);
  return m ? m[1]!.toLowerCase() : 'medium';
}

/** The CVE ids a text mentions: upper case, once each, by year then number. */
export function cveIds(text: string): string[] {
  const seen = new Map<string, [number, number]>();
  for (const m of text.matchAll(CVE)) seen.set(`CVE-${m[1]}-${m[2]}`, [Number(m[1]), Number(m[2])]);
  return [...seen.entries()].sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1]).map(([id]) => id);
}

/**
 * The entries newer than `from` and not newer than `to` (dpkg ordering), in
 * the changelog's order (newest upload first: an experimental upload of a
 * higher version can come before an unstable one of a lower version).
 */
export function entriesBetween(entries: ChangelogEntry[], from: string, to: string): ChangelogEntry[] {
  return entries.filter((e) => compareVersions(e.version, from) > 0 && compareVersions(e.version, to) <= 0);
}

const URGENCY_ORDER = ['low', 'medium', 'high', 'emergency', 'critical'];

/** The highest urgency of the entries (unknown words rank below "low"), or undefined when there are none. */
export function highestUrgency(entries: ChangelogEntry[]): string | undefined {
  let best: string | undefined;
  for (const e of entries) if (best === undefined || URGENCY_ORDER.indexOf(e.urgency) > URGENCY_ORDER.indexOf(best)) best = e.urgency;
  return best;
}

/** The CVE ids of all the entries, once each, in order. */
export function allCves(entries: ChangelogEntry[]): string[] {
  return cveIds(entries.flatMap((e) => e.cves).join(' '));
}
