// Mirror faults (issue 20 item 5): two mirrors of one archive in the APT
// sources, two hermetic archives signed by the same key. The first answers
// 500, stalls, serves an InRelease older than the lockfile's, or a Packages
// file that does not match its InRelease (a mirror caught mid-sync): the cut
// uses the second, says so under --verbose, and reads every index of the cut
// from one mirror's InRelease. `--locked` against a mirror that has moved on
// names the pinned package and the date of the lock.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveArchiveUrl } from '../compiler/archive/sources.js';
import { ContentStore, sha256Hex } from '../compiler/cache/store.js';
import { planBuild } from '../compiler/pipeline/plan.js';
import { loadRelease } from '../compiler/release/index.js';
import { cacheIsVerified } from './support/cache.js';
import { cutTo, tempDir, writeRelease } from './support/cutenv.js';
import { runCli } from './support/proc.js';
import { describeTree } from './support/tree.js';
import { generateKey, TestArchive, type TestPackage } from './support/testarchive.js';

const hello = (version: string): TestPackage => ({
  name: 'hello',
  version,
  files: [{ path: '/usr/bin/hello', content: `#!/bin/sh\necho hello ${version}\n`, mode: 0o755 }],
});
const other = (version: string): TestPackage => ({
  name: 'other',
  version,
  files: [{ path: '/etc/other', content: `other ${version}\n` }],
});

const slices = {
  hello: 'package: hello\nslices:\n  bins:\n    contents:\n      /usr/bin/hello:\n',
  other: 'package: other\nslices:\n  conf:\n    contents:\n      /etc/other:\n',
};

/** The old snapshot (first in the sources) and the new one; same key, like two mirrors of one archive. */
let old: TestArchive;
let fresh: TestArchive;
let release: string;

beforeAll(async () => {
  const key = await generateKey();
  old = await TestArchive.create({ key, suites: { stable: { main: [hello('1.0'), other('1.0')] } } });
  fresh = await TestArchive.create({ key, suites: {} });
  fresh.date = new Date(Date.UTC(2026, 1, 1));
  await fresh.publish('stable', 'main', hello('1.1'));
  await fresh.publish('stable', 'main', other('1.1'));
  release = writeRelease(old, slices, { url: false });
});

afterAll(async () => {
  await old?.close();
  await fresh?.close();
});

afterEach(() => {
  old.clearFaults();
  fresh.clearFaults();
});

/** An APT configuration directory (as /etc/apt) whose sources.list names `mirrors` in order. */
function aptDir(...mirrors: TestArchive[]): string {
  const dir = tempDir('chisel-ts-apt-');
  mkdirSync(path.join(dir, 'sources.list.d'));
  writeFileSync(path.join(dir, 'sources.list'), mirrors.map((m) => `deb ${m.url} stable main\n`).join(''));
  return dir;
}

const inRelease = (a: TestArchive): string => sha256Hex(a.files.get('dists/stable/InRelease')!);
const since = (a: TestArchive, n: number): string[] => a.requests.slice(n);

/** A library cut of `slices` with the APT sources `apt`; the --verbose lines it logged. */
async function cut(apt: string, cacheDir: string, names = ['hello_bins']) {
  const log: string[] = [];
  const r = await cutTo({
    releaseDir: release,
    slices: names,
    cacheDir,
    log: (l) => log.push(l),
    archives: { sourcesFiles: [path.join(apt, 'sources.list')] },
  });
  return { ...r, log };
}

describe('the mirrors an archive may turn to', () => {
  it("after its URL: the APT sources naming one of its suites, then the others (another archive's last)", async () => {
    const dir = tempDir();
    const list = path.join(dir, 'sources.list');
    writeFileSync(
      list,
      `deb ${old.url} stable main\ndeb http://127.0.0.1:9/security stable-security main\ndeb ${fresh.url}/ stable main\n`,
    );
    const def = (await loadRelease(release)).archives.get('test')!;
    const keys = [...(await loadRelease(release)).publicKeys.values()];
    const r = await resolveArchiveUrl(def, keys, { sourcesFiles: [list], env: {} });
    expect(r).toMatchObject({ url: old.url, from: 'sources', alternatives: [fresh.url, 'http://127.0.0.1:9/security'] });
  });
});

