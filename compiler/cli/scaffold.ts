// chisel-ts scaffold: fetch a package from the release's archives, list its
// files and propose a slice file for it.

import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { openArchives } from '../archive/index.js';
import { ContentStore, defaultCacheDir } from '../cache/store.js';
import { parseControlParagraph } from '../deb/index.js';
import { loadRelease, resolveReleaseDir } from '../release/index.js';
import { isOwnFile } from '../release/layers.js';
import { propose, scaffoldYaml } from '../scaffold/propose.js';
import { unpackDeb } from '../slicer/unpack.js';
import { hostArch } from '../util/arch.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import { addCacheOption, addReleaseOption, collect, parseArchiveUrls, releaseCacheDir } from './common.js';

interface ScaffoldFlags {
  release?: string;
  arch?: string;
  cacheDir?: string;
  offline?: boolean;
  archiveUrl?: string[];
  output?: string;
  list?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  addCacheOption(addReleaseOption(program.command('scaffold')))
    .description(
      'propose a slice file for a package: fetch it, list its files, sort them into bins, libs, config, data and copyright, and take essentials from its Depends where the release has slices',
    )
    .argument('<package>', "a binary package of the release's archives")
    .option('--arch <arch>', "Debian architecture (default: the host's)")
    .option('--offline', 'use only the cache; never touch the network')
    .option('--archive-url <name=url>', 'base URL for an archive of the release (repeatable)', collect)
    .option(
      '-o, --output <file|dir>',
      "write the proposal to FILE instead of stdout, or into a release directory DIR (its slices/<package>.yaml; in an overlay that file replaces the base's); refuses to overwrite",
    )
    .option('--list', "print the package's paths (type and path) instead of a proposal")
    .option('--json', 'print the paths and the proposal as JSON')
    .action(async (name: string, flags: ScaffoldFlags) => {
      const release = await loadRelease(resolveReleaseDir(flags.release), { cacheDir: releaseCacheDir(flags) });
      const arch = flags.arch ?? hostArch();
      const store = new ContentStore(flags.cacheDir ?? defaultCacheDir());
      const archives = await openArchives(release, arch, {
        store,
        offline: Boolean(flags.offline),
        urlOverrides: parseArchiveUrls(flags.archiveUrl),
        onNotice: (m) => process.stderr.write(`${m}\n`),
      });
      const pkg = await archives.resolve(name, release.packages.get(name)?.archive);
      await archives.fetchDeb(pkg);
      const listing = await unpackDeb(store, pkg.sha256, `package ${pkg.name} ${pkg.version}`);
      const control = parseControlParagraph(listing.control, pkg.name);
      const input = {
        name: pkg.name,
        version: pkg.version,
        depends: ['Pre-Depends', 'Depends'].map((f) => control.get(f)).filter((v): v is string => v !== undefined),
        entries: listing.entries.map((e) => ({ path: e.path, type: e.type })),
        release,
      };
      const proposal = propose(input);
      const yaml = scaffoldYaml(input, proposal);
      const def = release.packages.get(name);
      if (def && !isOwnFile(release, def.file))
        process.stderr.write(
          `note: ${name} has slices in ${def.file}, a base of ${release.dir}; a slices/${name}.yaml written into ${release.dir} replaces that file\n`,
        );
      else if (def) process.stderr.write(`note: ${name} already has slices in ${release.dir}; this is a fresh proposal, not a merge\n`);
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ package: pkg.name, version: pkg.version, arch: pkg.arch, archive: pkg.archive, entries: input.entries, slices: Object.fromEntries(proposal.slices), essentials: Object.fromEntries(proposal.essentials), unsliced: proposal.unsliced, choose: proposal.choose, yaml }, null, 2)}\n`,
        );
        return;
      }
      if (flags.list) {
        for (const e of input.entries) process.stdout.write(`${e.type.padEnd(8)} ${e.path}\n`);
        return;
      }
      if (!flags.output) {
        process.stdout.write(yaml);
        return;
      }
      const out = outputFile(flags.output, name);
      const rel = path.relative(process.cwd(), out);
      const shown = rel.startsWith('..') ? out : rel;
      await fs.mkdir(path.dirname(out), { recursive: true });
      try {
        await fs.writeFile(out, yaml, { flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST')
          throw new ChiselError(`${shown} exists; not overwriting it`, {
            code: 'usage',
            exitCode: ExitCode.USAGE,
            hint: 'remove it first, or print the proposal to stdout and merge by hand',
          });
        throw e;
      }
      process.stderr.write(
        `wrote ${shown}: ${[...proposal.slices.keys()].map((c) => `${name}_${c}`).join(', ')}; check it with \`chisel-ts validate\`\n`,
      );
    });
}

/** Where `-o` writes: a file, or `slices/<package>.yaml` of a release directory (`<package>.yaml` of another directory). */
function outputFile(output: string, pkg: string): string {
  const p = path.resolve(output);
  if (!existsSync(p) || !statSync(p).isDirectory()) return p;
  return existsSync(path.join(p, 'chisel.yaml')) ? path.join(p, 'slices', `${pkg}.yaml`) : path.join(p, `${pkg}.yaml`);
}
