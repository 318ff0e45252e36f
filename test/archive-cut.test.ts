// Archive faults seen through a cut: every byte verified, the cache never
// poisoned, no partial output; retries, offline cuts, clear errors.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ContentStore, sha256Hex } from '../compiler/cache/store.js';
import { cachedListing } from '../compiler/slicer/unpack.js';
import { cacheIsVerified } from './support/cache.js';
import { cutTo, tempDir, writeRelease } from './support/cutenv.js';
import { generateKey, TestArchive } from './support/testarchive.js';
import { describeTree } from './support/tree.js';

let archive: TestArchive;
const slices = {
  hello:
    'package: hello\nslices:\n  bins:\n    contents:\n      /usr/bin/hello:\n      /etc/hello.conf:\n  conf:\n    contents:\n      /etc/hello.conf:\n',
};
const helloSh = '#!/bin/sh\necho hello\n';

beforeAll(async () => {
  archive = await TestArchive.create({
    suites: {
      stable: {
        main: [
          {
            name: 'hello',
            version: '1.0',
            compression: 'xz',
            files: [
              { path: '/usr/bin/hello', content: helloSh, mode: 0o755 },
              { path: '/etc/hello.conf', content: 'greeting=hi\n' },
            ],
          },
        ],
      },
    },
  });
});

afterAll(async () => {
  await archive?.close();
});

const faultCases: Array<{ name: string; pattern: RegExp; fault: Parameters<TestArchive['fault']>[1]; error: RegExp }> = [
  { name: 'a tampered .deb', pattern: /\.deb$/, fault: 'tamper', error: /package hello 1\.0 .*sha256 mismatch.*refusing it/ },
  { name: 'a tampered index', pattern: /by-hash|Packages/, fault: 'tamper', error: /Packages.*sha256 mismatch/ },
  { name: 'a missing .deb (404)', pattern: /\.deb$/, fault: '404', error: /package hello 1\.0.*404/ },
  { name: 'a .deb behind authentication (401)', pattern: /\.deb$/, fault: '401', error: /401/ },
  { name: 'a truncated .deb', pattern: /\.deb$/, fault: 'truncate', error: /truncated|connection reset/ },
  { name: 'a stalled server', pattern: /\.deb$/, fault: 'stall', error: /timed out/ },
  {
    name: 'a tampered InRelease (bad signature)',
    pattern: /InRelease$/,
    fault: 'tamper',
    error: /InRelease[\s\S]*(signature|signed|verif|armor|PGP)/i,
  },
  { name: 'connections reset', pattern: /\.deb$/, fault: 'reset', error: /package hello 1\.0.*(reset|hang up)/i },
];

