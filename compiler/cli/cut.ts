// chisel-ts cut: slices (and sets) of a release -> root directory, tarball,
// OCI layout / archive, registry. One or more architectures.

import type { Command } from 'commander';
import { build } from '../image/build.js';
import { addReleaseOption, Reporter } from './common.js';
import { addAccessOptions, addImageOptions, addLockOptions, addOutputOptions, buildReport, reportSetId, summary } from './imageflags.js';
import { applyLock, specFromSlices, type SpecFlags } from './specs.js';

export function register(program: Command): void {
  const cmd = addReleaseOption(program.command('cut'))
    .description('resolve slices and their essentials, fetch the packages and cut them into a root directory, tarball or OCI image')
    .argument('<slices...>', 'slices (package_slice) or sets of the release')
    .option('--arch <archs>', "Debian architecture(s), comma-separated (default: the host's)");
  addLockOptions(addAccessOptions(addImageOptions(addOutputOptions(cmd)))).action(async (slices: string[], flags: SpecFlags) => {
    const report = new Reporter(flags);
    const started = Date.now();
    const cs = await specFromSlices(slices, flags, report, { outputsRequired: true });
    if (flags.locked) await applyLock(cs);
    const result = await build(cs.spec);
    reportSetId(report, result);
    if (flags.json) process.stdout.write(`${JSON.stringify(buildReport(cs.spec, result), null, 2)}\n`);
    else report.info(summary(cs.spec, result, (Date.now() - started) / 1000));
  });
}
