// chisel-ts cut: slices (and sets) of a release -> root directory, tarball,
// OCI layout / archive, registry. One or more architectures.

import type { Command } from 'commander';
import { addReleaseOption, Reporter } from './common.js';
import { addAccessOptions, addImageOptions, addLockOptions, addOutputOptions } from './imageflags.js';
import { buildAndReport, specFromSlices, type SpecFlags } from './specs.js';

export function register(program: Command): void {
  const cmd = addReleaseOption(program.command('cut'))
    .description('resolve slices and their essentials, fetch the packages and cut them into a root directory, tarball or OCI image')
    .argument('<slices...>', 'slices (package_slice) or sets of the release')
    .option('--arch <archs>', "Debian architecture(s), comma-separated (default: the host's)");
  addLockOptions(addAccessOptions(addImageOptions(addOutputOptions(cmd)))).action(async (slices: string[], flags: SpecFlags) => {
    const report = new Reporter(flags);
    const started = Date.now();
    await buildAndReport(await specFromSlices(slices, flags, report, { outputsRequired: true }), flags, report, started);
  });
}
