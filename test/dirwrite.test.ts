// A root directory is written by two threads (output/dir.ts, entries.ts):
// the main thread from the front of the tree, the file worker from the back.
// Through the built CLI (which has the worker) on a hermetic archive: the
// root equals what GNU tar extracts from the tarball of the same cut (types,
// modes, contents, links, hard-link groups, times); a cached cut whose
// content is damaged at either end of the tree heals with a warning; and,
// from the library, an entry below a symlink or a file of the tree is
// refused before anything is written.

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore } from '../compiler/cache/store.js';
import { writeDir } from '../compiler/output/dir.js';
import type { Tree, TreeEntry } from '../compiler/tree/model.js';
import { deserializeError, localError, serializeError } from '../compiler/util/errors.js';
import { cacheIsVerified } from './support/cache.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { runCli, type Run } from './support/proc.js';
import { describeTree } from './support/tree.js';
import { TestArchive } from './support/testarchive.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

// big files of their own blobs at the front (/a) and the back (/z) of the tree; 3,000 packed files between
const FRONT = randomBytes(5 << 20);
const BACK = randomBytes(5 << 20);
const LAST_SMALL = 'the last small file of the tree\n';
const DIRS = 30;
const PER_DIR = 100;

let archive: TestArchive;
let release: string;

beforeAll(async () => {
  const files: Array<Record<string, unknown>> = [
    { path: '/a/', type: 'dir' },
    { path: '/a/big', content: FRONT, mode: 0o755 },
    { path: '/a/empty', content: '' },
    { path: '/a/su', content: '#!su', mode: 0o4755 },
    { path: '/a/hard', type: 'hardlink', link: '/a/su', mode: 0o4755 },
    { path: '/w/', type: 'dir' },
  ];
  for (let d = 0; d < DIRS; d++) {
    const dir = `/w/d${String(d).padStart(2, '0')}`;
    files.push({ path: `${dir}/`, type: 'dir', mode: d % 7 === 0 ? 0o750 : 0o755 });
    for (let f = 0; f < PER_DIR; f++) {
      const name = `${dir}/f${String(f).padStart(3, '0')}`;
      if (f % 10 === 9) files.push({ path: name, type: 'symlink', link: `f${String(f - 1).padStart(3, '0')}` });
      else files.push({ path: name, content: `${d}/${f}\n`, mode: f % 3 === 0 ? 0o755 : 0o644 });
    }
  }
  files.push(
    { path: '/z/', type: 'dir' },
    { path: '/z/big', content: BACK, mode: 0o644 },
    { path: '/z/last', content: LAST_SMALL, mode: 0o600 },
  );
  archive = await TestArchive.create({
    suites: { stable: { main: [{ name: 'wide', version: '1.0', compression: 'zst', files: files as never }] } },
  });
  release = writeRelease(archive, {
    wide: 'package: wide\nslices:\n  all:\n    contents:\n      /a/**:\n      /w/**:\n      /z/**:\n',
  });
});

afterAll(async () => {
  await archive?.close();
});

function cut(cache: string, args: string[]): Promise<Run> {
  return runCli(['cut', '--release', release, '--arch', 'amd64', '--cache-dir', cache, '--keep-setid', '--json', ...args, 'wide_all'], {
    env: { ...process.env, CHISEL_TS_TRACE: '1', SOURCE_DATE_EPOCH: '1700000000' },
  });
}

/** How many entries the file worker made, from the trace of a cut. */
const byWorker = (r: Run): number[] =>
  [...r.err.matchAll(/entries made: \d+ on the main thread, (\d+) by the file worker/g)].map((m) => Number(m[1]));

/** Every entry's mtime, in seconds. */
function mtimes(root: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (dir: string, rel: string): void => {
    for (const n of readdirSync(dir)) {
      const st = lstatSync(path.join(dir, n));
      out[`${rel}/${n}`] = Math.floor(st.mtimeMs / 1000);
      if (st.isDirectory()) walk(path.join(dir, n), `${rel}/${n}`);
    }
  };
  walk(root, '');
  return out;
}

/** The root GNU tar extracts from the tarball of the same cut. */
async function reference(cache: string): Promise<string> {
  const d = tempDir('chisel-ts-dirwrite-ref-');
  const r = await cut(cache, ['--tar', path.join(d, 'x.tar')]);
  expect(r.code, r.err).toBe(0);
  const root = path.join(d, 'root');
  mkdirSync(root);
  execFileSync('tar', ['-xpf', path.join(d, 'x.tar'), '-C', root, '--numeric-owner']);
  return root;
}

