// chisel-ts build IMAGE.yaml: the build an image file describes; flags given
// on the command line override the file.

import type { Command } from 'commander';
import { build, checkOutputs, type BuildSpec } from '../image/build.js';
import { loadImageFile } from '../image/imagefile.js';
import { loadRelease, resolveReleaseDir } from '../release/index.js';
import { hostArch } from '../util/arch.js';
import { releaseCacheDir, Reporter } from './common.js';
import { accessSpec, addAccessOptions, addImageOptions, addOutputOptions, buildReport, flagConfig, flagOutputs, parseArchs, parseCompression, summary, type ImageFlags } from './imageflags.js';

export function register(program: Command): void {
  const cmd = program
    .command('build')
    .description('build what an image file describes (release, archs, slices, image config, outputs)')
    .argument('<image-file>', 'image YAML file (schema: runtime-schema/image.schema.json)')
    .option('--arch <archs>', 'override the architectures of the file, comma-separated');
  addAccessOptions(addImageOptions(addOutputOptions(cmd))).action(async (file: string, flags: ImageFlags) => {
    const report = new Reporter(flags);
    const started = Date.now();
    const img = await loadImageFile(file);
    const outputs = { ...img.outputs, ...flagOutputs(flags) };
    const archs = parseArchs(flags.arch) ?? img.archs ?? [hostArch()];
    checkOutputs({ outputs, archs });
    const release = await loadRelease(resolveReleaseDir(img.release), { cacheDir: releaseCacheDir(flags) });
    const fromFlags = flagConfig(flags);
    const tag = flags.tag ?? img.tag;
    const compression = parseCompression(flags.compression) ?? img.compression;
    const spec: BuildSpec = {
      release,
      slices: img.slices,
      archs,
      outputs,
      ...(tag ? { tag } : {}),
      ...(compression ? { compression } : {}),
      config: { ...img.config, ...fromFlags },
      nonroot: Boolean(flags.nonroot) || img.nonroot,
      ...(img.sourceDateEpoch !== undefined && process.env.SOURCE_DATE_EPOCH === undefined ? { epoch: img.sourceDateEpoch } : {}),
      ...accessSpec(flags, report),
    };
    const result = await build(spec);
    if (flags.json) process.stdout.write(`${JSON.stringify(buildReport(spec, result), null, 2)}\n`);
    else report.info(summary(spec, result, (Date.now() - started) / 1000));
  });
}
