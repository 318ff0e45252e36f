// examples/ci/security-rebuild.yml, the scheduled "rebuild when Debian fixes
// a CVE" workflow: its run: steps (not the GitHub-only ones: checkout, the
// npm install, the cache, the login, the pull request), in order, with bash
// as Actions runs them, its `if: steps.X.outputs.Y == 'Z'` conditions read
// from $GITHUB_OUTPUT, in a repository whose image.yaml names a release on
// the hermetic test archive, chisel-ts on PATH, a key from `chisel-ts
// keygen` as COSIGN_KEY and a local docker-registry as IMAGE_REF. First with
// nothing new in the archive (the job stops after `outdated`), then after
// libfoo got a security update: the image is re-locked, built --locked,
// signed (cosign verifies it when installed), pushed, and the markdown diff
// names the CVE.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { tempDir, writeRelease } from './support/cutenv.js';
import { ROOT } from './support/npmpack.js';
import { CLI, runAsync, runCli } from './support/proc.js';
import { startRegistry, tool, type Registry } from './support/registry.js';
import { TestArchive, type TestPackage } from './support/testarchive.js';

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
}

const workflow = YAML.parse(readFileSync(path.join(ROOT, 'examples', 'ci', 'security-rebuild.yml'), 'utf8')) as {
  on: { schedule: Array<{ cron: string }> };
  jobs: { rebuild: { env: Record<string, string>; steps: Step[] } };
};
const job = workflow.jobs.rebuild;
const COSIGN = spawnSync('cosign', ['version'], { encoding: 'utf8' }).status === 0;

const changelog = (version: string) =>
  `${
    version === '1.0-2'
      ? 'libfoo (1.0-2) stable-security; urgency=high\n\n  * Fix CVE-2099-0001: heap overflow in foo_parse().\n\n -- Test <test@example.invalid>  Mon, 01 Jun 2099 00:00:00 +0000\n\n'
      : ''
  }libfoo (1.0-1) stable; urgency=medium\n\n  * Initial release.\n\n -- Test <test@example.invalid>  Thu, 01 Jan 2099 00:00:00 +0000\n`;
const libfoo = (version: string): TestPackage => ({
  name: 'libfoo',
  version,
  files: [
    { path: '/usr/lib/libfoo.so.1', content: `libfoo ${version}\n` },
    { path: '/usr/share/doc/libfoo/changelog.Debian.gz', content: zlib.gzipSync(changelog(version)) },
  ],
});

