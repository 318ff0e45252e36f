// chisel-ts outdated: which packages of a lockfile the archive now has in a
// newer version, and what the newer versions fix (their changelog entries,
// urgency, CVEs). Exit 0 when everything is current, 1 when updates are
// available, 3 when the archive cannot be reached.

import path from 'node:path';
import type { Command } from 'commander';
import type { PackageInfo } from '../archive/index.js';
import { compareVersions } from '../archive/version.js';
import type { ChangeNotes, VersionChange } from '../changelog/index.js';
import { readLockfile, type Lockfile } from '../lock/index.js';
import { loadRelease, resolveReleaseDir } from '../release/index.js';
import type { Release } from '../release/model.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import { addChangeOptions, Archives, lockRelease, notesOf, outputFormat, type AccessFlags } from './changes.js';
import { addReleaseOption, releaseCacheDir, Reporter } from './common.js';

interface OutdatedFlags extends AccessFlags {
  lockfile?: string;
}

export interface OutdatedReport {
  lockfile: string;
  packages: number;
  current: boolean;
  updates: ChangeNotes[];
  /** Locked packages the archive no longer has at all. */
  gone: Array<{ name: string; arch: string; version: string }>;
}

export function register(program: Command): void {
  const cmd = addReleaseOption(program.command('outdated'))
    .description(
      'list the packages of a lockfile that the archive has in newer versions, with the CVEs those fix (exit 0: current, 1: updates available, 3: archive unreachable)',
    )
    .argument('[targets...]', 'an image file (its IMAGE.lock.json), or the slices the lockfile was made for (default: chisel-ts.lock.json)')
    .option('--lockfile <file>', 'the lockfile to check (default: chisel-ts.lock.json, or IMAGE.lock.json next to an image file)');
  addChangeOptions(cmd)
    .option('--quiet', 'no notices')
    .option('--verbose', 'explain where each current version comes from')
    .action(async (targets: string[], flags: OutdatedFlags) => {
      const format = outputFormat(flags);
      const report = new Reporter(flags);
      const { lockfile, release } = await lockAndRelease(targets, flags);
      const lock = await readLockfile(lockfile);
      const r = await outdated(lockfile, lock, new Archives(await release(lock), flags, report), report);
      process.stdout.write(format === 'json' ? `${JSON.stringify(r, null, 2)}\n` : format === 'markdown' ? markdown(r) : text(r));
      if (!r.current) process.exitCode = ExitCode.FAILURE;
    });
}

async function lockAndRelease(
  targets: string[],
  flags: OutdatedFlags,
): Promise<{ lockfile: string; release: (lock: Lockfile) => Promise<Release> }> {
  if (targets.length === 1 && /\.ya?ml$/.test(targets[0]!)) {
    const img = await (await import('../image/imagefile.js')).loadImageFile(targets[0]!);
    const lockfile = flags.lockfile ?? path.join(path.dirname(img.file), `${path.basename(img.file).replace(/\.ya?ml$/, '')}.lock.json`);
    return {
      lockfile: path.resolve(lockfile),
      release: () => loadRelease(resolveReleaseDir(flags.release ?? img.release), { cacheDir: releaseCacheDir(flags) }),
    };
  }
  const lockfile = path.resolve(flags.lockfile ?? 'chisel-ts.lock.json');
  return {
    lockfile,
    release: async (lock) => {
      if (targets.length && targets.join(' ') !== lock.inputs.slices.join(' '))
        throw new ChiselError(`lockfile ${lockfile} was made for [${lock.inputs.slices.join(', ')}], not [${targets.join(', ')}]`, {
          code: 'lock-inputs',
          hint: 'name the same slices as `chisel-ts lock` did, or pass that lockfile with --lockfile',
        });
      return lockRelease(flags, lock.inputs.release.name);
    },
  };
}

