// The mirrors of one archive: the URL it resolved to, then the machine's other
// APT mirrors (sources.ts `alternatives`). An archive reads one snapshot of
// one mirror: every suite's InRelease and every index from the same mirror.
// When the mirror fails (an HTTP error, a stall, an index that does not match
// its InRelease as during a sync, an InRelease older than the lockfile's), the
// archive leaves it whole and reads the next mirror's snapshot from its
// InRelease on. A mirror that has others after it is asked with one retry and
// a shorter stall timeout, so the next one is asked soon.

import { ChiselError, ExitCode } from '../util/errors.js';
import type { HttpOptions } from './http.js';
import { parseReleaseDate, type Ctx, type InReleaseInfo } from './inrelease.js';

/** Where an archive is and how to ask it: its base URL and the HTTP options (with a pro archive's Basic auth). */
export interface Access {
  url: string;
  http: HttpOptions;
}

/** The date of an InRelease file a lockfile pins (the InRelease's Date field). */
export interface PinnedInRelease {
  archive: string;
  suite: string;
  date: string;
}

/** A failure of the mirror (the archive's own exit code), not of this machine (a full cache) or of --offline. */
export function isMirrorFault(e: unknown): boolean {
  return e instanceof ChiselError && e.exitCode === ExitCode.ARCHIVE && e.code !== 'offline-miss';
}

/** The HTTP options for mirror `i` of `mirrors`: fail fast unless it is the last. */
export function mirrorHttp(mirrors: Access[], i: number): HttpOptions {
  const { http } = mirrors[i]!;
  if (i === mirrors.length - 1) return http;
  return { ...http, retries: Math.min(http.retries ?? 1, 1), timeoutMs: Math.min(http.timeoutMs ?? 10_000, 10_000) };
}

/** Refuse an InRelease older than the one the lockfile pins: the mirror has not caught up (or replays an old one). */
export function checkNotOlder(info: InReleaseInfo, pinned: PinnedInRelease | undefined, ctx: Ctx): void {
  const want = pinned && parseReleaseDate(pinned.date);
  if (!want || !info.dateParsed || info.dateParsed.getTime() >= want.getTime()) return;
  throw new ChiselError(
    `archive ${ctx.archive} suite ${ctx.suite}: the mirror's InRelease (Date ${info.date}) is older than the one the lockfile pins (Date ${pinned.date})`,
    {
      code: 'mirror-stale',
      exitCode: ExitCode.ARCHIVE,
      hint: 'the mirror has not caught up: use an up-to-date mirror (--archive-url, or another APT source)',
    },
  );
}

/** Every mirror failed: one error naming each and why (the code and hint of the first: the archive's own URL; the others are fallbacks). */
export function allMirrorsFailed(archive: string, failures: Array<{ url: string; error: ChiselError }>): ChiselError {
  const first = failures[0]!.error;
  if (failures.length === 1) return first;
  return new ChiselError(`archive ${archive}: every mirror failed: ${failures.map((f) => `${f.url}: ${f.error.message}`).join('; ')}`, {
    code: first.code,
    exitCode: first.exitCode,
    ...(first.hint ? { hint: first.hint } : {}),
    cause: first,
  });
}