describe('CI recipe (examples/ci/security-rebuild.yml)', () => {
  let archive: TestArchive;
  let registry: Registry;
  const work = tempDir('chisel-ts-ci-security-');
  const repo = path.join(work, 'repo');
  const bin = path.join(work, 'bin');
  const runnerTemp = path.join(work, 'runner-temp');
  let key: string;
  let ref: string;

  beforeAll(async () => {
    archive = await TestArchive.create({ suites: { stable: { main: [libfoo('1.0-1')] } } });
    registry = await startRegistry();
    ref = `${registry.addr}/ci/libfoo:candidate`;
    const release = writeRelease(archive, { libfoo: 'package: libfoo\nslices:\n  libs:\n    contents:\n      /usr/lib/libfoo.so.1:\n' });
    mkdirSync(repo);
    cpSync(release, path.join(repo, 'release'), { recursive: true });
    writeFileSync(
      path.join(repo, 'image.yaml'),
      'release: ./release\narchs: [amd64]\nslices: [libfoo_libs]\ntag: libfoo:1\nnonroot: true\n',
    );
    // the repository's committed lockfile
    const lock = await runCli(['lock', 'image.yaml'], { cwd: repo });
    expect(lock.code, lock.err).toBe(0);
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'chisel-ts'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
    mkdirSync(runnerTemp);
    const keys = await runCli(['keygen', path.join(work, 'signing')], { cwd: work });
    expect(keys.code, keys.err).toBe(0);
    key = readFileSync(path.join(work, 'signing.key'), 'utf8');
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
    await archive?.close();
  });

  /** The run: steps, in order, each when its `if:` holds; returns the step names run. (Not spawnSync: the archive is served by this process.) */
  async function runJob(): Promise<string[]> {
    const output = path.join(work, `github-output-${Date.now()}`);
    writeFileSync(output, '');
    const { XDG_CACHE_HOME: _x, ...base } = process.env;
    const env = {
      ...base,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      HOME: path.join(work, 'home'),
      PATH: `${bin}:${process.env.PATH}`,
      GITHUB_OUTPUT: output,
      RUNNER_TEMP: runnerTemp,
      ...job.env,
      IMAGE_REF: ref,
    };
    const ran: string[] = [];
    for (const s of job.steps.filter((x) => x.run && x.name !== 'Install chisel-ts')) {
      if (s.if && !holds(s.if, readFileSync(output, 'utf8'))) continue;
      const stepEnv = { ...env, ...s.env, ...(s.env?.COSIGN_KEY ? { COSIGN_KEY: key, COSIGN_PASSWORD: '' } : {}) };
      const r = await runAsync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', s.run!], { cwd: repo, env: stepEnv });
      expect(r.code, `step "${s.name}":\n${r.out}\n${r.err}`).toBe(0);
      ran.push(s.name!);
    }
    return ran;
  }

  /** `steps.ID.outputs.NAME == 'VALUE'`, read from the $GITHUB_OUTPUT lines the steps wrote. */
  function holds(cond: string, output: string): boolean {
    const m = /^steps\.([\w-]+)\.outputs\.(\w+) == '([^']*)'$/.exec(cond.trim());
    if (!m) throw new Error(`condition not understood: ${cond}`);
    const values = new Map(output.split('\n').map((l) => l.split('=', 2) as [string, string]));
    return values.get(m[2]!) === m[3];
  }

  it('is scheduled, and its conditions name the outdated step', () => {
    expect(workflow.on.schedule[0]!.cron).toMatch(/^[\d*]+ [\d*]+ \* \* \*$/);
    expect(job.steps.find((s) => s.id === 'outdated')?.name).toBe('Check for updates');
  });

  it('nothing new: only the check runs; after a security update of libfoo: re-lock, build --locked, sign, push, markdown diff with the CVE', async () => {
    expect(await runJob()).toEqual(['Check for updates']);
    expect(readFileSync(path.join(repo, 'out', 'outdated.md'), 'utf8')).toMatch(/^All 1 packages of `image.lock.json` are current\.$/m);
    {
      await archive.publish('stable', 'main', libfoo('1.0-2'));
      expect(await runJob()).toEqual([
        'Check for updates',
        'Re-lock',
        'Build the locked image, sign it and push it',
        'Write the lockfile diff',
      ]);
      expect(readFileSync(path.join(repo, 'out', 'outdated.md'), 'utf8')).toContain(
        '| libfoo (amd64) | 1.0-1 → 1.0-2 | high | CVE-2099-0001 |',
      );
      const lock = JSON.parse(readFileSync(path.join(repo, 'image.lock.json'), 'utf8'));
      expect(lock.packages.map((p: { version: string }) => p.version)).toEqual(['1.0-2']);
      const diff = readFileSync(path.join(repo, 'out', 'diff.md'), 'utf8');
      expect(diff).toContain('**1 package updated, fixing 1 CVE**');
      expect(diff).toMatch(/^\| libfoo \(amd64\) \| 1\.0-1 → 1\.0-2 \| high \| CVE-2099-0001 \| \+0 B \|$/m);
      // what was pushed is the new lock's image, with its cosign signature
      const report = JSON.parse(readFileSync(path.join(repo, 'out', 'build.json'), 'utf8'));
      expect(report.push.digest).toBe(lock.outputs.image);
      expect(report.push.signatures.length).toBeGreaterThan(0);
      const pushed = JSON.parse(tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]));
      expect(pushed.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
      expect(existsSync(path.join(runnerTemp, 'cosign.key'))).toBe(false);
      if (COSIGN) {
        const v = spawnSync(
          'cosign',
          ['verify', '--key', path.join(work, 'signing.pub'), '--insecure-ignore-tlog', '--allow-insecure-registry', ref],
          { encoding: 'utf8' },
        );
        expect(v.status, v.stderr).toBe(0);
      } else console.warn('test/ci-security.test.ts: cosign is not installed: the signature is not verified with cosign');
    }
  }, 240_000);
});
