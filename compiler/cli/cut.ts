// chisel-ts cut: slices (and sets) of a release -> root directory, tarball,
// OCI layout / archive, registry. One or more architectures.

import type { Command } from 'commander';
import { build, checkOutputs, type BuildSpec } from '../image/build.js';
import { loadRelease, resolveReleaseDir } from '../release/index.js';
import { hostArch } from '../util/arch.js';
import { addReleaseOption, releaseCacheDir, Reporter } from './common.js';
import { accessSpec, addAccessOptions, addImageOptions, addOutputOptions, buildReport, flagConfig, flagOutputs, parseArchs, parseCompression, summary, type ImageFlags } from './imageflags.js';

interface CutFlags extends ImageFlags {
  release?: string;
}

export function register(program: Command): void {
  const cmd = addReleaseOption(program.command('cut'))
    .description('resolve slices and their essentials, fetch the packages and cut them into a root directory, tarball or OCI image')
    .argument('<slices...>', 'slices (package_slice) or sets of the release')
    .option('--arch <archs>', "Debian architecture(s), comma-separated (default: the host's)");
  addAccessOptions(addImageOptions(addOutputOptions(cmd))).action(async (slices: string[], flags: CutFlags) => {
    await runCut(slices, flags);
  });
}

export async function runCut(slices: string[], flags: CutFlags): Promise<void> {
  const report = new Reporter(flags);
  const started = Date.now();
  const archs = parseArchs(flags.arch) ?? [hostArch()];
  checkOutputs({ outputs: flagOutputs(flags), archs });
  const release = await loadRelease(resolveReleaseDir(flags.release), { cacheDir: releaseCacheDir(flags) });
  const compression = parseCompression(flags.compression);
  const spec: BuildSpec = {
    release,
    slices,
    archs,
    outputs: flagOutputs(flags),
    ...(flags.tag ? { tag: flags.tag } : {}),
    ...(compression ? { compression } : {}),
    config: flagConfig(flags),
    nonroot: Boolean(flags.nonroot),
    ...accessSpec(flags, report),
  };
  const result = await build(spec);
  if (flags.json) process.stdout.write(`${JSON.stringify(buildReport(spec, result), null, 2)}\n`);
  else report.info(summary(spec, result, (Date.now() - started) / 1000));
}