describe('a root written by two threads', () => {
  it('is the tree GNU tar extracts from the tarball of the same cut, times included', async () => {
    const cache = path.join(tempDir('chisel-ts-dirwrite-'), 'cache');
    const ref = await reference(cache);
    for (const run of ['fresh', 'from the cut cache']) {
      const root = path.join(tempDir('chisel-ts-dirwrite-out-'), 'root');
      const r = await cut(cache, ['--root', root]);
      expect(r.code, `${run}: ${r.err}`).toBe(0);
      expect(byWorker(r)[0], `${run}: the worker made entries`).toBeGreaterThan(0);
      expect(describeTree(root, { owners: true }), run).toEqual(describeTree(ref, { owners: true }));
      expect(mtimes(root), run).toEqual(mtimes(ref));
      expect(Object.values(mtimes(root)).every((t) => t === 1700000000)).toBe(true);
      expect(lstatSync(path.join(root, 'a', 'su')).mode & 0o7777).toBe(0o4755);
    }
    expect(cacheIsVerified(cache)).toBe(true);
  });

  const damages: Array<{ name: string; file: (cache: string) => string }> = [
    { name: "the back's own blob (/z/big, the worker's first file)", file: (c) => blob(c, sha(BACK)) },
    { name: "the front's own blob (/a/big, the main thread's)", file: (c) => blob(c, sha(FRONT)) },
    { name: 'the pack of the last small file (/z/last)', file: (c) => packOf(c, LAST_SMALL) },
  ];
  for (const d of damages) {
    it(`a cached cut with ${d.name} damaged is written again from the package, with a warning`, async () => {
      const cache = path.join(tempDir('chisel-ts-dirwrite-'), 'cache');
      const ref = await reference(cache);
      const file = d.file(cache);
      const b = readFileSync(file);
      b[b.length - 2] = (b[b.length - 2] ?? 0) ^ 0xff;
      writeFileSync(file, b);
      const out = tempDir('chisel-ts-dirwrite-out-');
      const root = path.join(out, 'root');
      const r = await cut(cache, ['--root', root]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/warning: .*cached content of .* was damaged/);
      // the writes from the cut cache found it (the worker took part), then the fresh cut's write
      expect(byWorker(r).length).toBeGreaterThanOrEqual(2);
      expect(byWorker(r)[0]).toBeGreaterThan(0);
      expect(describeTree(root, { owners: true })).toEqual(describeTree(ref, { owners: true }));
      expect(readdirSync(out)).toEqual(['root']); // no temporary root left
      expect(cacheIsVerified(cache)).toBe(true);
    });
  }

  it("an OS error keeps its code and path across the worker's message (the user gets the usual one-line cause)", () => {
    const e = Object.assign(new Error("ENOSPC: no space left on device, write '/r/x'"), { code: 'ENOSPC', path: '/r/x', syscall: 'write' });
    const back = deserializeError(structuredClone(serializeError(e))) as NodeJS.ErrnoException;
    expect([back.code, back.path, back.syscall]).toEqual(['ENOSPC', '/r/x', 'write']);
    expect(localError(back, 'output')?.message).toBe('output /r/x: no space left on device (ENOSPC)');
  });
});

const blob = (cache: string, sum: string) => path.join(cache, 'blobs', 'sha256', sum);

/** The pack blob that holds `content` (not the .deb, whose zstd frames keep short text as it is). */
function packOf(cache: string, content: string): string {
  const dir = path.join(cache, 'blobs', 'sha256');
  const name = readdirSync(dir).find((n) => {
    const b = readFileSync(path.join(dir, n));
    return n !== sha(content) && b.includes(content) && !b.subarray(0, 8).equals(Buffer.from('!<arch>\n'));
  });
  expect(name, 'a pack holds the content').toBeDefined();
  return path.join(dir, name!);
}

describe('writeDir refuses an entry below an entry that is not a directory, before writing', () => {
  const cases: Array<{ name: string; entries: Array<Partial<TreeEntry> & { path: string; type: TreeEntry['type'] }>; error: RegExp }> = [
    {
      name: 'below a symlink of the tree',
      entries: [{ path: '/d', type: 'symlink', link: '/tmp' }, { path: '/d/x', type: 'file', content: 'x' } as never],
      error: /refusing to write d\/x: its parent d is a symlink, not a directory/,
    },
    {
      name: 'below a file of the tree, deeper down',
      entries: [{ path: '/f', type: 'file', content: 'f' } as never, { path: '/f/g/h', type: 'file', content: 'h' } as never],
      error: /refusing to write f\/g\/h: its parent f is a file, not a directory/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const d = tempDir('chisel-ts-dirwrite-lib-');
      const store = new ContentStore(path.join(d, 'cache'));
      const entries: TreeEntry[] = [];
      for (const e of c.entries) {
        const content = (e as { content?: string }).content;
        entries.push({
          path: e.path,
          type: e.type,
          mode: e.type === 'symlink' ? 0o777 : 0o644,
          uid: 0,
          gid: 0,
          size: content?.length ?? 0,
          ...(content !== undefined ? { sha256: await store.putBuffer(Buffer.from(content)) } : {}),
          ...(e.link ? { link: e.link } : {}),
        });
      }
      const tree: Tree = { entries };
      await expect(writeDir(tree, store, path.join(d, 'root'), { mtime: 0 })).rejects.toThrow(c.error);
      expect(existsSync(path.join(d, 'root'))).toBe(false);
      expect(readdirSync(d)).toEqual(['cache']);
    });
  }
});