describe('archive faults during a cut', () => {
  for (const c of faultCases) {
    it(`${c.name}: clear error, no output, cache unpoisoned`, async () => {
      archive.clearFaults();
      archive.fault(c.pattern, c.fault);
      const releaseDir = writeRelease(archive, slices);
      const cacheDir = tempDir();
      const root = path.join(tempDir(), 'root');
      await expect(cutTo({ releaseDir, slices: ['hello_bins'], cacheDir, root })).rejects.toThrow(c.error);
      expect(existsSync(root)).toBe(false);
      expect(readdirSync(path.dirname(root))).toEqual([]);
      expect(cacheIsVerified(cacheDir)).toBe(true);
      archive.clearFaults();
      // The same cache then works.
      const ok = await cutTo({ releaseDir, slices: ['hello_bins'], cacheDir, root });
      expect(describeTree(ok.root)['/usr/bin/hello']).toMatch(/^file 0755/);
    });
  }

  it('retries a 500 and succeeds', async () => {
    archive.clearFaults();
    archive.fault(/\.deb$/, '500-once');
    const { root } = await cutTo({ releaseDir: writeRelease(archive, slices), slices: ['hello_bins'] });
    expect(existsSync(path.join(root, 'usr/bin/hello'))).toBe(true);
    archive.clearFaults();
  });

  it('follows a redirect', async () => {
    archive.clearFaults();
    archive.fault(/\.deb$/, 'redirect');
    const before = archive.requests.length;
    const { root } = await cutTo({ releaseDir: writeRelease(archive, slices), slices: ['hello_bins'] }).finally(() =>
      archive.clearFaults(),
    );
    expect(existsSync(path.join(root, 'usr/bin/hello'))).toBe(true);
    expect(archive.requests.slice(before).filter((r) => r.endsWith('.deb'))).toEqual([
      expect.stringMatching(/^pool\//),
      expect.stringMatching(/^moved\/pool\//),
    ]);
  });

  it('stores only the content a cut takes; a cut of other paths unpacks the package again', async () => {
    const releaseDir = writeRelease(archive, slices);
    const first = await cutTo({ releaseDir, slices: ['hello_conf'] });
    // A fresh store knows packed content once it read the listing (as a cut does).
    const stored = async (content: string): Promise<boolean> => {
      const store = new ContentStore(first.cacheDir);
      const [listing] = readdirSync(path.join(first.cacheDir, 'meta', 'deb-listing'));
      expect((await cachedListing(store, listing!.replace(/\.json$/, '')))?.packs).toHaveLength(1);
      return store.hasContent(sha256Hex(content));
    };
    expect(await stored('greeting=hi\n')).toBe(true);
    expect(await stored(helloSh)).toBe(false);
    const second = await cutTo({ releaseDir, slices: ['hello_bins'], cacheDir: first.cacheDir, offline: true });
    expect(describeTree(second.root)['/usr/bin/hello']).toMatch(/^file 0755/);
    expect(await stored(helloSh)).toBe(true);
    expect(cacheIsVerified(first.cacheDir)).toBe(true);
  });

  it('refuses an InRelease signed by an unknown key', async () => {
    archive.signingKey = await generateKey('intruder');
    await archive.rebuild();
    try {
      await expect(cutTo({ releaseDir: writeRelease(archive, slices), slices: ['hello_bins'] })).rejects.toThrow(
        /InRelease signature not verified: signed by [0-9A-F]{16}/,
      );
    } finally {
      delete archive.signingKey;
      await archive.rebuild();
    }
  });

  it('refuses an expired InRelease', async () => {
    archive.validUntil = new Date(Date.UTC(2021, 0, 1));
    await archive.rebuild();
    try {
      await expect(cutTo({ releaseDir: writeRelease(archive, slices), slices: ['hello_bins'] })).rejects.toThrow(/InRelease expired/);
    } finally {
      delete archive.validUntil;
      await archive.rebuild();
    }
  });

  it('cuts --offline from a warm cache, with no request to the archive', async () => {
    const releaseDir = writeRelease(archive, slices);
    const first = await cutTo({ releaseDir, slices: ['hello_bins'] });
    const before = archive.requests.length;
    const second = await cutTo({ releaseDir, slices: ['hello_bins'], cacheDir: first.cacheDir, offline: true });
    expect(archive.requests.length).toBe(before);
    expect(describeTree(second.root)).toEqual(describeTree(first.root));
  });

  it('fails --offline with an empty cache, saying what is missing', async () => {
    await expect(cutTo({ releaseDir: writeRelease(archive, slices), slices: ['hello_bins'], offline: true })).rejects.toThrow(
      /--offline, and the cache holds no InRelease/,
    );
  });

  it('re-downloads nothing on a warm run', async () => {
    const releaseDir = writeRelease(archive, slices);
    const first = await cutTo({ releaseDir, slices: ['hello_bins'] });
    const before = archive.requests.length;
    await cutTo({ releaseDir, slices: ['hello_bins'], cacheDir: first.cacheDir });
    expect(archive.requests.slice(before)).toEqual(['dists/stable/InRelease']);
    expect(new ContentStore(first.cacheDir).root).toBe(path.resolve(first.cacheDir));
  });
});
