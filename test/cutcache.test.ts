// The cut cache (compiler/slicer/cutcache.ts): a cut of inputs cut before
// takes its result from the cache, the same to the byte as a fresh cut, and
// any change of an input (a slice file, chisel.yaml, a package version, an
// option, the code) makes a fresh cut. Damaged or missing content named by a
// cached cut is healed like any other.

import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore } from '../compiler/cache/store.js';
import { cutKey } from '../compiler/slicer/cutcache.js';
import { hashCodeDir } from '../compiler/util/codeid.js';
import { cutTo, tempDir, writeRelease } from './support/cutenv.js';
import { generateKey, TestArchive } from './support/testarchive.js';
import { describeTree } from './support/tree.js';

let archive: TestArchive;

const HELLO = `package: hello
slices:
  bins:
    essential: [libhi_libs]
    contents:
      /usr/bin/hello:
      /usr/bin/hi: {symlink: /usr/bin/hello}
      /etc/hello.conf: {mutable: true}
    mutate: |
      content.write("/etc/hello.conf", content.read("/etc/hello.conf") + "mutated\\n")
  manifest:
    contents:
      /var/lib/chisel/**: {generate: manifest}
`;
const LIBHI = 'package: libhi\nslices:\n  libs:\n    contents:\n      /usr/lib/libhi.so.1:\n';

beforeAll(async () => {
  archive = await TestArchive.create({
    suites: {
      stable: {
        main: [
          {
            name: 'hello',
            version: '1.0',
            files: [
              { path: '/usr/bin/hello', content: '#!/bin/sh\necho hello\n', mode: 0o4755 },
              { path: '/etc/hello.conf', content: 'greeting=hi\n' },
            ],
          },
          { name: 'libhi', version: '1.0', files: [{ path: '/usr/lib/libhi.so.1', content: 'lib 1\n' }] },
        ],
      },
    },
  });
});

afterAll(async () => {
  await archive?.close();
});

const SLICES = ['hello_bins', 'hello_manifest'];

/** The cut cache's entries of a content cache. */
function cutEntries(cacheDir: string): string[] {
  const dir = path.join(cacheDir, 'meta', 'cut');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
}

