// CVE-aware lock diffs and `outdated`, on the hermetic signed test archive:
// libfoo moves from 1.0-1 to 1.0-2, whose changelog.Debian.gz (in the .deb,
// not in any slice) says "Fix CVE-2099-0001" at urgency=high; libfoo-data,
// whose doc directory is a symlink to libfoo's, moves with it. Every output
// of `lock --diff` (text, markdown, json) and `outdated` (text, markdown,
// json; exit 0, 1 and 3) is checked.

import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChangelog, entriesBetween } from '../compiler/changelog/index.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { runAsync, type Run } from './support/proc.js';
import { TestArchive, type TestPackage } from './support/testarchive.js';

const BIN = path.resolve(__dirname, '..', 'bin', 'chisel-ts.js');

const ENTRY_1 = `libfoo (1.0-1) stable; urgency=medium

  * Initial release (closes CVE-2098-0005 of the upstream tarball).

 -- Test Maintainer <test@example.invalid>  Thu, 01 Jan 2099 00:00:00 +0000
`;
const ENTRY_2 = `libfoo (1.0-2) stable-security; urgency=high

  * Fix CVE-2099-0001: heap overflow in foo_parse() on long input.
  * Harden foo_read() against cve-2099-0002 (the id written in lower case).

 -- Test Maintainer <test@example.invalid>  Mon, 01 Jun 2099 00:00:00 +0000
`;
const changelog = (version: string) => (version === '1.0-2' ? `${ENTRY_2}\n${ENTRY_1}` : ENTRY_1);

const libfoo = (version: string): TestPackage => ({
  name: 'libfoo',
  version,
  files: [
    { path: '/usr/lib/libfoo.so.1', content: `libfoo ${version}${version === '1.0-2' ? ' with the fix' : ''}\n` },
    { path: '/usr/share/doc/libfoo/copyright', content: 'License: MIT\n' },
    { path: '/usr/share/doc/libfoo/changelog.Debian.gz', content: zlib.gzipSync(changelog(version)) },
  ],
});
const libfooData = (version: string): TestPackage => ({
  name: 'libfoo-data',
  version,
  files: [
    { path: '/usr/share/foo/data', content: `data ${version}\n` },
    { path: '/usr/share/doc/libfoo-data', type: 'symlink', link: 'libfoo' },
  ],
});
const base: TestPackage = { name: 'base', version: '3', files: [{ path: '/etc/base.conf', content: 'x=1\n' }] };

let archive: TestArchive;
let release: string;
const work = tempDir('chisel-ts-cve-');
const cache = tempDir('chisel-ts-cve-cache-');
const lockfile = path.join(work, 'chisel-ts.lock.json');
const oldLock = path.join(work, 'old.lock.json');

function cli(args: string[]): Promise<Run> {
  return runAsync(process.execPath, [BIN, ...args], { env: { ...process.env, CI: 'true', XDG_CACHE_HOME: tempDir() }, cwd: work });
}
const access = (c = cache) => ['--release', release, '--cache-dir', c];
/** The lines of text output for the two updates: `outdated` lists the CVEs on the package's line too. */
const updated = (prefix: string, cvesOnLine = true) =>
  ['libfoo', 'libfoo-data'].flatMap((p) => [
    `${prefix}${p} (amd64) 1.0-1 -> 1.0-2 [urgency high]${cvesOnLine ? ': CVE-2099-0001 CVE-2099-0002' : ''}`,
    '    1.0-2 stable-security; urgency=high: CVE-2099-0001 CVE-2099-0002',
  ]);
const SLICES = ['libfoo_libs', 'libfoo-data_data', 'base_conf'];

beforeAll(async () => {
  archive = await TestArchive.create({ suites: { stable: { main: [libfoo('1.0-1'), libfooData('1.0-1'), base] } } });
  release = writeRelease(archive, {
    libfoo: 'package: libfoo\nslices:\n  libs:\n    essential: [base_conf]\n    contents:\n      /usr/lib/libfoo.so.1:\n',
    'libfoo-data': 'package: libfoo-data\nslices:\n  data:\n    contents:\n      /usr/share/foo/data:\n',
    base: 'package: base\nslices:\n  conf:\n    contents:\n      /etc/base.conf:\n',
  });
  const l = await cli(['lock', ...access(), '--arch', 'amd64', '--lockfile', lockfile, ...SLICES]);
  expect(l.code, l.err).toBe(0);
  copyFileSync(lockfile, oldLock);
}, 60_000);

