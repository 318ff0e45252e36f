// chisel-ts lock: resolve a cut (slices + flags, or an image file) and write
// its lockfile; --check fails when the lock is out of date; --diff OLD NEW
// summarises two lockfiles for review.

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { build } from '../pipeline/index.js';
import { lockBuild, lockSubject } from '../pipeline/subjects.js';
import {
  diffLocks,
  formatLockDiff,
  lockFromBuild,
  lockInputs,
  markdownLockDiff,
  parseLockfile,
  readLockfile,
  serialize,
  writeLockfile,
} from '../lock/index.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import { Archives, annotate, lockRelease, notesOf, outputFormat, type DebRef } from './changes.js';
import { addReleaseOption, Reporter } from './common.js';
import { addAccessOptions, addImageOptions } from './imageflags.js';
import { specFromImageFile, specFromSlices, type SpecFlags } from './specs.js';

interface LockFlags extends SpecFlags {
  check?: boolean;
  diff?: boolean;
  format?: string;
  changelogs?: boolean;
}

export function register(program: Command): void {
  const cmd = addReleaseOption(program.command('lock'))
    .description('write the lockfile of a cut or an image file: every package, hash and output digest pinned')
    .argument('<targets...>', 'slices and sets (as for cut), or one image file; with --diff: OLD NEW lockfiles')
    .option('--arch <archs>', "Debian architecture(s), comma-separated (default: the host's, or the image file's)")
    .option('--lockfile <file>', 'lockfile to write or check (default: chisel-ts.lock.json, or IMAGE.lock.json next to an image file)')
    .option('--context <dir>', "an image file's build context (as for build)")
    .option('--check', 'do not write: exit 1 and say why when the lockfile is out of date for the current inputs and archive')
    .option(
      '--diff',
      "compare two lockfiles (OLD NEW): packages (with each upgrade's changelog entries, urgency and CVEs), slices, contents, sizes, outputs",
    )
    .option('--format <f>', 'with --diff: text (default), markdown (a pull-request comment) or json')
    .option('--no-changelogs', 'with --diff: do not read the changelogs of upgraded packages (no archive access)');
  addAccessOptions(addImageOptions(cmd)).action(async (targets: string[], flags: LockFlags) => {
    if (flags.diff) return diffCommand(targets, flags);
    const report = new Reporter(flags);
    const isImage = targets.length === 1 && /\.ya?ml$/.test(targets[0]!);
    const cs = isImage
      ? await specFromImageFile(targets[0]!, flags, report, { outputsRequired: false })
      : await specFromSlices(targets, flags, report, { outputsRequired: false });
    cs.spec.outputs = {};
    cs.spec.digests = true;
    const result = await build(cs.spec);
    const fresh = lockFromBuild(
      await lockInputs(
        lockSubject(
          cs.spec,
          result.archs.map((a) => a.cut.selection),
        ),
      ),
      lockBuild(result),
    );
    const old = existsSync(cs.lockfile) ? await readLockfile(cs.lockfile) : undefined;
    const next = parseLockfile(cs.lockfile, serialize(fresh));
    const diff = old ? diffLocks(old, next) : undefined;
    if (flags.check) {
      const upToDate = diff?.same === true;
      if (flags.json) process.stdout.write(`${JSON.stringify({ lockfile: cs.lockfile, upToDate, diff: diff ?? null }, null, 2)}\n`);
      if (!old)
        throw new ChiselError(`no lockfile at ${cs.lockfile}`, {
          code: 'lock-missing',
          hint: 'create it with `chisel-ts lock` and the same arguments',
        });
      if (!upToDate) {
        if (!flags.json) process.stderr.write(`lockfile ${cs.lockfile} is out of date:\n${indent(formatLockDiff(diff!))}`);
        process.exitCode = ExitCode.FAILURE;
        return;
      }
      report.info(`lockfile ${cs.lockfile} is up to date`);
      return;
    }
    await writeLockfile(cs.lockfile, fresh);
    if (flags.json)
      process.stdout.write(`${JSON.stringify({ lockfile: cs.lockfile, changed: !diff?.same, diff: diff ?? null }, null, 2)}\n`);
    else if (diff && !diff.same) process.stdout.write(`updated ${cs.lockfile}:\n${indent(formatLockDiff(diff))}`);
    else if (!diff) process.stdout.write(`wrote ${cs.lockfile}: ${fresh.packages.length} packages, image ${fresh.outputs.image}\n`);
    else report.info(`${cs.lockfile} is unchanged`);
  });
}

async function diffCommand(files: string[], flags: LockFlags): Promise<void> {
  if (files.length !== 2) throw new ChiselError('lock --diff takes two lockfiles: OLD NEW', { code: 'usage', exitCode: ExitCode.USAGE });
  const format = outputFormat(flags);
  const next = await readLockfile(files[1]!);
  const d = diffLocks(await readLockfile(files[0]!), next);
  if (flags.changelogs !== false && d.packages.changed.length) {
    // the new .debs, by hash (the cache, else the archive that served them): their changelogs say why each moved
    const archives = new Archives(await lockRelease(flags, next.inputs.release.name), flags, new Reporter(flags));
    const pkgs = new Map<string, DebRef>(next.packages.map((p) => [`${p.name}:${p.arch}`, p]));
    const newSide = (name: string, arch: string) =>
      pkgs.get(`${name}:${arch}`) ?? pkgs.get(`${name}:all`) ?? next.packages.find((p) => p.name === name);
    annotate(d.packages.changed, await notesOf(d.packages.changed, archives, next.inputs.archs[0]!, newSide));
  }
  process.stdout.write(
    format === 'json' ? `${JSON.stringify(d, null, 2)}\n` : format === 'markdown' ? markdownLockDiff(d) : formatLockDiff(d),
  );
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}
