// Lockfiles on the hermetic test archive, through the CLI: lock, --locked
// rebuilds, --check after an archive update, --diff, a pinned .deb gone from
// the archive, hand edits, changed inputs.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../compiler/version.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { runAsync, type Run } from './support/proc.js';
import { TestArchive, type TestPackage } from './support/testarchive.js';

const BIN = path.resolve(__dirname, '..', 'bin', 'chisel-ts.js');

const hello = (version: string): TestPackage => ({
  name: 'hello',
  version,
  files: [
    { path: '/usr/bin/hello', content: `#!/bin/sh\necho hello ${version}\n`, mode: 0o755 },
    { path: '/usr/share/doc/hello/copyright', content: 'Files: *\nLicense: MIT\n' },
  ],
});
const base: TestPackage = { name: 'base', version: '3', files: [{ path: '/etc/base.conf', content: 'x=1\n' }] };

let archive: TestArchive;
let release: string;

beforeAll(async () => {
  archive = await TestArchive.create({ suites: { stable: { main: [hello('1.0'), base] } } });
  release = writeRelease(archive, {
    hello:
      'package: hello\nslices:\n  bins:\n    essential: [base_conf]\n    contents:\n      /usr/bin/hello:\n  copyright:\n    contents:\n      /usr/share/doc/hello/copyright:\n',
    base: 'package: base\nslices:\n  conf:\n    contents:\n      /etc/base.conf:\n',
  });
});

afterAll(async () => {
  await archive?.close();
});

