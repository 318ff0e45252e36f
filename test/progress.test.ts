// Progress on a terminal (run under script(1), which gives the CLI a pty),
// nothing off a terminal, in CI, or with --quiet; --verbose explains the
// choices whatever the terminal.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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

/** The CLI with `args` as one sh command line. */
function cliCommand(args: string[]): string {
  return [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
}

/** The CLI with a pty as its terminal; stdout and stderr both come back in `out`. */
function onTty(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const cmd = cliCommand(args);
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

  it('quiet with --quiet and --json, off a terminal, and in CI', async () => {
    const d = tempDir('chisel-ts-progress-');
    const args = ['cut', '--release', release, '--arch', 'amd64', '--cache-dir', path.join(d, 'c')];
    const quiet = await onTty([...args, '--root', path.join(d, 'r1'), '--quiet', 'one_conf']);
    expect(quiet.code).toBe(0);
    expect(quiet.out).toBe('');
    const json = await onTty([...args, '--root', path.join(d, 'r4'), '--json', 'one_conf']);
    expect(json.code).toBe(0);
    expect(json.out).not.toContain('\x1b');
    expect(JSON.parse(json.out).archs[0].arch).toBe('amd64');
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

/** The screen of a tmux pane (a real terminal emulator) running the CLI: poll it while the command runs. */
class TmuxScreen {
  private readonly socket = `chisel-ts-test-${process.pid}-${Date.now()}`;
  constructor(args: string[]) {
    const cmd = cliCommand(args);
    const e = env();
    delete e.TMUX;
    execFileSync(
      'tmux',
      ['-L', this.socket, '-f', '/dev/null', 'new-session', '-d', '-x', '160', '-y', '12', '-s', 't', `${cmd}; echo "exit $?"; sleep 120`],
      {
        env: e,
      },
    );
  }
  read(): string {
    return execFileSync('tmux', ['-L', this.socket, 'capture-pane', '-p', '-t', 't'], { encoding: 'utf8' }).replace(/\s+$/, '');
  }
  async until(test: (screen: string) => boolean, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.read();
      if (test(s)) return s;
      if (Date.now() > deadline) throw new Error(`screen never matched; last screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  close(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

describe('progress on a terminal screen (tmux)', () => {
  let slow: TestArchive;
  let slowRelease: string;
  beforeAll(async () => {
    const pkgs = ['amd64', 'arm64'].flatMap((arch) => [
      { name: 'one', version: '1.0', arch, files: [{ path: '/etc/one', content: randomBytes(60_000).toString('base64') }] },
      { name: 'two', version: '2.0', arch, files: [{ path: '/etc/two', content: '2' }] },
    ]);
    slow = await TestArchive.create({ archs: ['amd64', 'arm64'], suites: { stable: { main: pkgs } } });
    slow.debDelayMs = 3500; // several ticks of the 1 s redraw while the rest of each .deb waits, even on a loaded machine
    slowRelease = writeRelease(slow, {
      one: 'package: one\nslices:\n  conf:\n    essential: [two_conf]\n    contents:\n      /etc/one:\n',
      two: 'package: two\nslices:\n  conf:\n    contents:\n      /etc/two:\n',
    });
  });
  afterAll(async () => {
    await slow?.close();
  });

  it('one live line per arch (bytes of the total, packages of the total, elapsed), then a summary line each', async () => {
    const d = tempDir('chisel-ts-progress-tmux-');
    const screen = new TmuxScreen([
      'cut',
      '--release',
      slowRelease,
      '--arch',
      'amd64,arm64',
      '--cache-dir',
      path.join(d, 'c'),
      '--oci',
      path.join(d, 'layout'),
      'one_conf',
    ]);
    try {
      const live = /^\[(amd64|arm64)\] (\d+) kB of (\d+) kB downloaded \((\d)\/2 \.debs\), (\d)\/2 packages unpacked, (\d+\.\d)s$/m;
      // part of the .debs is in: the bytes so far, of the total known before the download
      const first = await screen.until((s) => {
        const n = live.exec(s);
        return Boolean(n && Number(n[2]) > 0 && Number(n[2]) < Number(n[3]) && n[4] === '0');
      });
      const m = live.exec(first)!;
      expect(Number(m[3])).toBeGreaterThan(60);
      // while a download waits, the line keeps counting the time
      const later = await screen.until((s) => {
        const n = live.exec(s);
        return Boolean(n && n[1] === m[1] && Number(n[6]) > Number(m[6]));
      });
      expect(later.split('\n').filter((l) => live.test(l))).toHaveLength(1);
      // arm64 goes live once amd64 is done; amd64 is a summary line by then
      const second = await screen.until((s) => /^\[arm64\] \d+ kB of/m.test(s));
      expect(second).toMatch(/^\[amd64\] 2 packages: 2 downloaded \(\d+ kB\), 2 unpacked, 0 from the cache, \d+\.\ds$/m);
      const end = await screen.until((s) => /^exit \d+$/m.test(s), 30_000);
      expect(end).toMatch(/^exit 0$/m);
      const lines = end.split('\n').filter((l) => l.trim());
      expect(lines.filter((l) => live.test(l))).toEqual([]);
      expect(lines.filter((l) => /^\[(amd64|arm64)\] 2 packages: 2 downloaded/.test(l)).map((l) => l.slice(0, 7))).toEqual([
        '[amd64]',
        '[arm64]',
      ]);
      expect(end).toMatch(/^cut 2 slices of 2 packages \(amd64, arm64\)/m);
    } finally {
      screen.close();
    }
  });
});
