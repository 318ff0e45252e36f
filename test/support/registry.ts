// A real docker-registry (the Debian package) on 127.0.0.1 with storage in a
// temp dir, for push tests; and the real OCI tools as small helpers.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { tempDir } from './cutenv.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function status(url: string): Promise<number> {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', () => resolve(0));
  });
}

export interface Registry {
  /** "127.0.0.1:PORT" */
  addr: string;
  stop(): Promise<void>;
}

/** The user and password of a registry started with `basicAuth` (htpasswd: the bcrypt hash of the password, cost 4). */
export const REGISTRY_USER = 'chisel';
export const REGISTRY_PASSWORD = 'chisel-test-pass';
const REGISTRY_HTPASSWD = `${REGISTRY_USER}:$2a$04$8sBr8Y.d1VeNUApcvb46zeUMF7xpl./oq4n8L9KOuo3THSXt0OMVC\n`;

/** docker-registry on 127.0.0.1; with `basicAuth`, every request needs REGISTRY_USER / REGISTRY_PASSWORD (htpasswd). */
export async function startRegistry(opts: { basicAuth?: boolean } = {}): Promise<Registry> {
  const dir = tempDir('chisel-ts-registry-');
  const port = await freePort();
  mkdirSync(path.join(dir, 'storage'));
  const config = path.join(dir, 'registry.yml');
  if (opts.basicAuth) writeFileSync(path.join(dir, 'htpasswd'), REGISTRY_HTPASSWD);
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'storage')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...(opts.basicAuth ? ['auth:', '  htpasswd:', '    realm: chisel-test', `    path: ${path.join(dir, 'htpasswd')}`] : []),
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-20000)));
  const addr = `127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while ((await status(`http://${addr}/v2/`)) !== (opts.basicAuth ? 401 : 200)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`docker-registry did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    addr,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Run a tool; throw with its output when it fails. */
export function tool(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * A fake `docker-credential-<name>` in a new directory (put it first on PATH): `get` reads the
 * registry on stdin, appends it to `log`, and answers what `answers` has for it (JSON, as docker's
 * helpers do), else "credentials not found in native keychain" with exit 1.
 */
export function fakeCredentialHelper(
  answers: Record<string, { Username: string; Secret: string }>,
  name = 'test',
): { bin: string; log: string } {
  const bin = tempDir('chisel-ts-credhelper-');
  const log = path.join(bin, 'requests.log');
  const cases = Object.entries(answers)
    .map(([reg, a]) => `  '${reg}') printf '%s' '${JSON.stringify({ ServerURL: reg, ...a })}' ;;`)
    .join('\n');
  writeFileSync(
    path.join(bin, `docker-credential-${name}`),
    `#!/bin/sh\nIFS= read -r reg || true\necho "$1 $reg" >> '${log}'\ncase "$reg" in\n${cases}\n  *) echo 'credentials not found in native keychain'; exit 1 ;;\nesac\n`,
    { mode: 0o755 },
  );
  return { bin, log };
}
