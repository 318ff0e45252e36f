// Hostile packages through a whole cut (symlinks and hard links aimed
// outside the root, a directory replaced by a symlink, many entries),
// concurrent cuts sharing one cache, and cuts interrupted with SIGINT and
// SIGKILL. After each: nothing outside the root, no partial output, a cache
// of verified blobs only.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../compiler/cache/store.js';
import { cacheIsVerified } from './support/cache.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { CLI, runCli } from './support/proc.js';
import { TestArchive } from './support/testarchive.js';

const victim = tempDir('chisel-ts-victim-');
const MANY = 20_000;

let archive: TestArchive;

beforeAll(async () => {
  archive = await TestArchive.create({
    suites: {
      stable: {
        main: [
          {
            // a symlink to a directory outside, then a file written "through" it
            name: 'through',
            version: '1.0',
            rawNames: true,
            files: [
              { path: './', type: 'dir' },
              { path: './evil', type: 'symlink', link: victim },
              { path: './evil/pwned', content: 'pwned', mode: 0o644 },
            ],
          },
          {
            // a relative symlink climbing out, then a file through it
            name: 'climb',
            version: '1.0',
            rawNames: true,
            files: [
              { path: './', type: 'dir' },
              { path: './usr/', type: 'dir' },
              { path: './usr/up', type: 'symlink', link: `../../../../../../../../..${victim}` },
              { path: './usr/up/pwned2', content: 'pwned', mode: 0o644 },
            ],
          },
          {
            // a directory, replaced by a symlink to outside, then a file under it
            name: 'swap',
            version: '1.0',
            files: [
              { path: '/d/', type: 'dir' },
              { path: '/d', type: 'symlink', link: victim },
              { path: '/d/pwned3', content: 'pwned', mode: 0o644 },
            ],
          },
          {
            name: 'many',
            version: '1.0',
            compression: 'zst',
            files: [
              { path: '/m/', type: 'dir' },
              ...Array.from({ length: MANY }, (_, i) => ({ path: `/m/f${i}`, content: `${i}\n`, mode: 0o644 })),
            ],
          },
          {
            name: 'suid',
            version: '1.0',
            files: [
              { path: '/usr/', type: 'dir' },
              { path: '/usr/bin/', type: 'dir' },
              { path: '/usr/bin/su', content: '#!su', mode: 0o4755 },
              { path: '/usr/bin/wall', content: '#!wall', mode: 0o2755 },
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

const slices = {
  through: 'package: through\nslices:\n  all:\n    contents:\n      /evil:\n      /evil/pwned:\n',
  climb: 'package: climb\nslices:\n  all:\n    contents:\n      /usr/up:\n      /usr/up/pwned2:\n',
  swap: 'package: swap\nslices:\n  all:\n    contents:\n      /d/**:\n      /d:\n',
  many: 'package: many\nslices:\n  all:\n    contents:\n      /m/**:\n',
  suid: 'package: suid\nslices:\n  bins:\n    contents:\n      /usr/bin/su: {mode: 04755}\n      /usr/bin/wall:\n',
};

const cli = (args: string[]) => runCli(args);

describe('hostile packages through a cut', () => {
  const release = (): string => writeRelease(archive, slices);

  it.each([
    [
      'an absolute symlink to outside, then a file through it',
      'through_all',
      /package through 1\.0: \/evil\/pwned lies under \/evil, a symlink to \/tmp\/chisel-ts-victim-\w+ earlier in the package; refusing to write through a symlink/,
    ],
    [
      'a relative symlink climbing out, then a file through it',
      'climb_all',
      /package climb 1\.0: \/usr\/up\/pwned2 lies under \/usr\/up, a symlink to [./]+\/tmp\/chisel-ts-victim-\w+ earlier in the package/,
    ],
    ['a directory replaced by a symlink mid-archive, then a file under it', 'swap_all', /\/d|symlink|outside|not a directory|conflict/i],
  ])('%s: fails, writes nothing outside the root and no root', async (_name, slice, error) => {
    const d = tempDir('chisel-ts-hostile-');
    const root = path.join(d, 'root');
    const r = await cli([
      'cut',
      '--release',
      release(),
      '--arch',
      'amd64',
      '--cache-dir',
      path.join(d, 'cache'),
      '--root',
      root,
      '--tar',
      path.join(d, 'r.tar'),
      slice,
    ]);
    expect(r.code, r.err).not.toBe(0);
    expect(r.err).toMatch(error);
    expect(r.err).toMatch(/^error: /m);
    expect(readdirSync(victim)).toEqual([]);
    expect(readdirSync(d).filter((n) => n !== 'cache')).toEqual([]);
  });

  it(`${MANY} entries in one package cut in bounded memory`, async () => {
    const d = tempDir('chisel-ts-many-');
    const r = await cli([
      'cut',
      '--release',
      release(),
      '--arch',
      'amd64',
      '--cache-dir',
      path.join(d, 'cache'),
      '--root',
      path.join(d, 'root'),
      '--json',
      'many_all',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(path.join(d, 'root', 'm')).length).toBe(MANY);
    expect(JSON.parse(r.out).archs[0].files).toBe(MANY + 2); // and the dpkg status and md5sums files
  });

  it('setuid and setgid bits are kept only where the slice asks, and reported by --verbose and --json', async () => {
    const d = tempDir('chisel-ts-suid-');
    const root = path.join(d, 'root');
    const r = await cli([
      'cut',
      '--release',
      release(),
      '--arch',
      'amd64',
      '--cache-dir',
      path.join(d, 'cache'),
      '--root',
      root,
      '--verbose',
      'suid_bins',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(statSync(path.join(root, 'usr/bin/su')).mode & 0o7777).toBe(0o4755);
    expect(statSync(path.join(root, 'usr/bin/wall')).mode & 0o7777).toBe(0o755);
    expect(r.err).toMatch(/^\[amd64\] setuid \/usr\/bin\/su \(mode 4755\)$/m);
    expect(r.err).toMatch(
      /^\[amd64\] setgid dropped from \/usr\/bin\/wall \(package suid ships mode 2755; keep it with --keep-setid, or mode: 02755 on the path in its slice\)$/m,
    );
    const j = await cli([
      'cut',
      '--release',
      release(),
      '--arch',
      'amd64',
      '--cache-dir',
      path.join(d, 'cache'),
      '--tar',
      path.join(d, 'r.tar'),
      '--json',
      'suid_bins',
    ]);
    expect(JSON.parse(j.out).archs[0]).toMatchObject({ setid: ['/usr/bin/su'], setidDropped: ['/usr/bin/wall'] });
  });
});

describe('concurrent and interrupted cuts', () => {
  it('four cuts at once sharing one cache all succeed with identical outputs', async () => {
    const d = tempDir('chisel-ts-concurrent-');
    const rel = writeRelease(archive, slices);
    const cache = path.join(d, 'cache');
    const runs = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        cli([
          'cut',
          '--release',
          rel,
          '--arch',
          'amd64',
          '--cache-dir',
          cache,
          '--tar',
          path.join(d, `r${i}.tar`),
          '--json',
          'many_all',
          'suid_bins',
        ]),
      ),
    );
    for (const r of runs) expect(r.code, r.err).toBe(0);
    const shas = runs.map((r) => JSON.parse(r.out).tar.sha256);
    expect(new Set(shas).size).toBe(1);
    expect(sha256Hex(readFileSync(path.join(d, 'r3.tar')))).toBe(shas[0]);
    expect(cacheIsVerified(cache)).toBe(true);
  });

  /** Start a cut of many files into `root`; signal it once its temporary root appears. */
  async function interrupted(
    signal: NodeJS.Signals,
    d: string,
    rel: string,
    cache: string,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
    const root = path.join(d, 'root');
    const child = spawn(
      process.execPath,
      [CLI, 'cut', '--release', rel, '--arch', 'amd64', '--cache-dir', cache, '--root', root, 'many_all'],
      { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    let sent = false;
    for (let i = 0; i < 2000 && !sent && child.exitCode === null; i++) {
      if (readdirSync(d).some((n) => n.startsWith('.root.chisel-tmp-'))) {
        child.kill(signal);
        sent = true;
      } else await new Promise((r) => setTimeout(r, 5));
    }
    const res = await exited;
    expect(sent, `the cut finished before it could be interrupted: ${err}`).toBe(true);
    return { ...res, err };
  }

  it('SIGINT midway: exit 130, no root, no temporary root; the next cut works', async () => {
    const d = tempDir('chisel-ts-sigint-');
    const rel = writeRelease(archive, slices);
    const cache = path.join(d, 'cache');
    mkdirSync(cache);
    // warm the cache so the cut reaches the writing stage quickly
    expect(
      (await cli(['cut', '--release', rel, '--arch', 'amd64', '--cache-dir', cache, '--tar', path.join(tempDir(), 'w.tar'), 'many_all']))
        .code,
    ).toBe(0);
    const r = await interrupted('SIGINT', d, rel, cache);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(/interrupted \(SIGINT\)/);
    // absent, or complete when the signal came as the finished root was renamed into place
    const left = readdirSync(d).sort();
    if (left.includes('root')) expect(readdirSync(path.join(d, 'root', 'm')).length).toBe(MANY);
    expect(left.filter((n) => n !== 'root')).toEqual(['cache']);
    rmSync(path.join(d, 'root'), { recursive: true, force: true });
    const again = await cli(['cut', '--release', rel, '--arch', 'amd64', '--cache-dir', cache, '--root', path.join(d, 'root'), 'many_all']);
    expect(again.code, again.err).toBe(0);
    expect(readdirSync(path.join(d, 'root', 'm')).length).toBe(MANY);
    expect(cacheIsVerified(cache)).toBe(true);
  });

  it('SIGKILL midway: no root; the next cut removes the leftover temporary root and works', async () => {
    const d = tempDir('chisel-ts-sigkill-');
    const rel = writeRelease(archive, slices);
    const cache = path.join(d, 'cache');
    mkdirSync(cache);
    expect(
      (await cli(['cut', '--release', rel, '--arch', 'amd64', '--cache-dir', cache, '--tar', path.join(tempDir(), 'w.tar'), 'many_all']))
        .code,
    ).toBe(0);
    const r = await interrupted('SIGKILL', d, rel, cache);
    expect(r.signal).toBe('SIGKILL');
    expect(existsSync(path.join(d, 'root'))).toBe(false);
    expect(readdirSync(d).filter((n) => n.startsWith('.root.chisel-tmp-')).length).toBe(1);
    const again = await cli(['cut', '--release', rel, '--arch', 'amd64', '--cache-dir', cache, '--root', path.join(d, 'root'), 'many_all']);
    expect(again.code, again.err).toBe(0);
    expect(readdirSync(d).sort()).toEqual(['cache', 'root']);
    expect(readdirSync(path.join(d, 'root', 'm')).length).toBe(MANY);
    expect(cacheIsVerified(cache)).toBe(true);
  });
});
