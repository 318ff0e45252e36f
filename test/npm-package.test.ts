// The npm package as users install it: `npm pack` holds the bundle, the
// shipped releases, the schemas, README and LICENSE and nothing else; the
// tarball installed into an empty prefix (run-time dependencies only, from
// the npm registry) runs from another working directory: --version, a cut of
// `base` from the real Debian archive and a build of an image file, both
// finding the shipped releases inside the installed package.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/cutenv.js';
import { packTarball, ROOT } from './support/npmpack.js';
import { runAsync } from './support/proc.js';

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};

describe('npm package', () => {
  const dir = tempDir('chisel-ts-npm-');
  const prefix = path.join(dir, 'prefix');
  const elsewhere = tempDir('chisel-ts-npm-cwd-');
  let packed: { file: string; files: string[] };
  const bin = path.join(prefix, 'bin', 'chisel-ts');
  const run = (args: string[]) =>
    runAsync(bin, args, { cwd: elsewhere, env: { ...process.env, CI: 'true', XDG_CACHE_HOME: path.join(dir, 'cache') } });

  beforeAll(() => {
    packed = packTarball(dir);
    execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', packed.file], {
      cwd: elsewhere,
      encoding: 'utf8',
    });
  }, 240_000);

  it('holds exactly what a user runs', () => {
    expect(path.basename(packed.file)).toBe(`${pkg.name}-${pkg.version}.tgz`);
    const allowed =
      /^(?:package\.json|README\.md|LICENSE|bin\/chisel-ts\.js|dist\/bundle\/[^/]+\.js|dist\/bundle\/code-id|dist\/runtime-schema\/[^/]+\.cjs|runtime-schema\/[^/]+\.json|slices\/debian-1[23]\/.+\.yaml|slices\/debian-1[23]\/CHECK\.md)$/;
    expect(packed.files.filter((f) => !allowed.test(f))).toEqual([]);
    for (const need of [
      'bin/chisel-ts.js',
      'dist/bundle/main.js',
      'dist/bundle/indexworker.js',
      'dist/bundle/fileworker.js',
      'dist/bundle/code-id', // the cut cache's key: this build's code
      'LICENSE',
      'README.md',
      'slices/debian-13/chisel.yaml',
    ])
      expect(packed.files).toContain(need);
    expect(readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toContain('Apache License');
  });

  it('installs with its run-time dependencies only', () => {
    const installed = path.join(prefix, 'lib', 'node_modules', 'chisel-ts');
    expect(existsSync(path.join(installed, 'dist', 'bundle', 'main.js'))).toBe(true);
    const mods = readdirSync(path.join(installed, 'node_modules')).flatMap((d) =>
      d.startsWith('@') ? readdirSync(path.join(installed, 'node_modules', d)).map((s) => `${d}/${s}`) : [d],
    );
    for (const dep of Object.keys(pkg.dependencies)) expect(mods).toContain(dep);
    for (const dev of ['vitest', 'typescript', 'esbuild', '@biomejs/biome', 'commander', 'yaml', 'openpgp'])
      expect(mods).not.toContain(dev);
  });

  it('prints its version, cuts base and builds an image file from another directory', async () => {
    const v = await run(['--version']);
    expect(v.code, v.err).toBe(0);
    expect(v.out).toBe(`${pkg.version}\n`);
    const npx = await runAsync('npx', ['--yes', '--prefer-offline', '--package', packed.file, 'chisel-ts', '--version'], {
      cwd: elsewhere,
      env: { ...process.env, npm_config_cache: path.join(dir, 'npm-cache') },
    });
    expect(npx.code, npx.err).toBe(0);
    expect(npx.out.trim()).toBe(pkg.version);
    const cut = await run(['cut', '--root', 'r', '--json', 'base']);
    expect(cut.code, cut.err).toBe(0);
    expect(readFileSync(path.join(elsewhere, 'r', 'etc', 'os-release'), 'utf8')).toContain('trixie');
    expect(existsSync(path.join(elsewhere, 'r', 'etc', 'ssl', 'certs', 'ca-certificates.crt'))).toBe(true);
    writeFileSync(
      path.join(elsewhere, 'image.yaml'),
      'release: debian-12\narchs: [amd64]\nslices: [base-files_base]\ntag: t/x:1\noutputs:\n  oci-archive: out/x.tar\n',
    );
    const build = await run(['build', 'image.yaml']);
    expect(build.code, build.err).toBe(0);
    expect(existsSync(path.join(elsewhere, 'out', 'x.tar'))).toBe(true);
  });
});
