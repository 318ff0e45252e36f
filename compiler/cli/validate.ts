// chisel-ts validate: load a release and run every check.

import type { Command } from 'commander';
import { loadRelease, resolveReleaseDir } from '../release/index.js';
import { ChiselError, ChiselErrors, ExitCode, formatLocated } from '../util/errors.js';
import { addCacheOption, addReleaseOption, releaseCacheDir } from './common.js';

export function register(program: Command): void {
  addCacheOption(addReleaseOption(program.command('validate')))
    .description('check a release definition: schema, slice rules, path conflicts, prefer, essentials')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (flags: { release?: string; json?: boolean; cacheDir?: string }) => {
      const dir = resolveReleaseDir(flags.release);
      let errors: ChiselError[] = [];
      let warnings: ChiselError[] = [];
      let packages = 0;
      let slices = 0;
      let bases: string[] = [];
      try {
        const r = await loadRelease(dir, { cacheDir: releaseCacheDir(flags) });
        packages = r.packages.size;
        warnings = r.warnings ?? [];
        // An overlay's bases, nearest first.
        bases = (r.layers ?? [])
          .slice(0, -1)
          .map((l) => l.label)
          .reverse();
        for (const p of r.packages.values()) slices += p.slices.size;
      } catch (e) {
        if (e instanceof ChiselErrors) errors = e.errors;
        else if (e instanceof ChiselError) errors = [e];
        else throw e;
      }
      process.exitCode = errors.length ? ExitCode.FAILURE : ExitCode.OK;
      const located = (e: ChiselError) => ({
        file: e.location?.file,
        line: e.location?.line,
        col: e.location?.col,
        message: e.message,
        code: e.code,
      });
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ release: dir, ...(bases.length ? { extends: bases } : {}), valid: errors.length === 0, packages, slices, errors: errors.map(located), warnings: warnings.map(located) }, null, 2)}\n`,
        );
        return;
      }
      // Warnings: what Chisel accepts but is likely a mistake; they never fail the command.
      for (const w of warnings) process.stderr.write(`${formatLocated(w.location, `warning: ${w.message}`)}\n`);
      if (errors.length) {
        for (const e of errors) process.stderr.write(`${e.toString()}\n`);
        process.stderr.write(`${errors.length} error${errors.length === 1 ? '' : 's'} in release ${dir}\n`);
      } else {
        const noted = warnings.length ? ` (${warnings.length} warning${warnings.length === 1 ? '' : 's'})` : '';
        const over = bases.length ? `, extending ${bases.join(', ')}` : '';
        process.stdout.write(`release ${dir} is valid: ${packages} packages, ${slices} slices${over}${noted}\n`);
      }
    });
}
