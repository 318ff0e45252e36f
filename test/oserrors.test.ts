// Failures the operating system reports (issue 20): out of space, a
// read-only file system, permission denied, too many open files, for an
// output (--root, --tar, --oci) and for the cache. Each is one line naming
// the path and the cause, a hint, exit code 1 (3 is for the archive or the
// network), no JavaScript stack, and nothing partial left behind. Small
// file systems are tmpfs mounts (root only): the tests skip when mounting is
// not permitted.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeRelease } from './support/cutenv.js';
import { CLI, runAsync, runCli, type Run } from './support/proc.js';
import { TestArchive } from './support/testarchive.js';

function mountTmpfs(dir: string, opts: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { stdio: 'ignore' }).status === 0;
}

const probe = tempDir('chisel-ts-mountprobe-');
const canMount = process.getuid?.() === 0 && mountTmpfs(path.join(probe, 'm'), 'size=1m');
if (canMount) spawnSync('umount', [path.join(probe, 'm')]);
const mounts: string[] = [];

/** A fresh tmpfs of `size` (e.g. "8m"), read-only when asked; unmounted after the tests. */
function tmpfs(size: string, ro = false): string {
  const dir = path.join(tempDir('chisel-ts-tmpfs-'), 'fs');
  if (!mountTmpfs(dir, `size=${size}${ro ? ',ro' : ''}`)) throw new Error(`cannot mount a tmpfs at ${dir}`);
  mounts.push(dir);
  return dir;
}

let archive: TestArchive;
let release: string;
/** A cache that already holds the package (outputs fail, not the cache). */
let warmCache: string;

beforeAll(async () => {
  archive = await TestArchive.create({
    suites: {
      stable: {
        main: [
          {
            name: 'big',
            version: '1.0',
            // random bytes do not compress: the output needs 12 MB whatever its format
            files: [
              { path: '/data/big', content: randomBytes(12 << 20) },
              { path: '/data/small', content: 'small\n' },
            ],
          },
        ],
      },
    },
  });
  release = writeRelease(archive, { big: 'package: big\nslices:\n  all:\n    contents:\n      /data/big:\n      /data/small:\n' });
  chmodSync(release, 0o755);
  warmCache = path.join(tempDir('chisel-ts-oserr-cache-'), 'c');
  const r = await cut(['--cache-dir', warmCache, '--root', path.join(tempDir(), 'r')]);
  expect(r.code, r.err).toBe(0);
}, 60_000);

afterAll(async () => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  await archive?.close();
});

function cut(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runCli(['cut', '--release', release, '--arch', 'amd64', ...args, 'big_all'], { env });
}

/** One error line naming `where` and `cause`, a hint, no stack, exit 1. */
function expectLocalFailure(r: Run, where: string, cause: RegExp): void {
  expect(r.code, r.err).toBe(1);
  const lines = r.err.trim().split('\n');
  const error = lines.filter((l) => l.startsWith('error: '));
  expect(error, r.err).toHaveLength(1);
  expect(error[0]).toContain(where);
  expect(error[0]).toMatch(cause);
  expect(r.err).toMatch(/^hint: /m);
  expect(r.err).not.toMatch(/internal|^\s+at /m);
}

/** Nothing but what was there before: no partial output, no temporary file. */
function leftIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
}

/** Temporary files anywhere under the cache. */
function cacheTemps(cache: string): string[] {
  return leftIn(cache).filter((f) => /(^|\/)\.tmp-|\.tmp$/.test(f));
}

describe.skipIf(!canMount)('out of space', () => {
  for (const kind of ['root', 'tar', 'oci'] as const) {
    it(`--${kind} on a full file system: ENOSPC named, exit 1, nothing left`, async () => {
      const fs = tmpfs('8m');
      const out = path.join(fs, kind === 'tar' ? 'out.tar' : 'out');
      const r = await cut(['--offline', '--cache-dir', warmCache, `--${kind}`, out]);
      expectLocalFailure(r, out, /no space left on device \(ENOSPC\)/);
      expect(r.err).toMatch(/hint: free space/);
      expect(leftIn(fs)).toEqual([]);
    });
  }

  it('a full cache is a local failure (exit 1, the cache named, --cache-dir hinted), not a network one', async () => {
    const fs = tmpfs('8m');
    const cache = path.join(fs, 'cache');
    const out = path.join(tempDir(), 'r');
    const r = await cut(['--cache-dir', cache, '--root', out]);
    expectLocalFailure(r, cache, /no space left on device \(ENOSPC\)/);
    expect(r.err).toMatch(/--cache-dir/);
    expect(r.err).not.toMatch(/network/);
    expect(existsSync(out)).toBe(false);
    expect(cacheTemps(cache)).toEqual([]);
  });
});

