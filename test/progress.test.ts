// Progress on a terminal (run under script(1), which gives the CLI a pty),
// nothing off a terminal, in CI, or with --quiet; --verbose explains the
// choices whatever the terminal.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeRelease } from './support/cutenv.js';
import { CLI, runAsync } from './support/proc.js';
import { TestArchive } from './support/testarchive.js';

let archive: TestArchive;
let release: string;

beforeAll(async () => {
  archive = await TestArchive.create({
    suites: {
      stable: {
        main: [
          { name: 'one', version: '1.0', files: [{ path: '/etc/one', content: '1' }] },
          { name: 'two', version: '2.0', files: [{ path: '/etc/two', content: '2' }] },
        ],
      },
    },
  });
  release = writeRelease(archive, {
    one: 'package: one\nslices:\n  conf:\n    essential: [two_conf]\n    contents:\n      /etc/one:\n',
    two: 'package: two\nslices:\n  conf:\n    contents:\n      /etc/two:\n',
  });
});

afterAll(async () => {
  await archive?.close();
});

const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm' };
  delete e.CI;
  delete e.GITHUB_ACTIONS;
  return e;
};

/** The CLI with a pty as its terminal; stdout and stderr both come back in `out`. */
function onTty(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return runAsync('script', ['-qefc', cmd, '/dev/null'], { env: { ...env(), ...extraEnv } });
}

describe('progress', () => {
  it('on a terminal: a progress line and a summary', async () => {
    const d = tempDir('chisel-ts-progress-');
    const r = await onTty([
      'cut',
      '--release',
      release,
      '--arch',
      'amd64',
      '--cache-dir',
      path.join(d, 'c'),
      '--root',
      path.join(d, 'root'),
      'one_conf',
    ]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/\r\x1b\[K\[amd64\] \d+ kB of \d+ kB downloaded \(\d\/2 \.debs\), \d\/2 packages unpacked, [\d.]+s/);
    expect(r.out).toMatch(/\[amd64\] 2 packages: 2 downloaded \(\d+ kB\), 2 unpacked, 0 from the cache, [\d.]+s\r?\n/);
    expect(r.out).toMatch(/cut 2 slices of 2 packages \(amd64\)/);
    const again = await onTty([
      'cut',
      '--release',
      release,
      '--arch',
      'amd64',
      '--cache-dir',
      path.join(d, 'c'),
      '--root',
      path.join(d, 'root2'),
      'one_conf',
    ]);
    expect(again.out).toMatch(/\[amd64\] 2 packages: 0 downloaded \(0 kB\), 0 unpacked, 2 from the cache/);
  });

  it('quiet with --quiet, off a terminal, and in CI', async () => {
    const d = tempDir('chisel-ts-progress-');
    const args = ['cut', '--release', release, '--arch', 'amd64', '--cache-dir', path.join(d, 'c')];
    const quiet = await onTty([...args, '--root', path.join(d, 'r1'), '--quiet', 'one_conf']);
    expect(quiet.code).toBe(0);
    expect(quiet.out).toBe('');
    const piped = await runAsync(process.execPath, [CLI, ...args, '--root', path.join(d, 'r2'), 'one_conf'], { env: env() });
    expect(piped.code).toBe(0);
    expect(piped.out + piped.err).toBe('');
    const ci = await onTty([...args, '--root', path.join(d, 'r3'), 'one_conf'], { CI: 'true' });
    expect(ci.code).toBe(0);
    expect(ci.out).toBe('');
  });

  it('--verbose explains which slices were pulled in and which archive and version were picked', async () => {
    const d = tempDir('chisel-ts-progress-');
    const r = await runAsync(
      process.execPath,
      [
        CLI,
        'cut',
        '--release',
        release,
        '--arch',
        'amd64',
        '--cache-dir',
        path.join(d, 'c'),
        '--root',
        path.join(d, 'r'),
        '--verbose',
        'one_conf',
      ],
      { env: env() },
    );
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^\[amd64\] select one_conf \(requested\)$/m);
    expect(r.err).toMatch(/^\[amd64\] select two_conf \(one_conf\)$/m);
    expect(r.err).toMatch(/^\[amd64\] package two 2\.0 from archive test \(stable\/main\)$/m);
  });
});
