// chisel-ts cut: slices -> a root directory (and, with the output flags, a
// tarball and an OCI image).

import type { Command } from 'commander';
import { openArchives } from '../archive/index.js';
import { ContentStore, defaultCacheDir } from '../cache/store.js';
import { writeDir } from '../output/dir.js';
import { loadRelease, resolveReleaseDir } from '../release/index.js';
import { cut } from '../slicer/cut.js';
import { hostArch } from '../util/arch.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import { addReleaseOption, collect, releaseCacheDir, parseArchiveUrls, parseIgnore, Reporter } from './common.js';

interface CutFlags {
  release?: string;
  root?: string;
  arch?: string;
  ignore?: string[];
  cacheDir?: string;
  offline?: boolean;
  archiveUrl?: string[];
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command): void {
  addReleaseOption(program.command('cut'))
    .description('resolve slices and their essentials, fetch the packages and cut them into a root directory')
    .argument('<slices...>', 'slices (package_slice) or sets of the release')
    .option('--root <dir>', 'directory to write the root filesystem into (created when missing)')
    .option('--arch <arch>', 'Debian architecture (default: the host\'s)')
    .option('--ignore <what>', 'cut even when the release is "unmaintained" or "unstable" (repeatable)', collect)
    .option('--cache-dir <dir>', 'content cache (default: $XDG_CACHE_HOME/chisel-ts)')
    .option('--offline', 'use only the cache; never touch the network')
    .option('--archive-url <name=url>', 'base URL for an archive of the release (repeatable; env CHISEL_TS_ARCHIVE_URL_<NAME>)', collect)
    .option('--json', 'print a JSON report on stdout')
    .option('--quiet', 'no progress output')
    .option('--verbose', 'explain decisions: slices pulled in, archive and version picked')
    .action(async (slices: string[], flags: CutFlags) => {
      await runCut(slices, flags);
    });
}

export async function runCut(slices: string[], flags: CutFlags): Promise<void> {
  if (!flags.root) {
    throw new ChiselError('cut needs an output: --root DIR', { code: 'usage', exitCode: ExitCode.USAGE, hint: 'for example: chisel-ts cut --root ./rootfs base' });
  }
  const report = new Reporter(flags);
  const release = await loadRelease(resolveReleaseDir(flags.release), { cacheDir: releaseCacheDir(flags) });
  const store = new ContentStore(flags.cacheDir ?? defaultCacheDir());
  const arch = flags.arch ?? hostArch();
  const source = await openArchives(release, arch, {
    store,
    offline: Boolean(flags.offline),
    urlOverrides: parseArchiveUrls(flags.archiveUrl),
  });
  const started = Date.now();
  const result = await cut({
    release,
    slices,
    arch,
    store,
    source,
    ignore: parseIgnore(flags.ignore),
    onEvent: (ev) => {
      if (ev.kind === 'selected') report.verbose(`select ${ev.slice} (${ev.reason})`);
      else if (ev.kind === 'resolved') report.verbose(`package ${ev.package.name} ${ev.package.version} from archive ${ev.package.archive}${ev.package.suite ? ` (${ev.package.suite}/${ev.package.component})` : ''}`);
      else if (ev.kind === 'fetched') report.info(`fetched ${ev.package}`);
    },
  });
  await writeDir(result.tree, store, flags.root);
  const files = result.tree.entries.filter((e) => e.type === 'file').length;
  const bytes = result.tree.entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          root: flags.root,
          arch,
          slices: result.selection.slices.map((s) => `${s.package}_${s.name}`),
          packages: [...result.packages.values()].map(({ pkg }) => ({ name: pkg.name, version: pkg.version, arch: pkg.arch, archive: pkg.archive, sha256: pkg.sha256 })).sort((a, b) => (a.name < b.name ? -1 : 1)),
          entries: result.tree.entries.length,
          files,
          bytes,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    report.info(`cut ${result.selection.slices.length} slices of ${result.packages.size} packages into ${flags.root}: ${result.tree.entries.length} entries, ${(bytes / 1048576).toFixed(1)} MiB in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
}