describe.skipIf(!canMount)('read-only file system', () => {
  it('an output on a read-only mount: EROFS named, exit 1', async () => {
    const fs = tmpfs('1m', true);
    const out = path.join(fs, 'out');
    const r = await cut(['--offline', '--cache-dir', warmCache, '--root', out]);
    expectLocalFailure(r, fs, /read-only file system \(EROFS\)/);
  });

  it('a cache on a read-only mount: EROFS named, exit 1, --cache-dir hinted', async () => {
    const fs = tmpfs('1m', true);
    const r = await cut(['--cache-dir', path.join(fs, 'cache'), '--root', path.join(tempDir(), 'r')]);
    expectLocalFailure(r, fs, /read-only file system \(EROFS\)/);
    expect(r.err).toMatch(/--cache-dir/);
  });
});

const NOBODY = 65534;
// uid 0 stripped of every capability (no DAC override): it reads this checkout wherever it is (a CI clone may sit in
// a 0700 directory, where nobody could not run the CLI) but may not write into a directory another user owns
const CAPLESS = ['--bounding-set=-all', '--inh-caps=-all'];
const canDropPrivileges = process.getuid?.() === 0 && spawnSync('setpriv', [...CAPLESS, 'true']).status === 0;

describe.skipIf(!canDropPrivileges)('permission denied', () => {
  it('an output in a directory the user may not write: EACCES named, exit 1', async () => {
    const d = tempDir('chisel-ts-oserr-');
    chmodSync(d, 0o755);
    const cache = path.join(d, 'cache');
    mkdirSync(cache);
    const locked = path.join(d, 'locked');
    mkdirSync(locked, { mode: 0o755 });
    chownSync(locked, NOBODY, NOBODY);
    const out = path.join(locked, 'out');
    const args = ['cut', '--release', release, '--arch', 'amd64', '--cache-dir', cache, '--root', out, 'big_all'];
    const r = await runAsync('setpriv', [...CAPLESS, '--', process.execPath, CLI, ...args], {
      env: { ...process.env, CI: 'true', HOME: d },
    });
    expectLocalFailure(r, locked, /permission denied \(EACCES\)/);
    expect(leftIn(locked)).toEqual([]);
    // the same cut with the capabilities kept writes the root: the failure above was the permission
    const ok = await runAsync(process.execPath, [CLI, ...args], { env: { ...process.env, CI: 'true', HOME: d } });
    expect(ok.code, ok.err).toBe(0);
  });
});

describe('too many open files', () => {
  it('EMFILE (a low ulimit -n): every run either succeeds or names the cause, exit 1, the limit hinted', async () => {
    const d = tempDir('chisel-ts-oserr-');
    let failed = 0;
    // where a cut first runs out of descriptors depends on the machine: a range of limits, each a cold cut
    for (let limit = 48; limit >= 20; limit -= 4) {
      const cache = path.join(d, `cache-${limit}`);
      const out = path.join(d, `r-${limit}`);
      const args = ['cut', '--release', release, '--arch', 'amd64', '--cache-dir', cache, '--root', out, 'big_all'];
      const quoted = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
      const r = await runAsync('sh', ['-c', `ulimit -n ${limit} && exec ${quoted}`], { env: { ...process.env, CI: 'true' } });
      if (r.code === 0) continue;
      failed++;
      expect(r.code, `ulimit -n ${limit}: ${r.err}`).toBe(1);
      expect(r.err).toMatch(/too many open files \(EMFILE\)/);
      expect(r.err).toMatch(/hint: raise the limit on open files \(ulimit -n\)/);
      expect(r.err).not.toMatch(/internal|^\s+at /m);
      expect(existsSync(out)).toBe(false);
    }
    expect(failed).toBeGreaterThan(0);
  }, 120_000);
});
