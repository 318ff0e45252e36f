// chisel-ts validate: load a release and run every check.

import type { Command } from 'commander';
import { loadRelease, resolveReleaseDir } from '../release/index.js';
import { ChiselError, ChiselErrors, ExitCode } from '../util/errors.js';
import { addCacheOption, addReleaseOption, releaseCacheDir } from './common.js';

export function register(program: Command): void {
  addCacheOption(addReleaseOption(program.command('validate')))
    .description('check a release definition: schema, slice rules, path conflicts, prefer, essentials')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (flags: { release?: string; json?: boolean; cacheDir?: string }) => {
      const dir = resolveReleaseDir(flags.release);
      let errors: ChiselError[] = [];
      let packages = 0;
      let slices = 0;
      try {
        const r = await loadRelease(dir, { cacheDir: releaseCacheDir(flags) });
        packages = r.packages.size;
        for (const p of r.packages.values()) slices += p.slices.size;
      } catch (e) {
        if (e instanceof ChiselErrors) errors = e.errors;
        else if (e instanceof ChiselError) errors = [e];
        else throw e;
      }
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ release: dir, valid: errors.length === 0, packages, slices, errors: errors.map((e) => ({ file: e.location?.file, line: e.location?.line, col: e.location?.col, message: e.message, code: e.code })) }, null, 2)}\n`,
        );
      } else if (errors.length) {
        for (const e of errors) process.stderr.write(`${e.toString()}\n`);
        process.stderr.write(`${errors.length} error${errors.length === 1 ? '' : 's'} in release ${dir}\n`);
      } else {
        process.stdout.write(`release ${dir} is valid: ${packages} packages, ${slices} slices\n`);
      }
      process.exitCode = errors.length ? ExitCode.FAILURE : ExitCode.OK;
    });
}
