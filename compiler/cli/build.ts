// chisel-ts build IMAGE.yaml: the build an image file describes; flags given
// on the command line override the file.

import type { Command } from 'commander';
import { Reporter } from './common.js';
import { addAccessOptions, addImageOptions, addLockOptions, addOutputOptions } from './imageflags.js';
import { buildAndReport, specFromImageFile, type SpecFlags } from './specs.js';

export function register(program: Command): void {
  const cmd = program
    .command('build')
    .description('build what an image file describes (release, archs, slices, image config, outputs)')
    .argument('<image-file>', 'image YAML file (schema: runtime-schema/image.schema.json)')
    .option('--arch <archs>', 'override the architectures of the file, comma-separated')
    .option('--context <dir>', "the build context files: read from (default: the file's context: key, or its directory)");
  addLockOptions(addAccessOptions(addImageOptions(addOutputOptions(cmd)))).action(async (file: string, flags: SpecFlags) => {
    const report = new Reporter(flags);
    const started = Date.now();
    await buildAndReport(await specFromImageFile(file, flags, report, { outputsRequired: true }), flags, report, started);
  });
}
