// From the command line (slices + flags, or an image file + flags) to a
// BuildSpec; and the lockfile steps `cut`, `build` and `lock` share.

import { trace } from '../util/trace.js';
import path from 'node:path';
import { build, checkOutputs, type BuildResult, type BuildSpec } from '../pipeline/index.js';
import { selectArchs } from '../pipeline/plan.js';
import { lockSubject } from '../pipeline/subjects.js';
import type { Lockfile } from '../lock/index.js';
import type { Selection } from '../slicer/selection.js';
import { prefetchInReleases } from '../archive/index.js';
import { loadRelease, resolveReleaseDir, type LoadOptions } from '../release/index.js';
import { hostArch } from '../util/arch.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import { parseLayerStrategy } from '../output/layers.js';
import { releaseCacheDir, type Reporter } from './common.js';
import {
  sbomSpec,
  signSpec,
  accessSpec,
  buildReport,
  flagConfig,
  flagOutputs,
  parseArchs,
  parseCompression,
  reportSetId,
  summary,
  type ImageFlags,
} from './imageflags.js';

export interface SpecFlags extends ImageFlags {
  release?: string;
  lockfile?: string;
  locked?: boolean;
  /** build --context: the directory an image file's files: read from. */
  context?: string;
}

export interface CommandSpec {
  spec: BuildSpec;
  /** Where the lockfile of this build lives by default. */
  lockfile: string;
}

export async function specFromSlices(
  slices: string[],
  flags: SpecFlags,
  report: Reporter,
  opts: { outputsRequired: boolean },
): Promise<CommandSpec> {
  const archs = parseArchs(flags.arch) ?? [hostArch()];
  const outputs = flagOutputs(flags);
  if (opts.outputsRequired) checkOutputs({ outputs, archs });
  const sign = await signSpec(flags, outputs);
  const access = accessSpec(flags, report);
  const release = await loadRelease(resolveReleaseDir(flags.release), { cacheDir: releaseCacheDir(flags), ...earlyDownloads(access) });
  trace('release loaded');
  const compression = parseCompression(flags.compression);
  const layers = parseLayerStrategy(flags.layers);
  const spec: BuildSpec = {
    release,
    slices,
    archs,
    outputs,
    ...(flags.tag ? { tag: flags.tag } : {}),
    ...(compression ? { compression } : {}),
    ...(layers ? { layers } : {}),
    config: flagConfig(flags),
    nonroot: Boolean(flags.nonroot),
    ...sbomSpec(flags),
    ...sign,
    ...access,
  };
  return { spec, lockfile: path.resolve(flags.lockfile ?? 'chisel-ts.lock.json') };
}

export async function specFromImageFile(
  file: string,
  flags: SpecFlags,
  report: Reporter,
  opts: { outputsRequired: boolean },
): Promise<CommandSpec> {
  const img = await (await import('../image/imagefile.js')).loadImageFile(
    file,
    flags.context !== undefined ? { context: flags.context } : {},
  );
  const outputs = { ...img.outputs, ...flagOutputs(flags) };
  const archs = parseArchs(flags.arch) ?? img.archs ?? [hostArch()];
  if (opts.outputsRequired) checkOutputs({ outputs, archs });
  const sign = await signSpec(flags, outputs);
  const access = accessSpec(flags, report);
  const release = await loadRelease(resolveReleaseDir(img.release), { cacheDir: releaseCacheDir(flags), ...earlyDownloads(access) });
  const tag = flags.tag ?? img.tag;
  const compression = parseCompression(flags.compression) ?? img.compression;
  const layers = parseLayerStrategy(flags.layers) ?? parseLayerStrategy(img.layers, `${file}: layers:`);
  const spec: BuildSpec = {
    release,
    slices: img.slices,
    archs,
    outputs,
    ...(tag ? { tag } : {}),
    ...(compression ? { compression } : {}),
    ...(layers ? { layers } : {}),
    config: { ...img.config, ...flagConfig(flags) },
    nonroot: Boolean(flags.nonroot) || img.nonroot,
    ...(flags.keepSetid || img.keepSetId ? { keepSetId: true } : {}),
    ...(img.files.length ? { files: img.files } : {}),
    ...(img.sourceDateEpoch !== undefined && process.env.SOURCE_DATE_EPOCH === undefined ? { epoch: img.sourceDateEpoch } : {}),
    // SBOM flags override the file's sbom: key
    ...sbomSpec({
      ...flags,
      ...(flags.sbom === undefined && img.sbom?.file ? { sbom: img.sbom.file } : {}),
      ...(flags.sbomFormat === undefined && img.sbom?.format ? { sbomFormat: img.sbom.format } : {}),
      ...(img.sbom?.inImage ? { sbomInImage: true } : {}),
    }),
    ...sign,
    ...access,
  };
  const lockfile = flags.lockfile ?? path.join(path.dirname(img.file), `${path.basename(img.file).replace(/\.ya?ml$/, '')}.lock.json`);
  return { spec, lockfile: path.resolve(lockfile) };
}

/** An online build starts its InRelease downloads as soon as chisel.yaml is read. */
function earlyDownloads(access: ReturnType<typeof accessSpec>): Pick<LoadOptions, 'onConfig'> {
  if (access.offline) return {};
  return {
    onConfig: (cfg) => {
      void prefetchInReleases(cfg.archives.values(), cfg.publicKeys, {
        store: access.store,
        ...(access.urlOverrides ? { urlOverrides: access.urlOverrides } : {}),
      });
    },
  };
}

/** `--locked`: the lock must match the inputs; its packages are used exactly; outputs must match it before any is written. */
export async function applyLock(cs: CommandSpec): Promise<{ lock: Lockfile; selections: Selection[] }> {
  const { inputChanges, lockInputs, outputChanges, pinnedFromLock, readLockfile } = await import('../lock/index.js');
  const lock = await readLockfile(cs.lockfile);
  const selections = selectArchs(cs.spec);
  const now = await lockInputs(lockSubject(cs.spec, selections));
  const changes = inputChanges(lock.inputs, now);
  if (changes.length) {
    throw new ChiselError(`the inputs no longer match the lockfile ${cs.lockfile}:\n  ${changes.join('\n  ')}`, {
      code: 'lock-inputs',
      hint: 'run `chisel-ts lock` with the same arguments to update the lockfile, and review its diff',
    });
  }
  cs.spec.pinned = pinnedFromLock(lock);
  cs.spec.pinnedInReleases = lock.archives.map((a) => ({ archive: a.name, suite: a.suite, date: a.date }));
  cs.spec.lockfile = cs.lockfile;
  cs.spec.verify = (r: BuildResult) => {
    const diff = outputChanges(lock, r.image!);
    if (diff.length) {
      throw new ChiselError(`the build does not reproduce the lockfile's outputs:\n  ${diff.join('\n  ')}`, {
        code: 'lock-outputs',
        exitCode: ExitCode.FAILURE,
        hint: 'nothing was written; this is a reproducibility bug: please report it with both lockfiles',
      });
    }
  };
  return { lock, selections };
}

/** What `cut` and `build` do once they have a spec: --locked, the build, then the report (--json on stdout, else a summary on a TTY). */
export async function buildAndReport(cs: CommandSpec, flags: SpecFlags, report: Reporter, started: number): Promise<void> {
  const selections = flags.locked ? (await applyLock(cs)).selections : undefined;
  const result = await build(cs.spec, selections);
  reportSetId(report, result);
  if (flags.json) process.stdout.write(`${JSON.stringify(buildReport(cs.spec, result), null, 2)}\n`);
  else report.info(summary(cs.spec, result, (Date.now() - started) / 1000));
}