describe('cut cache', () => {
  it('a second cut of the same inputs is the first, taken from the cache without reading a package', async () => {
    const releaseDir = writeRelease(archive, { hello: HELLO, libhi: LIBHI });
    const cacheDir = tempDir();
    const first = await cutTo({ releaseDir, slices: SLICES, cacheDir, packageMetadata: true });
    expect(cutEntries(cacheDir)).toHaveLength(1);
    // without the listings and .debs, only the cut cache can give the tree (offline: nothing can be fetched)
    rmSync(path.join(cacheDir, 'meta', 'deb-listing'), { recursive: true });
    for (const p of first.result.packages) rmSync(path.join(cacheDir, 'blobs', 'sha256', p.sha256));
    const second = await cutTo({ releaseDir, slices: SLICES, cacheDir, packageMetadata: true, offline: true });
    expect(second.result.tree).toEqual(first.result.tree);
    expect(second.result.packages).toEqual(first.result.packages);
    expect(second.result.setIdDropped).toEqual(first.result.setIdDropped);
    expect(describeTree(second.root)).toEqual(describeTree(first.root));
    expect(describeTree(second.root)['/etc/hello.conf']).toMatch(/^file 0644/);
  });

  const changes: Array<{
    name: string;
    change: (releaseDir: string) => void;
    opts?: { packageMetadata?: boolean; keepSetId?: boolean };
    expect: (tree: Record<string, string>) => void;
  }> = [
    {
      name: 'a slice file',
      change: (d) => writeFileSync(path.join(d, 'slices', 'libhi.yaml'), `${LIBHI}      /usr/lib/libhi-extra:\n        text: extra\n`),
      expect: (t) => expect(t['/usr/lib/libhi-extra']).toMatch(/^file/),
    },
    {
      name: 'a mutate script',
      change: (d) => writeFileSync(path.join(d, 'slices', 'hello.yaml'), HELLO.replace('"mutated\\n"', '"changed\\n"')),
      expect: (t) => expect(t['/etc/hello.conf']).not.toBe(undefined),
    },
    {
      name: 'chisel.yaml',
      change: (d) => writeFileSync(path.join(d, 'chisel.yaml'), `${readFileSync(path.join(d, 'chisel.yaml'), 'utf8')}\n# a comment\n`),
      expect: () => undefined,
    },
    {
      name: '--keep-setid',
      change: () => undefined,
      opts: { keepSetId: true },
      expect: (t) => expect(t['/usr/bin/hello']).toMatch(/^file 4755/),
    },
    {
      name: 'dpkg metadata left out',
      change: () => undefined,
      opts: { packageMetadata: false },
      expect: (t) => expect(Object.keys(t).some((p) => p.startsWith('/var/lib/dpkg'))).toBe(false),
    },
  ];

  for (const c of changes) {
    it(`a change of ${c.name} makes a fresh cut, the one an empty cache gives`, async () => {
      const releaseDir = writeRelease(archive, { hello: HELLO, libhi: LIBHI });
      const cacheDir = tempDir();
      await cutTo({ releaseDir, slices: SLICES, cacheDir, packageMetadata: true });
      c.change(releaseDir);
      const opts = { packageMetadata: true, ...c.opts };
      const again = await cutTo({ releaseDir, slices: SLICES, cacheDir, ...opts });
      expect(cutEntries(cacheDir)).toHaveLength(2);
      const fresh = await cutTo({ releaseDir, slices: SLICES, cacheDir: tempDir(), ...opts });
      expect(again.result.tree).toEqual(fresh.result.tree);
      c.expect(describeTree(again.root));
    });
  }

  it('a new package version in the archive makes a fresh cut with it', async () => {
    const local = await TestArchive.create({
      suites: { stable: { main: [{ name: 'libhi', version: '1.0', files: [{ path: '/usr/lib/libhi.so.1', content: 'lib 1\n' }] }] } },
      key: await generateKey(),
    });
    try {
      const releaseDir = writeRelease(local, { libhi: LIBHI });
      const cacheDir = tempDir();
      const one = await cutTo({ releaseDir, slices: ['libhi_libs'], cacheDir });
      await local.publish('stable', 'main', {
        name: 'libhi',
        version: '2.0',
        files: [{ path: '/usr/lib/libhi.so.1', content: 'lib 2\n' }],
      });
      const two = await cutTo({ releaseDir, slices: ['libhi_libs'], cacheDir });
      expect(two.result.packages[0]!.version).toBe('2.0');
      expect(two.result.tree).not.toEqual(one.result.tree);
      expect(describeTree(two.root)['/usr/lib/libhi.so.1']).toContain(String(Buffer.from('lib 2\n').length));
    } finally {
      await local.close();
    }
  });

  it('a damaged content of a cached cut is healed from the package, and the output is right', async () => {
    const releaseDir = writeRelease(archive, { hello: HELLO, libhi: LIBHI });
    const cacheDir = tempDir();
    const first = await cutTo({ releaseDir, slices: SLICES, cacheDir });
    const store = new ContentStore(cacheDir);
    const lib = first.result.tree.entries.find((e) => e.path === '/usr/lib/libhi.so.1')!;
    // the content's blob (its pack, for a small file) is damaged
    for (const f of readdirSync(path.join(cacheDir, 'blobs', 'sha256'))) {
      const p = path.join(cacheDir, 'blobs', 'sha256', f);
      if (!f.startsWith('.') && readFileSync(p).includes('lib 1\n')) writeFileSync(p, 'damaged');
    }
    expect(await store.checkContents([lib.sha256!])).toEqual([lib.sha256]);
    const healed = await cutTo({ releaseDir, slices: SLICES, cacheDir });
    expect(healed.result.tree).toEqual(first.result.tree);
    expect(describeTree(healed.root)).toEqual(describeTree(first.root));
  });

  it('a damaged cut cache entry is not used', async () => {
    const releaseDir = writeRelease(archive, { hello: HELLO, libhi: LIBHI });
    const cacheDir = tempDir();
    const first = await cutTo({ releaseDir, slices: SLICES, cacheDir });
    const [entry] = cutEntries(cacheDir);
    const file = path.join(cacheDir, 'meta', 'cut', entry!);
    writeFileSync(file, readFileSync(file, 'utf8').replace('/usr/bin/hello', '/usr/bin/HELLO'));
    const again = await cutTo({ releaseDir, slices: SLICES, cacheDir });
    expect(again.result.tree).toEqual(first.result.tree);
  });

  it('the key names every input: release files, arch, slices, packages, options', async () => {
    const releaseDir = writeRelease(archive, { hello: HELLO, libhi: LIBHI });
    const { result } = await cutTo({ releaseDir, slices: SLICES });
    const base = {
      selection: result.selection,
      packages: result.packages,
      store: new ContentStore(tempDir()),
      source: { fetchDeb: async () => '' },
    };
    const key = cutKey(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const variants = [
      { ...base, selection: { ...base.selection, release: { ...base.selection.release, digest: 'other' } } },
      { ...base, selection: { ...base.selection, arch: 'arm64' } },
      { ...base, selection: { ...base.selection, slices: base.selection.slices.slice(1) } },
      { ...base, packages: base.packages.map((p) => ({ ...p, sha256: '0'.repeat(64) })) },
      { ...base, packages: base.packages.map((p) => ({ ...p, version: '9' })) },
      { ...base, packageMetadata: false },
      { ...base, keepSetId: true },
    ];
    const keys = variants.map((v) => cutKey(v));
    expect(new Set([key, ...keys]).size).toBe(variants.length + 1);
    // a release that cannot be named by its files (built in code) is not cached
    const { digest: _, ...bare } = base.selection.release;
    expect(cutKey({ ...base, selection: { ...base.selection, release: bare } })).toBe(undefined);
  });

  it('the code id changes with any module of the code', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'a.js'), 'export const a = 1;\n');
    const one = hashCodeDir(dir);
    writeFileSync(path.join(dir, 'a.js'), 'export const a = 2;\n');
    expect(hashCodeDir(dir)).not.toBe(one);
    writeFileSync(path.join(dir, 'notes.txt'), 'not code\n');
    expect(hashCodeDir(dir)).toBe(hashCodeDir(dir));
  });
});