/** The CLI in a subprocess. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runAsync(process.execPath, [BIN, ...args], { env: { ...process.env, CI: 'true', XDG_CACHE_HOME: tempDir(), ...env } });
}

const common = (lockfile: string, cache: string) => ['--release', release, '--arch', 'amd64', '--cache-dir', cache, '--lockfile', lockfile];

describe('lockfile', () => {
  it('lock, then two --locked cuts give the tar and image digests of the lock', async () => {
    const d = tempDir('chisel-ts-lock-');
    const lockfile = path.join(d, 'hello.lock.json');
    const cache = tempDir();
    const l = await cli(['lock', ...common(lockfile, cache), 'hello_bins']);
    expect(l.code, l.err).toBe(0);
    const lock = JSON.parse(readFileSync(lockfile, 'utf8'));
    expect(lock.packages.map((p: any) => `${p.name}=${p.version}`)).toEqual(['base=3', 'hello=1.0']);
    expect(lock.packages[1].filename).toMatch(/^pool\/main\/h\/hello\/hello_1\.0_amd64\.deb$/);
    expect(JSON.stringify(lock)).not.toContain('127.0.0.1'); // archives by name, never by host
    const digests: string[] = [];
    for (const n of [1, 2]) {
      const r = await cli([
        'cut',
        ...common(lockfile, n === 1 ? cache : tempDir()),
        '--locked',
        '--tar',
        path.join(d, `r${n}.tar`),
        '--oci',
        path.join(d, `oci${n}`),
        '--json',
        'hello_bins',
      ]);
      expect(r.code, r.err).toBe(0);
      const report = JSON.parse(r.out);
      expect(`sha256:${report.tar.diffId}`).toBe(lock.outputs.archs.amd64.rootfs);
      expect(report.image.digest).toBe(lock.outputs.image);
      digests.push(report.image.digest);
    }
    expect(readFileSync(path.join(d, 'r1.tar')).equals(readFileSync(path.join(d, 'r2.tar')))).toBe(true);
    expect(digests[0]).toBe(digests[1]);
  });

  it('a newer package: --check fails naming it, lock updates it in a few lines, --diff shows both versions; a pinned .deb gone from the archive', async () => {
    const d = tempDir('chisel-ts-lock-');
    const lockfile = path.join(d, 'chisel-ts.lock.json');
    const cache = tempDir();
    expect((await cli(['lock', ...common(lockfile, cache), 'hello_bins'])).code).toBe(0);
    const old = path.join(d, 'old.lock.json');
    copyFileSync(lockfile, old);
    // Warm the cache with the locked packages, then the archive moves on and drops 1.0.
    expect((await cli(['cut', ...common(lockfile, cache), '--locked', '--root', path.join(d, 'warm'), 'hello_bins'])).code).toBe(0);
    await archive.publish('stable', 'main', hello('1.1'), { dropOld: true });
    try {
      const check = await cli(['lock', ...common(lockfile, tempDir()), '--check', 'hello_bins']);
      expect(check.code).toBe(1);
      expect(check.err).toMatch(/out of date/);
      expect(check.err).toMatch(/~ hello \(amd64\) 1\.0 -> 1\.1/);

      // --locked from the warm cache still works; from an empty cache it says what is missing and where it looked.
      const warm = await cli(['cut', ...common(lockfile, cache), '--locked', '--root', path.join(d, 'again'), 'hello_bins']);
      expect(warm.code, warm.err).toBe(0);
      expect(readFileSync(path.join(d, 'again/usr/bin/hello'), 'utf8')).toContain('hello 1.0');
      const emptyCache = tempDir();
      const cold = await cli(['cut', ...common(lockfile, emptyCache), '--locked', '--root', path.join(d, 'cold'), 'hello_bins']);
      expect(cold.code).toBe(3);
      expect(cold.err).toMatch(/pinned package hello 1\.0 \(amd64/);
      expect(cold.err).toContain(`not in the cache ${emptyCache}`);
      expect(cold.err).toMatch(/archive test \(pool\/main\/h\/hello\/hello_1\.0_amd64\.deb\) failed: .*404/);
      expect(cold.err).toMatch(/--archive-url test=URL/);
      expect(existsSync(path.join(d, 'cold'))).toBe(false);

      const up = await cli(['lock', ...common(lockfile, cache), 'hello_bins']);
      expect(up.code, up.err).toBe(0);
      expect(up.out).toMatch(/~ hello \(amd64\) 1\.0 -> 1\.1/);
      const numstat = spawnSync('git', ['diff', '--no-index', '--numstat', old, lockfile], { encoding: 'utf8' }).stdout.trim().split(/\s+/);
      expect(Number(numstat[0])).toBeLessThanOrEqual(12);
      expect(Number(numstat[1])).toBeLessThanOrEqual(12);
      const diff = await cli(['lock', '--diff', '--release', release, '--cache-dir', cache, old, lockfile]);
      expect(diff.code).toBe(0);
      expect(diff.out).toMatch(/^~ hello \(amd64\) 1\.0 -> 1\.1\n {4}\(no changelog in the package\)$/m);
      expect(diff.out).toMatch(/contents of hello \(amd64\) changed/);
      expect(diff.out).toMatch(/amd64 rootfs: [0-9a-f]{12} -> [0-9a-f]{12}/);
      const json = JSON.parse((await cli(['lock', '--diff', '--no-changelogs', old, lockfile, '--json'])).out);
      expect(json.packages.changed).toEqual([{ name: 'hello', arch: 'amd64', from: '1.0', to: '1.1', bytes: [25, 25] }]);
      expect((await cli(['lock', ...common(lockfile, cache), '--check', 'hello_bins'])).code).toBe(0);
    } finally {
      await archive.publish('stable', 'main', hello('1.0'), { dropOld: true });
    }
  });

  it('refuses a lockfile edited by hand', async () => {
    const d = tempDir('chisel-ts-lock-');
    const lockfile = path.join(d, 'chisel-ts.lock.json');
    const cache = tempDir();
    expect((await cli(['lock', ...common(lockfile, cache), 'hello_bins'])).code).toBe(0);
    const text = readFileSync(lockfile, 'utf8');
    const sha = JSON.parse(text).packages[1].sha256 as string;
    writeFileSync(lockfile, text.replace(sha, `${sha.slice(0, -1)}${sha.endsWith('0') ? '1' : '0'}`));
    const r = await cli(['cut', ...common(lockfile, cache), '--locked', '--root', path.join(d, 'root'), 'hello_bins']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/edited by hand/);
    expect(readdirSync(d)).toEqual(['chisel-ts.lock.json']);
  });

  // A top-level "chisel-ts" range, added by hand: outside the integrity digest, checked when the lockfile is read.
  it('a chisel-ts version range in the lockfile: met, unmet, invalid', async () => {
    const d = tempDir('chisel-ts-lock-');
    const lockfile = path.join(d, 'chisel-ts.lock.json');
    const cache = tempDir();
    expect((await cli(['lock', ...common(lockfile, cache), 'hello_bins'])).code).toBe(0);
    const text = readFileSync(lockfile, 'utf8');
    expect(text).not.toMatch(/"chisel-ts":/);
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const cases: Array<{ range: unknown; code: number; err?: string }> = [
      { range: '>=0.1', code: 0 },
      { range: `^${VERSION}`, code: 0 },
      { range: '>=99', code: 1, err: `:2: this file needs chisel-ts >=99, but this is chisel-ts ${esc(VERSION)}\nhint: upgrade chisel-ts` },
      { range: '<0.1 || >=2', code: 1, err: `:2: this file needs chisel-ts <0\\.1 \\|\\| >=2, but this is chisel-ts ${esc(VERSION)}` },
      { range: 'banana', code: 1, err: ':2: chisel-ts: "banana" is not a semver range of chisel-ts versions; write one like ">=0\\.2"' },
      { range: 2, code: 1, err: ': /chisel-ts must be string \\(schema lock\\.schema\\.json\\)' },
    ];
    for (const { range, code, err } of cases) {
      const f = path.join(d, 'with-range.lock.json');
      writeFileSync(f, text.replace('{\n', `{\n  "chisel-ts": ${JSON.stringify(range)},\n`));
      const r = await cli(['lock', '--diff', lockfile, f]);
      expect(r.code, `${JSON.stringify(range)}: ${r.err}`).toBe(code);
      if (err) expect(r.err).toMatch(new RegExp(`^error: ${esc(f)}${err}`));
    }
    // A met range passes the integrity check, and the lock still matches the build.
    const f = path.join(d, 'with-range.lock.json');
    writeFileSync(f, text.replace('{\n', '{\n  "chisel-ts": ">=0.1",\n'));
    const check = await cli(['lock', '--check', ...common(f, cache), 'hello_bins']);
    expect(check.code, check.err).toBe(0);
    rmSync(d, { recursive: true, force: true });
  });

  it('says which input changed', async () => {
    const d = tempDir('chisel-ts-lock-');
    const lockfile = path.join(d, 'chisel-ts.lock.json');
    const cache = tempDir();
    expect((await cli(['lock', ...common(lockfile, cache), 'hello_bins'])).code).toBe(0);
    const slices = await cli(['cut', ...common(lockfile, cache), '--locked', '--root', path.join(d, 'r'), 'hello_bins', 'hello_copyright']);
    expect(slices.code).toBe(1);
    expect(slices.err).toMatch(/requested slices are \[hello_bins, hello_copyright\], the lock has \[hello_bins\]/);
    const epoch = await cli(['cut', ...common(lockfile, cache), '--locked', '--root', path.join(d, 'r'), 'hello_bins'], {
      SOURCE_DATE_EPOCH: '5',
    });
    expect(epoch.err).toMatch(/SOURCE_DATE_EPOCH is 5, the lock has 0/);
    const cfg = await cli(['cut', ...common(lockfile, cache), '--locked', '--root', path.join(d, 'r'), '--nonroot', 'hello_bins']);
    expect(cfg.err).toMatch(/nonroot is true, the lock has false/);
    const f = path.join(release, 'slices', 'base.yaml');
    const before = readFileSync(f, 'utf8');
    writeFileSync(f, `${before}  more:\n    contents:\n      /etc/other:\n`);
    try {
      const rel = await cli(['cut', ...common(lockfile, cache), '--locked', '--root', path.join(d, 'r'), 'hello_bins']);
      expect(rel.code).toBe(1);
      expect(rel.err).toMatch(/release definitions of .* changed/);
    } finally {
      writeFileSync(f, before);
    }
    expect(existsSync(path.join(d, 'r'))).toBe(false);
    rmSync(d, { recursive: true, force: true });
  });
});
