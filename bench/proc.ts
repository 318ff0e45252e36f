// Child processes for the benchmark: wall time and peak RSS of one command.
// Peak RSS comes from GNU time (`/usr/bin/time -f %M`, the child's max RSS);
// without it, from the child's VmHWM sampled in /proc (less exact).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'chisel-ts.js');
const GNU_TIME = '/usr/bin/time';

export interface Run {
  ms: number;
  /** Peak resident set size in MB (1e6 bytes); null when it could not be read. */
  rssMB: number | null;
  status: number | null;
  stdout: string;
  stderr: string;
}

function vmHwmKB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const useTime = existsSync(GNU_TIME);
  const tmp = mkdtempSync(path.join(tmpdir(), 'chisel-ts-bench-time-'));
  const out = path.join(tmp, 'rss');
  const [exe, argv] = useTime ? [GNU_TIME, ['-f', '%M', '-o', out, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(exe, argv, { env: { ...process.env, CI: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    let hwm = 0;
    const sampler = useTime ? undefined : setInterval(() => (hwm = Math.max(hwm, vmHwmKB(child.pid!))), 20);
    child.on('error', reject);
    child.on('close', (status) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (sampler) clearInterval(sampler);
      let kb = hwm;
      if (useTime) {
        const m = /(\d+)\s*$/.exec(existsSync(out) ? readFileSync(out, 'utf8') : '');
        kb = m ? Number(m[1]) : 0;
      }
      rmSync(tmp, { recursive: true, force: true });
      resolve({
        ms,
        rssMB: kb ? (kb * 1024) / 1e6 : null,
        status,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}

/** The real CLI, as a child process, run as users run it: through its shebang (bin/chisel-ts.js's first lines). */
export function chisel(args: string[]): Promise<Run> {
  return run(BIN, args);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
