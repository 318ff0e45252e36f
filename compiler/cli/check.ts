// chisel-ts check: cut each slice of a release (or the ones named) with its
// essentials and check the root: ELF libraries and interpreters, symlinks,
// the slices' smoke tests. A table (or --json); exit 1 on any failure.

import type { Command } from 'commander';
import { ContentStore, defaultCacheDir } from '../cache/store.js';
import { checkRelease, type SliceCheck } from '../check/index.js';
import { loadRelease, resolveReleaseDir } from '../release/index.js';
import { hostArch } from '../util/arch.js';
import { ExitCode } from '../util/errors.js';
import { addReleaseOption, collect, parseArchiveUrls, parseIgnore, releaseCacheDir, Reporter } from './common.js';

interface CheckFlags {
  release?: string;
  arch?: string;
  cacheDir?: string;
  offline?: boolean;
  archiveUrl?: string[];
  ignore?: string[];
  workDir?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command): void {
  addReleaseOption(program.command('check'))
    .description(
      "cut each slice (or the slices, sets or packages named) with its essentials and check the root: every ELF's libraries and interpreter, every symlink, the slice's smoke tests",
    )
    .argument('[slices...]', 'slices (package_slice), sets or packages of the release (default: every slice)')
    .option('--arch <arch>', "Debian architecture (default: the host's)")
    .option('--cache-dir <dir>', 'content cache (default: $XDG_CACHE_HOME/chisel-ts)')
    .option('--offline', 'use only the cache; never touch the network')
    .option('--archive-url <name=url>', 'base URL for an archive of the release (repeatable; env CHISEL_TS_ARCHIVE_URL_<NAME>)', collect)
    .option('--ignore <what>', 'check even when the release is "unmaintained" or "unstable" (repeatable)', collect)
    .option('--work-dir <dir>', 'where roots with smoke tests are written for the run (default: the temporary directory)')
    .option('--json', 'print the results as JSON on stdout')
    .option('--quiet', 'no progress output')
    .option('--verbose', 'also list the notes (libraries off the search path) and passing smoke tests')
    .action(async (names: string[], flags: CheckFlags) => {
      const report = new Reporter(flags);
      const release = await loadRelease(resolveReleaseDir(flags.release), { cacheDir: releaseCacheDir(flags) });
      const arch = flags.arch ?? hostArch();
      const results = await checkRelease({
        release,
        names,
        arch,
        store: new ContentStore(flags.cacheDir ?? defaultCacheDir()),
        offline: Boolean(flags.offline),
        urlOverrides: parseArchiveUrls(flags.archiveUrl),
        ignore: parseIgnore(flags.ignore),
        ...(flags.workDir ? { workDir: flags.workDir } : {}),
        archives: { onNotice: (m) => report.notice(m) },
        onResult: (r, done, total) => report.status(`[${arch}] ${done}/${total} checked: ${r.name} ${r.result}`),
      });
      report.clearStatus();
      const failed = results.filter((r) => r.result === 'fail').length;
      process.exitCode = failed ? ExitCode.FAILURE : ExitCode.OK;
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ release: release.dir, arch, passed: results.length - failed, failed, results: results.map(jsonOf) }, null, 2)}\n`,
        );
        return;
      }
      process.stdout.write(table(results, Boolean(flags.verbose)));
      process.stdout.write(`${results.length} checked on ${arch}: ${results.length - failed} passed, ${failed} failed\n`);
    });
}

function jsonOf(r: SliceCheck): Record<string, unknown> {
  const { ms: _ms, ...rest } = r;
  return rest;
}

/** KiB or MiB, one decimal. */
export function sizeText(bytes: number): string {
  return bytes < 1 << 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

/** slice | result | size | smoke tests | problems: one row per slice, each further problem on a row of its own. */
export function table(results: SliceCheck[], verbose: boolean): string {
  const smokeText = (r: SliceCheck) => {
    if (!r.smoke.length) return '-';
    const count = (k: string) => r.smoke.filter((s) => s.result === k).length;
    return (['pass', 'fail', 'skipped'] as const)
      .filter((k) => count(k) > 0)
      .map((k) => `${count(k)} ${k}`)
      .join(', ');
  };
  const rows: string[][] = [['SLICE', 'RESULT', 'SIZE', 'SMOKE', 'PROBLEMS']];
  const skipped = new Set<string>();
  for (const r of results) {
    const lines = [...r.problems, ...(verbose ? r.notes.map((n) => `note: ${n}`) : [])];
    rows.push([r.name, r.result, sizeText(r.size), smokeText(r), lines[0] ?? '-']);
    for (const l of lines.slice(1)) rows.push(['', '', '', '', l]);
    for (const s of r.smoke) if (s.result === 'skipped' && s.reason) skipped.add(s.reason);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  const text = rows.map((row) =>
    row
      .map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd(),
  );
  for (const why of skipped) text.push(`smoke tests skipped: ${why}`);
  return `${text.join('\n')}\n`;
}