/** Every locked package against the archive's current choice (pinned archive, else priority, else version), per arch. */
async function outdated(lockfile: string, lock: Lockfile, archives: Archives, report: Reporter): Promise<OutdatedReport> {
  const { release } = archives;
  const current = new Map<string, PackageInfo | undefined>();
  const updates: Array<VersionChange & { archive: string }> = [];
  const gone: OutdatedReport['gone'] = [];
  const notFound = (e: unknown) => {
    if (e instanceof ChiselError && e.code === 'package-not-found') return undefined;
    throw e;
  };
  for (const arch of lock.inputs.archs) {
    const set = await archives.forArch(arch);
    const pkgs = lock.packages.filter((p) => (p.arch === arch || p.arch === 'all') && !current.has(`${p.name}:${p.arch}`));
    for (const p of pkgs) current.set(`${p.name}:${p.arch}`, undefined);
    const found = await Promise.all(pkgs.map((p) => set.resolve(p.name, release.packages.get(p.name)?.archive).catch(notFound)));
    pkgs.forEach((p, i) => {
      const now = found[i];
      current.set(`${p.name}:${p.arch}`, now);
      if (!now) gone.push({ name: p.name, arch: p.arch, version: p.version });
      else if (compareVersions(now.version, p.version) > 0) {
        report.verbose(`${p.name} (${p.arch}): ${p.version} locked, ${now.version} in ${now.archive} ${now.suite}`);
        updates.push({ name: p.name, arch: p.arch, from: p.version, to: now.version, archive: now.archive });
      }
    });
  }
  const fetchArch = lock.inputs.archs[0]!;
  const notes = await notesOf(updates, archives, fetchArch, async (name, arch) => {
    const known = current.get(`${name}:${arch}`) ?? current.get(`${name}:all`);
    if (known) return known;
    // a doc directory that points to a package outside the lock
    const set = await archives.forArch(arch === 'all' ? fetchArch : arch);
    return set.resolve(name, release.packages.get(name)?.archive).catch(notFound);
  });
  return { lockfile, packages: current.size, current: updates.length === 0 && gone.length === 0, updates: notes, gone };
}

function text(r: OutdatedReport): string {
  if (r.current) return `${r.lockfile}: all ${r.packages} packages are current\n`;
  const out: string[] = [];
  for (const u of r.updates) {
    out.push(
      `${u.name} (${u.arch}) ${u.from} -> ${u.to}${u.urgency ? ` [urgency ${u.urgency}]` : ''}${u.cves.length ? `: ${u.cves.join(' ')}` : ''}`,
    );
    if (u.changelog === 'none') out.push('    (no changelog in the package)');
    for (const e of u.entries)
      out.push(`    ${e.version} ${e.distributions.join(' ')}; urgency=${e.urgency}${e.cves.length ? `: ${e.cves.join(' ')}` : ''}`);
  }
  for (const g of r.gone) out.push(`${g.name} (${g.arch}) ${g.version}: no longer in the archive`);
  const cves = new Set(r.updates.flatMap((u) => u.cves));
  out.push(
    `${r.updates.length} of ${r.packages} packages can be updated${cves.size ? `, fixing ${cves.size} CVE${cves.size === 1 ? '' : 's'}` : ''}; run \`chisel-ts lock\` (same arguments) to update ${path.basename(r.lockfile)}`,
  );
  return `${out.join('\n')}\n`;
}

function markdown(r: OutdatedReport): string {
  if (r.current) return `All ${r.packages} packages of \`${path.basename(r.lockfile)}\` are current.\n`;
  const out = ['| package | locked → available | urgency | CVEs |', '| --- | --- | --- | --- |'];
  for (const u of r.updates)
    out.push(
      `| ${u.name} (${u.arch}) | ${u.from} → ${u.to} | ${u.changelog === 'none' ? 'no changelog' : (u.urgency ?? '-')} | ${u.cves.join(', ') || '-'} |`,
    );
  for (const g of r.gone) out.push(`| ${g.name} (${g.arch}) | ${g.version} → (gone) | - | - |`);
  return `${out.join('\n')}\n`;
}