afterAll(async () => {
  await archive?.close();
});

describe('changelog parsing', () => {
  it('reads version, distributions, urgency and CVE ids; picks the entries between two versions by dpkg ordering', () => {
    const entries = parseChangelog(changelog('1.0-2'));
    expect(entries.map((e) => [e.version, e.distributions, e.urgency, e.cves, e.date])).toEqual([
      ['1.0-2', ['stable-security'], 'high', ['CVE-2099-0001', 'CVE-2099-0002'], 'Mon, 01 Jun 2099 00:00:00 +0000'],
      ['1.0-1', ['stable'], 'medium', ['CVE-2098-0005'], 'Thu, 01 Jan 2099 00:00:00 +0000'],
    ]);
    expect(entriesBetween(entries, '1.0-1', '1.0-2').map((e) => e.version)).toEqual(['1.0-2']);
    // ~ sorts before everything, a binNMU after its source version
    expect(entriesBetween(entries, '1.0~rc1-1', '1.0-2+b1').map((e) => e.version)).toEqual(['1.0-2', '1.0-1']);
    expect(entriesBetween(entries, '1.0-2', '1.0-2')).toEqual([]);
  });
});

describe('outdated and lock --diff', () => {
  it('outdated: exit 0 and "current" while the archive has nothing newer', async () => {
    const r = await cli(['outdated', ...access(), ...SLICES]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`${lockfile}: all 3 packages are current\n`);
    const j = await cli(['outdated', ...access(), '--json']);
    expect(j.code, j.err).toBe(0);
    expect(JSON.parse(j.out)).toMatchObject({ lockfile, packages: 3, current: true, updates: [], gone: [] });
    // slices other than the lock's: said, exit 1
    const other = await cli(['outdated', ...access(), 'libfoo_libs']);
    expect(other.code).toBe(1);
    expect(other.err).toMatch(/was made for \[libfoo_libs, libfoo-data_data, base_conf\], not \[libfoo_libs\]/);
  });

  it('after a security update: outdated exits 1 and names the CVE; re-lock; lock --diff as text, markdown and json', async () => {
    await archive.publish('stable', 'main', libfoo('1.0-2'));
    await archive.publish('stable', 'main', libfooData('1.0-2'));

    const t = await cli(['outdated', ...access(), ...SLICES]);
    expect(t.code, t.err).toBe(1);
    expect(t.out).toBe(
      [
        ...updated(''),
        '2 of 3 packages can be updated, fixing 2 CVEs; run `chisel-ts lock` (same arguments) to update chisel-ts.lock.json',
        '',
      ].join('\n'),
    );
    expect(t.out).not.toContain('CVE-2098-0005'); // fixed before the locked version
    const j = await cli(['outdated', ...access(), '--json']);
    expect(j.code).toBe(1);
    const report = JSON.parse(j.out);
    expect(report.current).toBe(false);
    expect(report.updates.map((u: any) => [u.name, u.from, u.to, u.urgency, u.cves, u.changelog])).toEqual([
      ['libfoo', '1.0-1', '1.0-2', 'high', ['CVE-2099-0001', 'CVE-2099-0002'], 'libfoo'],
      ['libfoo-data', '1.0-1', '1.0-2', 'high', ['CVE-2099-0001', 'CVE-2099-0002'], 'libfoo'],
    ]);
    expect(report.updates[0].entries).toEqual([
      {
        source: 'libfoo',
        version: '1.0-2',
        distributions: ['stable-security'],
        urgency: 'high',
        cves: ['CVE-2099-0001', 'CVE-2099-0002'],
        date: 'Mon, 01 Jun 2099 00:00:00 +0000',
      },
    ]);
    const md = await cli(['outdated', ...access(), '--format', 'markdown']);
    expect(md.code).toBe(1);
    expect(md.out).toContain('| libfoo (amd64) | 1.0-1 → 1.0-2 | high | CVE-2099-0001, CVE-2099-0002 |');

    // the lock moves on; the diff reads the new .debs' changelogs (from the cache lock filled, or by hash from the archive)
    const up = await cli(['lock', ...access(), '--arch', 'amd64', '--lockfile', lockfile, ...SLICES]);
    expect(up.code, up.err).toBe(0);
    expect((await cli(['outdated', ...access(), ...SLICES])).code).toBe(0);
    for (const c of [cache, tempDir('chisel-ts-cve-cold-')]) {
      const diff = await cli(['lock', '--diff', ...access(c), oldLock, lockfile]);
      expect(diff.code, diff.err).toBe(0);
      expect(diff.out).toContain(updated('~ ', false).join('\n'));
    }
    const bytes = (l: string, name: string) =>
      JSON.parse(readFileSync(l, 'utf8')).packages.find((p: any) => p.name === name).contents.bytes as number;
    const grew = bytes(lockfile, 'libfoo') - bytes(oldLock, 'libfoo');
    expect(grew).toBe(' with the fix'.length);
    const md2 = await cli(['lock', '--diff', ...access(), '--format', 'markdown', oldLock, lockfile]);
    expect(md2.code, md2.err).toBe(0);
    expect(md2.out).toContain('**2 packages updated, fixing 2 CVEs**');
    expect(md2.out).toContain(
      [
        '| package | old → new | urgency | CVEs | size change |',
        '| --- | --- | --- | --- | ---: |',
        `| libfoo (amd64) | 1.0-1 → 1.0-2 | high | CVE-2099-0001, CVE-2099-0002 | +${grew} B |`,
        '| libfoo-data (amd64) | 1.0-1 → 1.0-2 | high | CVE-2099-0001, CVE-2099-0002 | +0 B |',
      ].join('\n'),
    );
    expect(md2.out).toMatch(/^Image: `sha256:[0-9a-f]{64}` → `sha256:[0-9a-f]{64}`$/m);
    const js = await cli(['lock', '--diff', ...access(), '--json', oldLock, lockfile]);
    expect(js.code, js.err).toBe(0);
    const changed = JSON.parse(js.out).packages.changed;
    expect(changed[0]).toMatchObject({
      name: 'libfoo',
      arch: 'amd64',
      from: '1.0-1',
      to: '1.0-2',
      urgency: 'high',
      cves: ['CVE-2099-0001', 'CVE-2099-0002'],
      changelog: 'libfoo',
      bytes: [bytes(oldLock, 'libfoo'), bytes(lockfile, 'libfoo')],
    });
    expect(changed[0].entries.map((e: any) => e.version)).toEqual(['1.0-2']);
    // --no-changelogs: the plain diff, without the archive
    const plain = await cli(['lock', '--diff', '--no-changelogs', oldLock, lockfile]);
    expect(plain.code, plain.err).toBe(0);
    expect(plain.out).toMatch(/^~ libfoo \(amd64\) 1\.0-1 -> 1\.0-2$/m);
    expect(plain.out).not.toContain('CVE');
    // the lock's release is a directory: without --release the diff says how to name it
    const noRelease = await cli(['lock', '--diff', oldLock, lockfile]);
    expect(noRelease.code).toBe(1);
    expect(noRelease.err).toMatch(/not a release shipped with chisel-ts\nhint: pass its directory with --release DIR/);
  }, 120_000);

  it('outdated: exit 3 when the archive cannot be reached (text and --json)', async () => {
    const dead = ['--archive-url', 'test=http://127.0.0.1:9'];
    const r = await cli(['outdated', ...access(tempDir()), ...dead, ...SLICES]);
    expect(r.code, r.err).toBe(3);
    expect(r.err).toMatch(/^error: archive test suite stable: cannot fetch InRelease/m);
    const j = await cli(['outdated', ...access(tempDir()), ...dead, '--json']);
    expect(j.code).toBe(3);
    expect(JSON.parse(j.out).error.exitCode).toBe(3);
    // lock --diff reading a changelog the cache lacks, from a dead archive: 3 too
    const d = await cli(['lock', '--diff', ...access(tempDir()), ...dead, oldLock, lockfile]);
    expect(d.code).toBe(3);
  });
});
