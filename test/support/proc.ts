// Running a program asynchronously in tests: test archives are served from
// the test process itself, so a synchronous spawn would block them.

import { spawn } from 'node:child_process';
import path from 'node:path';

export interface Run {
  code: number;
  out: string;
  err: string;
}

export function runAsync(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd ?? process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** The built CLI. */
export const CLI = path.join(__dirname, '..', '..', 'bin', 'chisel-ts.js');

/** The built CLI in a child process, as CI runs it (CI=true: no progress output). */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  return runAsync(process.execPath, [CLI, ...args], { ...opts, env: { ...process.env, CI: 'true', ...opts.env } });
}