describe('a failing first mirror: the cut uses the second, whole', () => {
  // `warm`: a first cut found the first mirror (the discovery is cached, so the archive, not the probe, meets the fault)
  const faults: Array<{ name: string; pattern: RegExp; fault: '500' | 'stall' | 'tamper'; why: RegExp; warm: boolean }> = [
    { name: 'answers 500', pattern: /^dists\//, fault: '500', why: /500/, warm: true },
    { name: 'stalls (times out)', pattern: /InRelease$/, fault: 'stall', why: /timed out/, warm: true },
    {
      name: 'serves a Packages file that does not match its InRelease (mid-sync)',
      pattern: /Packages|by-hash/,
      fault: 'tamper',
      why: /sha256 mismatch/,
      warm: false,
    },
  ];
  for (const f of faults) {
    it(`the first ${f.name}: the second mirror's InRelease, indexes and .debs; said under --verbose`, async () => {
      const apt = aptDir(old, fresh);
      const cache = tempDir();
      if (f.warm) {
        const first = await cut(apt, cache);
        expect(first.result.packages[0]!.version).toBe('1.0');
        expect(first.log).toEqual([]);
      }
      old.fault(f.pattern, f.fault);
      const [o, n] = [old.requests.length, fresh.requests.length];
      // another selection, so the package is looked up in the indexes again
      const second = await cut(apt, cache, ['hello_bins', 'other_conf']);
      expect(second.log.join('\n')).toMatch(
        new RegExp(`archive test: mirror ${old.url} failed \\(.*${f.why.source}.*\\); using mirror ${fresh.url.replace(/\./g, '\\.')}`),
      );
      // one snapshot: the second mirror's InRelease, its versions, its files only from then on
      expect(second.archives).toEqual([{ archive: 'test', suite: 'stable', date: fresh.date.toUTCString(), sha256: inRelease(fresh) }]);
      expect(second.result.packages.map((p) => `${p.name} ${p.version}`)).toEqual(['hello 1.1', 'other 1.1']);
      expect(describeTree(second.root)['/etc/other']).toMatch(/^file 0644/);
      expect(readFileSync(path.join(second.root, 'usr/bin/hello'), 'utf8')).toContain('hello 1.1');
      expect(since(old, o).filter((r) => r.endsWith('.deb'))).toEqual([]);
      expect(since(fresh, n)).toEqual(expect.arrayContaining(['dists/stable/InRelease', expect.stringMatching(/\.deb$/)]));
      expect(cacheIsVerified(cache)).toBe(true);
    });
  }

  it('a lookup answered from the first snapshot (warm cache) is asked again in the second: no mix of two snapshots', async () => {
    const apt = aptDir(old, fresh);
    const cache = tempDir();
    await cut(apt, cache); // hello's lookup is cached for the old snapshot
    // the parsed index and the index itself pruned from the cache: other's lookup has to download it
    rmSync(path.join(cache, 'meta', 'packages-table'), { recursive: true });
    for (const [name, bytes] of old.files)
      if (name.startsWith('dists/')) rmSync(path.join(cache, 'blobs', 'sha256', sha256Hex(bytes)), { force: true });
    old.fault(/Packages|by-hash/, 'tamper'); // other needs the index: it fails on the old mirror
    const r = await cut(apt, cache, ['hello_bins', 'other_conf']);
    // hello was answered from the cache for the old snapshot first; the plan asked again
    expect(r.result.packages.map((p) => `${p.name} ${p.version}`)).toEqual(['hello 1.1', 'other 1.1']);
    expect(r.archives.map((a) => a.sha256)).toEqual([inRelease(fresh)]);
  });

  it('both mirrors failing: one error naming each', async () => {
    old.fault(/^dists\//, '500');
    fresh.fault(/^dists\//, '500');
    const apt = aptDir(old, fresh);
    const cache = tempDir();
    // warm the discovery first, so the archive (not the probe) meets the faults
    old.clearFaults();
    fresh.clearFaults();
    await cut(apt, cache);
    old.fault(/^dists\//, '500');
    fresh.fault(/^dists\//, '500');
    await expect(cut(apt, cache, ['hello_bins', 'other_conf'])).rejects.toThrow(
      new RegExp(`archive test: every mirror failed: ${old.url}: .*500.*; ${fresh.url}: .*500`),
    );
  });
});

/** The built CLI: `command` of `rel` for amd64 with the cache `cache`, the APT sources of `apt`. */
function cli(command: string, rel: string, cache: string, apt: string, args: string[]) {
  return runCli([command, '--release', rel, '--arch', 'amd64', '--cache-dir', cache, ...args, 'hello_bins'], {
    env: { CHISEL_TS_APT_DIR: apt },
  });
}

describe('--locked and mirrors', () => {
  async function lockAgainst(apt: string, dir: string): Promise<string> {
    const lockfile = path.join(dir, 'chisel-ts.lock.json');
    const r = await cli('lock', release, path.join(dir, 'lock-cache'), apt, ['--lockfile', lockfile]);
    expect(r.code, r.err).toBe(0);
    return lockfile;
  }

  it('a first mirror older than the lock is left for the second (--verbose says why)', async () => {
    const dir = tempDir();
    const lockfile = await lockAgainst(aptDir(fresh), dir);
    const lock = JSON.parse(readFileSync(lockfile, 'utf8'));
    expect(lock.archives).toEqual([
      { name: 'test', suite: 'stable', date: fresh.date.toUTCString(), inRelease: `sha256:${inRelease(fresh)}` },
    ]);
    const n = old.requests.length;
    const r = await cli('cut', release, path.join(dir, 'cache'), aptDir(old, fresh), [
      '--locked',
      '--lockfile',
      lockfile,
      '--verbose',
      '--root',
      path.join(dir, 'root'),
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/archive test: mirror \S+ failed \(.*older than the one the lockfile pins.*\); using mirror/);
    expect(readFileSync(path.join(dir, 'root', 'usr/bin/hello'), 'utf8')).toContain('hello 1.1');
    expect(since(old, n).filter((q) => q.endsWith('.deb'))).toEqual([]);
  });

  it('a mirror that has moved on (the pinned version gone): names the package and the date of the lock', async () => {
    const key = await generateKey();
    const moving = await TestArchive.create({ key, suites: { stable: { main: [hello('1.0')] } } });
    try {
      const dir = tempDir();
      const apt = aptDir(moving);
      const rel = writeRelease(moving, slices, { url: false });
      const lockfile = path.join(dir, 'lock.json');
      const locked = await cli('lock', rel, path.join(dir, 'c1'), apt, ['--lockfile', lockfile]);
      expect(locked.code, locked.err).toBe(0);
      const before = readFileSync(lockfile);
      moving.date = new Date(Date.UTC(2026, 2, 1));
      await moving.publish('stable', 'main', hello('2.0'), { dropOld: true });
      const r = await cli('cut', rel, path.join(dir, 'c2'), apt, ['--locked', '--lockfile', lockfile, '--root', path.join(dir, 'root')]);
      expect(r.code).toBe(3);
      expect(r.err).toMatch(/pinned package hello 1\.0 \(amd64/);
      expect(r.err).toContain(`the lockfile was made from archive test as of stable ${new Date(Date.UTC(2026, 0, 1)).toUTCString()}`);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack
      // the lockfile is left as it was, byte for byte
      expect(readFileSync(lockfile).equals(before)).toBe(true);
    } finally {
      await moving.close();
    }
  });
});

describe('one snapshot for every arch of a build', () => {
  it('a failover while arm64 is planned makes amd64 ask again: both archs from the second mirror', async () => {
    const key = await generateKey();
    const both = { arch: 'amd64', archs: ['amd64', 'arm64'], key };
    // other (arm64 only) makes the two archs' indexes differ
    const a = await TestArchive.create({
      ...both,
      suites: {
        stable: {
          main: [
            { ...hello('1.0'), arch: 'all' },
            { ...other('1.0'), arch: 'arm64' },
          ],
        },
      },
    });
    const b = await TestArchive.create({ ...both, suites: {} });
    try {
      b.date = new Date(Date.UTC(2026, 1, 1));
      await b.publish('stable', 'main', { ...hello('1.1'), arch: 'all' });
      await b.publish('stable', 'main', { ...other('1.1'), arch: 'arm64' });
      const rel = writeRelease(a, slices, { url: false });
      // only the first mirror's arm64 index is broken (a sync half done)
      a.fault(/binary-arm64/, 'tamper');
      const apt = aptDir(a, b);
      const log: string[] = [];
      const { plan } = await planBuild({
        release: await loadRelease(rel),
        slices: ['hello_bins'],
        archs: ['amd64', 'arm64'],
        store: new ContentStore(tempDir()),
        http: { retries: 1, backoffMs: 10, timeoutMs: 2000 },
        sourcesFiles: [path.join(apt, 'sources.list')],
        log: (l) => log.push(l),
      });
      expect(log.join('\n')).toMatch(/\[arm64\] archive test: mirror \S+ failed \(.*sha256 mismatch/);
      for (const p of plan.archs) {
        expect(
          p.packages.map((x) => `${x.name} ${x.version}`),
          p.arch,
        ).toEqual(['hello 1.1']);
        expect(
          p.archives.map((x) => x.sha256),
          p.arch,
        ).toEqual([inRelease(b)]);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
