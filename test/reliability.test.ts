// A damaged cache never reaches an output, and the cache can be seen,
// verified and pruned (issue 20), on a hermetic test archive through the
// built CLI: a corrupted blob is healed online (with a warning naming the
// file) for --root, --tar and --oci; --offline without a good .deb fails
// before writing and says how to heal; damaged side data is treated as
// missing; `cache verify --repair`, `cache info`, and `cache prune` running
// beside cuts leave every output correct.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheIsVerified } from './support/cache.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { runCli, type Run } from './support/proc.js';
import { describeTree } from './support/tree.js';
import { TestArchive } from './support/testarchive.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

// big: over the pack limit (its own blob); small files: packed together
const BIG = randomBytes(3 << 20);
const SMALL = 'a small file, kept in a pack\n';

let archive: TestArchive;
let release: string;

beforeAll(async () => {
  archive = await TestArchive.create({
    suites: {
      stable: {
        main: [
          {
            name: 'one',
            version: '1.0',
            files: [
              { path: '/usr/bin/big', content: BIG, mode: 0o755 },
              { path: '/etc/one/small', content: SMALL },
              { path: '/etc/one/other', content: 'other\n' },
            ],
          },
          { name: 'two', version: '2.0', files: [{ path: '/etc/two', content: 'two\n' }] },
        ],
      },
    },
  });
  release = writeRelease(archive, {
    one: 'package: one\nslices:\n  all:\n    essential: [two_conf]\n    contents:\n      /usr/bin/big:\n      /etc/one/small:\n      /etc/one/other:\n',
    two: 'package: two\nslices:\n  conf:\n    contents:\n      /etc/two:\n',
  });
});

afterAll(async () => {
  await archive?.close();
});

function cut(cache: string, args: string[]): Promise<Run> {
  return runCli(['cut', '--release', release, '--arch', 'amd64', '--cache-dir', cache, '--json', ...args, 'one_all']);
}

function cacheCli(args: string[]): Promise<Run> {
  return runCli(['cache', ...args]);
}

const blob = (cache: string, sum: string) => path.join(cache, 'blobs', 'sha256', sum);

/** Flip one byte of a file in place. */
function damage(file: string, at = 4097): void {
  const b = readFileSync(file);
  b[at % b.length] = (b[at % b.length] ?? 0) ^ 0xff;
  writeFileSync(file, b);
}

/** The .deb blob of package `name` (its listing's key). */
function debOf(cache: string, name: string): string {
  const dir = path.join(cache, 'meta', 'deb-listing');
  const f = readdirSync(dir).find((n) => readFileSync(path.join(dir, n), 'utf8').includes(`Package: ${name}\\n`));
  return f!.slice(0, 64);
}

/** The pack blob that holds /etc/one/small (the blob containing its bytes). */
function packOf(cache: string): string {
  const dir = path.join(cache, 'blobs', 'sha256');
  return readdirSync(dir).find((n) => n !== sha(SMALL) && readFileSync(path.join(dir, n)).includes(SMALL))!;
}

interface Ref {
  tree: Record<string, string>;
  tar: string;
  image: string;
}

/** A fresh cache, filled by a cut of every output: the reference outputs. */
async function filledCache(): Promise<{ cache: string; ref: Ref }> {
  const d = tempDir('chisel-ts-rel-');
  const cache = path.join(d, 'cache');
  const r = await cut(cache, ['--root', path.join(d, 'root'), '--tar', path.join(d, 'a.tar'), '--oci', path.join(d, 'oci')]);
  expect(r.code, r.err).toBe(0);
  const doc = JSON.parse(r.out);
  return { cache, ref: { tree: describeTree(path.join(d, 'root')), tar: doc.tar.sha256, image: doc.image.digest } };
}

