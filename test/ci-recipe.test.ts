// examples/ci/image.yml, the documented GitHub Actions recipe: its run:
// steps, in order, with bash as Actions runs them, in a copy of an example
// repository (python-web, with a lockfile written for today's archive), with
// the packed package as CHISEL_TS_PACKAGE, an empty HOME and npm prefix, and
// IMAGE_REF on a fresh local docker-registry. Then the image and its SBOM
// referrer are read back with skopeo, and the cache is where the recipe's
// cache step says.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { tempDir } from './support/cutenv.js';
import { packTarball, ROOT } from './support/npmpack.js';
import { runCli } from './support/proc.js';
import { type Registry, startRegistry, tool } from './support/registry.js';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}

const workflow = YAML.parse(readFileSync(path.join(ROOT, 'examples', 'ci', 'image.yml'), 'utf8')) as {
  jobs: { image: { env: Record<string, string>; steps: Step[] } };
};
const job = workflow.jobs.image;

describe('CI recipe (examples/ci/image.yml)', () => {
  let registry: Registry;
  const work = tempDir('chisel-ts-ci-');
  const repo = path.join(work, 'repo');
  const home = path.join(work, 'home');
  const prefix = path.join(work, 'npm');
  let pkgFile: string;

  beforeAll(async () => {
    registry = await startRegistry();
    pkgFile = packTarball(work).file;
    cpSync(path.join(ROOT, 'examples', 'python-web'), repo, { recursive: true, filter: (s) => !/\/out$/.test(s) });
    // the lockfile a repository commits, current for today's archive
    const lock = await runCli(['lock', 'image.yaml'], { cwd: repo });
    expect(lock.code, lock.err).toBe(0);
  }, 240_000);
  afterAll(() => registry?.stop());

  it('restores and saves the cache chisel-ts uses, keyed on the lockfile', () => {
    const cache = job.steps.find((s) => s.uses?.startsWith('actions/cache@'))!;
    expect(cache.with!.path).toBe('~/.cache/chisel-ts');
    expect(cache.with!.key).toContain("hashFiles('image.lock.json')");
  });

  it('runs its shell steps: install, lock --check, build --locked, push with the SBOM', () => {
    const ref = `${registry.addr}/ci/python-web:1`;
    const { XDG_CACHE_HOME: _x, CI: _c, ...base } = process.env;
    const env = {
      ...base,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      HOME: home,
      npm_config_prefix: prefix,
      npm_config_cache: path.join(work, 'npm-cache'),
      PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}`,
      ...job.env,
      IMAGE_REF: ref,
      CHISEL_TS_PACKAGE: pkgFile,
    };
    const steps = job.steps.filter((s) => s.run);
    expect(steps.map((s) => s.name)).toEqual([
      'Install chisel-ts',
      'Check the lockfile',
      'Build the locked image, push it and attach its SBOM',
    ]);
    const logs: string[] = [];
    for (const s of steps) {
      const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', s.run!], {
        cwd: repo,
        env,
        encoding: 'utf8',
        timeout: 150_000,
      });
      logs.push(`${s.name}: ${r.stdout}`);
      expect(r.status, `step "${s.name}":\n${r.stdout}\n${r.stderr}`).toBe(0);
    }
    expect(logs.join('\n')).toContain(`pushed ${ref}@sha256:`);
    const report = JSON.parse(readFileSync(path.join(repo, 'out', 'build.json'), 'utf8'));
    const digest: string = report.push.digest;
    expect(digest).toBe(JSON.parse(readFileSync(path.join(repo, 'image.lock.json'), 'utf8')).outputs.image);
    // python-web is amd64 and arm64: the pushed tag is an index of one manifest per platform
    const pushed = JSON.parse(tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]));
    expect(pushed.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(pushed.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture).sort()).toEqual(['amd64', 'arm64']);
    const name = ref.slice(0, ref.lastIndexOf(':'));
    for (const m of pushed.manifests as Array<{ digest: string }>) {
      const one = JSON.parse(tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${name}@${m.digest}`]));
      expect(one.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    }
    // the SBOM as a referrer of the image (the referrers tag schema: sha256-HEX)
    const referrers = JSON.parse(
      tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.addr}/ci/python-web:${digest.replace(':', '-')}`]),
    );
    expect(referrers.manifests.map((m: { artifactType: string }) => m.artifactType)).toContain('application/spdx+json');
    expect(JSON.parse(readFileSync(path.join(repo, 'out', 'sbom.spdx.json'), 'utf8')).spdxVersion).toBe('SPDX-2.3');
    // the cache the recipe restores is the one chisel-ts filled
    const cacheDir = path.join(home, '.cache', 'chisel-ts');
    expect(existsSync(cacheDir) && readdirSync(cacheDir).length).toBeGreaterThan(0);
  }, 240_000);
});
