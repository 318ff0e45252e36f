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
import { type ArchListing, scaffoldBatch } from '../scaffold/batch.js';
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
  outDir?: string;
  deps?: boolean;
  from?: string;
  exclude?: string[];
}

export function register(program: Command): void {
  addCacheOption(addReleaseOption(program.command('scaffold')))
    .description(
      'propose a slice file for a package: fetch it, list its files, sort them into bins, libs, config, data and copyright, and take essentials from its Depends where the release has slices',
    )
    .argument('[packages...]', "binary packages of the release's archives")
    .option(
      '--arch <archs>',
      "Debian architecture (default: the host's); with --out-dir, several (amd64,arm64) are merged, paths some lack get arch:",
    )
    .option('--offline', 'use only the cache; never touch the network')
    .option('--archive-url <name=url>', 'base URL for an archive of the release (repeatable)', collect)
    .option(
      '-o, --output <file|dir>',
      "write the proposal to FILE instead of stdout, or into a release directory DIR (its slices/<package>.yaml; in an overlay that file replaces the base's); refuses to overwrite",
    )
    .option('--list', "print the package's paths (type and path) instead of a proposal")
    .option('--json', 'print the paths and the proposal as JSON')
    .option(
      '--out-dir <dir>',
      'batch: write DIR/<package>.yaml for each package (in dependency order, so essentials name slices that exist); existing files are kept',
    )
    .option('--deps', "batch: also every runtime dependency (Depends, Pre-Depends) of the packages and of the release's packages")
    .option('--exclude <names>', 'batch: never scaffold these packages (comma-separated; repeatable)', collect)
    .option('--from <file>', 'batch: also the package names of FILE, one a line (# comments)')
    .action(async (names: string[], flags: ScaffoldFlags) => {
      const fromFile = flags.from ? await namesOf(flags.from) : [];
      // A set naming the new package's slices may be written before its file is.
      const release = await loadRelease(resolveReleaseDir(flags.release), {
        cacheDir: releaseCacheDir(flags),
        pending: new Set([...names, ...fromFile]),
      });
      const store = new ContentStore(flags.cacheDir ?? defaultCacheDir());
      if (flags.outDir) return batch([...names, ...fromFile], flags, release, store);
      if (names.length !== 1 || flags.from || flags.deps)
        throw new ChiselError('scaffold takes one package, or several with --out-dir', {
          code: 'usage',
          exitCode: ExitCode.USAGE,
          hint: 'give --out-dir DIR to scaffold several packages (and --deps for their dependencies)',
        });
      const name = names[0]!;
      const arch = flags.arch ?? hostArch();
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

type Loaded = Awaited<ReturnType<typeof loadRelease>>;

/** The package names of a --from file: one a line, # comments. */
async function namesOf(file: string): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8');
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

async function batch(names: string[], flags: ScaffoldFlags, release: Loaded, store: ContentStore): Promise<void> {
  if (names.length === 0)
    throw new ChiselError('no packages to scaffold', {
      code: 'usage',
      exitCode: ExitCode.USAGE,
      hint: 'name packages or give --from FILE',
    });
  const archs = (flags.arch ?? hostArch()).split(',').filter(Boolean);
  const sets = new Map<string, Awaited<ReturnType<typeof openArchives>>>();
  for (const a of archs)
    sets.set(
      a,
      await openArchives(release, a, {
        store,
        offline: Boolean(flags.offline),
        urlOverrides: parseArchiveUrls(flags.archiveUrl),
        onNotice: (m) => process.stderr.write(`${m}\n`),
      }),
    );
  const fetch = async (name: string, arch: string): Promise<ArchListing | undefined> => {
    const archives = sets.get(arch)!;
    let pkg: Awaited<ReturnType<typeof archives.resolve>>;
    try {
      pkg = await archives.resolve(name, release.packages.get(name)?.archive);
    } catch (e) {
      if (e instanceof ChiselError && e.code === 'package-not-found') return undefined;
      throw e;
    }
    await archives.fetchDeb(pkg);
    const listing = await unpackDeb(store, pkg.sha256, `package ${pkg.name} ${pkg.version}`);
    const control = parseControlParagraph(listing.control, pkg.name);
    return {
      version: pkg.version,
      depends: ['Pre-Depends', 'Depends'].map((f) => control.get(f)).filter((v): v is string => v !== undefined),
      entries: listing.entries.map((e) => ({
        path: e.path,
        type: e.type,
        mode: e.mode,
        ...(e.link !== undefined ? { link: e.link } : {}),
      })),
    };
  };
  const r = await scaffoldBatch(names, {
    release,
    archs,
    fetch,
    deps: Boolean(flags.deps),
    exclude: new Set((flags.exclude ?? []).flatMap((x) => x.split(',')).filter(Boolean)),
    onProgress: (m) => process.stderr.write(`${m}\n`),
  });
  const dir = path.resolve(flags.outDir!);
  await fs.mkdir(dir, { recursive: true });
  const wrote: string[] = [];
  const kept: string[] = [];
  for (const f of r.files) {
    try {
      await fs.writeFile(path.join(dir, `${f.name}.yaml`), f.yaml, { flag: 'wx' });
      wrote.push(f.name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      kept.push(f.name);
    }
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ wrote, kept, missing: r.missing, existing: r.existing, empty: r.empty }, null, 2)}\n`);
    return;
  }
  process.stderr.write(`wrote ${wrote.length} slice files to ${flags.outDir} (in dependency order: ${wrote.join(' ')})\n`);
  if (kept.length) process.stderr.write(`kept ${kept.length} existing files: ${kept.join(' ')}\n`);
  if (r.existing.length) process.stderr.write(`already in the release, left as they are: ${r.existing.join(' ')}\n`);
  if (r.missing.length) process.stderr.write(`not in the archives for ${archs.join(', ')}: ${r.missing.join(' ')}\n`);
  if (r.empty.length) process.stderr.write(`nothing to slice (documentation only): ${r.empty.join(' ')}\n`);
  process.stderr.write('check them with `chisel-ts validate`\n');
}

/** Where `-o` writes: a file, or `slices/<package>.yaml` of a release directory (`<package>.yaml` of another directory). */
function outputFile(output: string, pkg: string): string {
  const p = path.resolve(output);
  if (!existsSync(p) || !statSync(p).isDirectory()) return p;
  return existsSync(path.join(p, 'chisel.yaml')) ? path.join(p, 'slices', `${pkg}.yaml`) : path.join(p, `${pkg}.yaml`);
}