describe('a damaged cache never reaches an output', () => {
  for (const kind of ['root', 'tar', 'oci'] as const) {
    for (const which of ['blob', 'pack'] as const) {
      it(`--${kind}: a damaged ${which} is dropped and its package unpacked again, with a warning naming the file`, async () => {
        const { cache, ref } = await filledCache();
        damage(blob(cache, which === 'blob' ? sha(BIG) : packOf(cache)), which === 'blob' ? 4097 : 3);
        const d = tempDir('chisel-ts-rel-out-');
        const out = path.join(d, kind === 'tar' ? 'x.tar' : 'x');
        const r = await cut(cache, [`--${kind}`, out]);
        expect(r.code, r.err).toBe(0);
        expect(r.err).toMatch(
          new RegExp(`warning: .*cached content of .*${which === 'blob' ? '/usr/bin/big' : '/etc/one/small'}.* was damaged`),
        );
        const doc = JSON.parse(r.out);
        if (kind === 'root') expect(describeTree(out)).toEqual(ref.tree);
        if (kind === 'tar') expect(doc.tar.sha256).toBe(ref.tar);
        if (kind === 'oci') expect(doc.image.digest).toBe(ref.image);
        expect(readFileSync(blob(cache, sha(BIG))).equals(BIG)).toBe(true);
        expect(cacheIsVerified(cache)).toBe(true);
      });
    }
  }

  it('offline, a damaged blob heals from the cached .deb (it is verified too)', async () => {
    const { cache, ref } = await filledCache();
    damage(blob(cache, sha(BIG)));
    const out = path.join(tempDir(), 'r');
    const r = await cut(cache, ['--offline', '--root', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/cached content of \/usr\/bin\/big was damaged/);
    expect(describeTree(out)).toEqual(ref.tree);
  });

  for (const kind of ['root', 'tar', 'oci'] as const) {
    it(`--offline --${kind} with the .deb damaged too: fails before writing, names the file and how to heal`, async () => {
      const { cache, ref } = await filledCache();
      damage(blob(cache, sha(BIG)));
      damage(blob(cache, debOf(cache, 'one')), 100);
      const d = tempDir('chisel-ts-rel-out-');
      const out = path.join(d, kind === 'tar' ? 'x.tar' : 'x');
      const r = await cut(cache, ['--offline', `--${kind}`, out]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/error: cached content of \/usr\/bin\/big is damaged/);
      expect(r.err).toMatch(/hint: .*without --offline.*cache verify --repair/);
      expect(readdirSync(d)).toEqual([]);
      // online, the .deb is fetched again and the cut gives the reference bytes
      const again = await cut(cache, [`--${kind}`, out]);
      expect(again.code, again.err).toBe(0);
      const doc = JSON.parse(again.out);
      if (kind === 'root') expect(describeTree(out)).toEqual(ref.tree);
      if (kind === 'tar') expect(doc.tar.sha256).toBe(ref.tar);
      if (kind === 'oci') expect(doc.image.digest).toBe(ref.image);
      expect(cacheIsVerified(cache)).toBe(true);
    });
  }

  it('damaged side data (a listing, a parsed index, the parse cache) is treated as missing', async () => {
    const { cache, ref } = await filledCache();
    const meta = path.join(cache, 'meta');
    let edited = 0;
    for (const kind of readdirSync(meta)) {
      for (const n of readdirSync(path.join(meta, kind))) {
        const f = path.join(meta, kind, n);
        // a plausible hand edit: valid JSON, wrong content
        writeFileSync(
          f,
          readFileSync(f, 'utf8')
            .replace(/"[0-9a-f]{64}"/, `"${'0'.repeat(64)}"`)
            .replace(/:1,/, ':2,'),
        );
        edited++;
      }
    }
    expect(edited).toBeGreaterThan(3);
    // offline, an InRelease whose reference fails its checksum is not in the cache
    const offline = await cut(cache, ['--offline', '--root', path.join(tempDir(), 'r')]);
    expect(offline.code).toBe(3);
    expect(offline.err).toMatch(/the cache holds no InRelease/);
    // online, every damaged entry needed is made again from the archive
    const out = path.join(tempDir(), 'r');
    const r = await cut(cache, ['--root', out]);
    expect(r.code, r.err).toBe(0);
    expect(describeTree(out)).toEqual(ref.tree);
    const out2 = path.join(tempDir(), 'r');
    const again = await cut(cache, ['--offline', '--root', out2]);
    expect(again.code, again.err).toBe(0);
    expect(describeTree(out2)).toEqual(ref.tree);
  });
});

describe('chisel-ts cache', () => {
  it('info: size, blobs, packages, indexes, oldest and newest use', async () => {
    const { cache } = await filledCache();
    const r = await cacheCli(['info', '--cache-dir', cache, '--json']);
    expect(r.code, r.err).toBe(0);
    const i = JSON.parse(r.out);
    expect(i.packages).toBe(2);
    expect(i.indexes).toBeGreaterThan(0);
    expect(i.blobs).toBeGreaterThanOrEqual(4);
    expect(i.size).toBeGreaterThan(BIG.length);
    expect(Date.parse(i.oldestUse)).toBeLessThanOrEqual(Date.parse(i.newestUse));
    const text = await cacheCli(['info', '--cache-dir', cache]);
    expect(text.out).toMatch(/^size: .* MB$/m);
    expect(text.out).toMatch(/^packages: 2$/m);
  });

  it('verify finds damaged blobs and side data (exit 1); --repair removes them; the next cut heals', async () => {
    const { cache, ref } = await filledCache();
    damage(blob(cache, sha(BIG)));
    const listing = path.join(cache, 'meta', 'deb-listing', `${debOf(cache, 'two')}.json`);
    writeFileSync(listing, readFileSync(listing, 'utf8').replace('two', 'tw0'));
    const r = await cacheCli(['verify', '--cache-dir', cache]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`damaged: blobs/sha256/${sha(BIG)}`);
    expect(r.out).toMatch(/bad: meta\/deb-listing\//);
    expect(r.err).toMatch(/hint: run `chisel-ts cache verify --repair`/);
    const fixed = await cacheCli(['verify', '--cache-dir', cache, '--repair']);
    expect(fixed.code, fixed.err).toBe(0);
    expect(existsSync(blob(cache, sha(BIG)))).toBe(false);
    expect((await cacheCli(['verify', '--cache-dir', cache])).code).toBe(0);
    const out = path.join(tempDir(), 'r');
    const again = await cut(cache, ['--offline', '--root', out]);
    expect(again.code, again.err).toBe(0);
    expect(describeTree(out)).toEqual(ref.tree);
  });

  it('prune --older-than removes what was not used since; --max-size removes least recently used first', async () => {
    const { cache } = await filledCache();
    const old = await cacheCli(['prune', '--cache-dir', cache, '--older-than', '1d', '--json']);
    expect(old.code, old.err).toBe(0);
    expect(JSON.parse(old.out).removed).toBe(0);
    const before = JSON.parse((await cacheCli(['info', '--cache-dir', cache, '--json'])).out);
    const r = await cacheCli(['prune', '--cache-dir', cache, '--max-size', String(Math.floor(before.size / 2)), '--json']);
    expect(r.code, r.err).toBe(0);
    const p = JSON.parse(r.out);
    expect(p.removed).toBeGreaterThan(0);
    expect(p.size).toBeLessThanOrEqual(before.size / 2);
    const zero = await cacheCli(['prune', '--cache-dir', cache, '--max-size', '0', '--json']);
    expect(JSON.parse(zero.out).size).toBe(0);
    expect((await cacheCli(['prune', '--cache-dir', cache, '--max-size', 'lots'])).code).toBe(2);
  });

  it('concurrent prunes and cuts leave every output correct and the cache verified', async () => {
    const { cache, ref } = await filledCache();
    const d = tempDir('chisel-ts-rel-conc-');
    const runs: Array<Promise<{ kind: string; out: string; r: Run }>> = [];
    for (let i = 0; i < 6; i++) {
      const kind = (['root', 'tar', 'oci'] as const)[i % 3]!;
      const out = path.join(d, `o${i}${kind === 'tar' ? '.tar' : ''}`);
      runs.push(cut(cache, [`--${kind}`, out]).then((r) => ({ kind, out, r })));
      runs.push(cacheCli(['prune', '--cache-dir', cache, '--max-size', '0']).then((r) => ({ kind: 'prune', out: '', r })));
    }
    for (const { kind, out, r } of await Promise.all(runs)) {
      expect(r.code, `${kind}: ${r.err}`).toBe(0);
      if (kind === 'prune') continue;
      const doc = JSON.parse(r.out);
      if (kind === 'root') expect(describeTree(out)).toEqual(ref.tree);
      if (kind === 'tar') expect(doc.tar.sha256).toBe(ref.tar);
      if (kind === 'oci') expect(doc.image.digest).toBe(ref.image);
    }
    expect(cacheIsVerified(cache)).toBe(true);
    expect(readdirSync(path.join(cache, 'locks'))).toEqual([]);
  }, 120_000);
});
