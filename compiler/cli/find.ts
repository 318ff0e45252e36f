// chisel-ts find: search slices by name (fuzzy, globs) or by the path they ship.

import type { Command } from 'commander';
import { findSlices, loadRelease, resolveReleaseDir } from '../release/index.js';
import { addCacheOption, addReleaseOption, releaseCacheDir } from './common.js';

export function register(program: Command): void {
  addCacheOption(addReleaseOption(program.command('find')))
    .description('find slices by name (fuzzy; globs allowed; "_x" matches slice names) or by a path they ship ("/usr/bin/python3")')
    .argument('<term...>', 'search terms')
    .option('--json', 'print JSON')
    .action(async (terms: string[], flags: { release?: string; json?: boolean; cacheDir?: string }) => {
      const release = await loadRelease(resolveReleaseDir(flags.release), { cacheDir: releaseCacheDir(flags) });
      const found = findSlices(release, terms);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
        return;
      }
      if (found.length === 0) {
        process.stderr.write(`no slices match ${terms.join(' ')}\n`);
        process.exitCode = 1;
        return;
      }
      const w = Math.max(5, ...found.map((f) => f.slice.length));
      process.stdout.write(`${'Slice'.padEnd(w)}  ${found.some((f) => f.via) ? 'Path' : 'Summary'}\n`);
      for (const f of found) process.stdout.write(`${f.slice.padEnd(w)}  ${f.via ?? f.summary}\n`);
    });
}
