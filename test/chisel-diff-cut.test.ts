// Differential cuts against Canonical's Chisel (the reference binary in
// ../shared/tools): real chisel-releases groups (ubuntu-22.04, 24.04, 26.04) cut by both tools from the
// Ubuntu archive must give the same tree (entries, modes, sizes, link targets,
// contents, hard links) and the same manifest.wall text, byte for byte.
// The groups cover symlinks declared with a trailing slash, `*` and `**` globs,
// mutate scripts, `until: mutate` (alone and kept by another slice), `text:`,
// `make: true`, `arch:`, setuid files (cut with --keep-setid, as Chisel keeps
// them) and `generate: manifest`.
//
// Runs only with the reference binary, the corpus, and the Ubuntu archive's
// URL in CHISEL_TS_ARCHIVE_URL_UBUNTU (chisel-ts takes archive URLs from the
// environment; Chisel knows the host); skipped with a message otherwise. The
// caches live in the system's temporary directory and are kept between runs.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chiselLikeCut } from '../bench/chisel.js';
import { archiveEnvVar } from '../compiler/archive/sources.js';
import { chiselCut, readWall, referencePresent, REFERENCE_CHISEL } from './support/chiselref.js';
import { tempDir } from './support/cutenv.js';
import { runCli } from './support/proc.js';
import { describeTree } from './support/tree.js';

const CORPUS = path.resolve(__dirname, '..', '..', 'shared', 'corpus', 'chisel-releases');
const URL_VAR = archiveEnvVar('ubuntu');

/** Slices, one or more path kinds each; a release cuts those it has. */
const GROUP = [
  'base-files_base', // /var/run/: {symlink: /run}, /lib etc. symlinks
  'base-files_chisel', // /var/lib/chisel/**: {generate: manifest}
  'base-files_release-info',
  'ca-certificates_data', // mutate, until: mutate
  'ca-certificates_data-with-certs', // keeps what _data removes
  'libpam-runtime_config',
  'libpam-runtime_pam-config', // until: mutate in one slice, kept by the other
  'dpkg_bins', // /usr/libexec/dpkg/*
  'tzdata_africa', // ** globs
  'base-passwd_data', // text: + mutable + mutate
  'netbase_config', // text:
  'fontconfig_cache', // make: true
  'mount_bins', // setuid /usr/bin/mount
  'coreutils_bins', // arch:
  'bash_bins',
];

const RELEASES = ['ubuntu-22.04', 'ubuntu-24.04', 'ubuntu-26.04'];

/** The slices of GROUP the release defines (22.04 has no dpkg, mount or fontconfig slices). */
function groupOf(dir: string): string[] {
  return GROUP.filter((s) => {
    const [pkg, slice] = s.split('_') as [string, string];
    const file = path.join(dir, 'slices', `${pkg}.yaml`);
    return existsSync(file) && new RegExp(`^  ${slice.replace(/[.+]/g, '\\$&')}:$`, 'm').test(readFileSync(file, 'utf8'));
  });
}

const missing = !referencePresent
  ? `no reference Chisel binary at ${REFERENCE_CHISEL}`
  : !existsSync(CORPUS)
    ? `no chisel-releases corpus at ${CORPUS}`
    : !process.env[URL_VAR]
      ? `${URL_VAR} is not set (the Ubuntu archive's base URL, for chisel-ts)`
      : undefined;

/** A cache kept between runs, so that only the first run downloads. */
function cache(name: string): string {
  const d = path.join(tmpdir(), 'chisel-ts-diff-cut', name);
  mkdirSync(d, { recursive: true });
  return d;
}

describe.skipIf(missing !== undefined)('chisel-ts cuts real releases as Chisel does', () => {
  it.concurrent.each(RELEASES)(
    '%s',
    async (release) => {
      const dir = path.join(CORPUS, release);
      const root = path.join(tempDir('chisel-ts-diff-cut-'), 'root');
      const group = groupOf(dir);
      expect(group.length).toBeGreaterThanOrEqual(10);
      const [ours, theirs] = await Promise.all([
        runCli([...chiselLikeCut(dir, cache(`ts-${release}`)), '--quiet', '--root', root, ...group]),
        chiselCut(dir, group, { ...process.env, XDG_CACHE_HOME: cache(`chisel-${release}`) }),
      ]);
      expect(ours.code, ours.err).toBe(0);
      expect(theirs.code, theirs.err).toBe(0);
      const wall = await readWall(root);
      expect(wall).toBeDefined();
      expect(wall).toBe(await readWall(theirs.root));
      const mine = describeTree(root);
      const ref = describeTree(theirs.root);
      // the manifest's compressed bytes depend on the zstd encoder; its text was compared above
      for (const t of [mine, ref]) delete t['/var/lib/chisel/manifest.wall'];
      expect(Object.keys(mine).length).toBeGreaterThan(100);
      if (group.includes('mount_bins')) expect(mine['/usr/bin/mount']).toMatch(/^file 4755 /);
      expect(mine).toEqual(ref);
    },
    170_000,
  );
});

if (missing) {
  describe('chisel-ts cuts real releases as Chisel does', () => {
    it.skip(`skipped: ${missing}`, () => {});
  });
}
