// Smoke tests (a slice's `checks:`) run in a cut root: with chroot in new
// mount and PID namespaces with /proc mounted in the root and the host's
// /dev/null, zero, full, random and urandom bound into its /dev (unshare), as
// root; the same in a user namespace (unshare --map-root-user) otherwise;
// or not at all when the machine allows neither (reported as skipped, with
// the reason).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SmokeTest } from '../release/model.js';
import { hostArch } from '../util/arch.js';

export interface SmokeResult {
  run: string[];
  result: 'pass' | 'fail' | 'skipped';
  /** Why it failed or was skipped. */
  reason?: string;
}

/** How programs run in a root on this machine: the command prefix before the root's path, or why they cannot. */
export type Sandbox = { prefix: (root: string) => string[]; kind: string } | { unavailable: string };

const UNSHARE = ['unshare', '--mount', '--pid', '--fork'];
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom'];
/** Run by the host's sh inside the namespaces: $1 the root, then the program and its arguments. */
const ENTER = `r=$1; shift; for d in ${DEVICES.join(' ')}; do mount --bind "/dev/$d" "$r/dev/$d" || exit 125; done; exec chroot "$r" "$@"`;
let probed: Sandbox | undefined;

/** The sandbox of this machine (probed once per process). */
export function sandbox(): Sandbox {
  if (probed) return probed;
  const root = process.getuid?.() === 0;
  const user = root ? [] : ['--user', '--map-root-user'];
  const probe = spawnSync(UNSHARE[0]!, [...UNSHARE.slice(1), ...user, 'true'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status === 0)
    probed = {
      kind: root ? 'chroot in mount and PID namespaces' : 'chroot in a user namespace',
      prefix: (r) => [...UNSHARE, ...user, `--mount-proc=${path.join(r, 'proc')}`, 'sh', '-c', ENTER, 'sh', r],
    };
  else if (root) probed = { kind: 'chroot', prefix: (r) => ['chroot', r] };
  else
    probed = {
      unavailable: `not root, and no user namespace (unshare --user: ${(probe.error?.message ?? probe.stderr).trim() || `exit ${probe.status}`})`,
    };
  return probed;
}

/** Why the root's programs cannot run here, or undefined. */
export function cannotRun(arch: string): string | undefined {
  if (arch !== hostArch()) return `the root is ${arch}, this machine ${hostArch()}`;
  const s = sandbox();
  return 'unavailable' in s ? s.unavailable : undefined;
}

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/' };
const MAX_OUTPUT = 1 << 20;

/** Runs one smoke test in `root` (a written directory; /proc is made in it). */
export async function runSmoke(root: string, test: SmokeTest, timeoutMs = 60_000): Promise<SmokeResult> {
  const s = sandbox();
  if ('unavailable' in s) return { run: test.run, result: 'skipped', reason: s.unavailable };
  mkdirSync(path.join(root, 'proc'), { recursive: true });
  mkdirSync(path.join(root, 'dev'), { recursive: true });
  for (const d of DEVICES) if (!existsSync(path.join(root, 'dev', d))) writeFileSync(path.join(root, 'dev', d), '');
  const cmd = [...s.prefix(root), ...test.run];
  const { code, signal, output } = await new Promise<{ code: number | null; signal: string | null; output: string }>((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { env: ENV, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    const chunks: Buffer[] = [];
    let size = 0;
    const take = (b: Buffer) => {
      if (size < MAX_OUTPUT) chunks.push(b);
      size += b.length;
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) => resolve({ code: null, signal: null, output: e.message }));
    child.on('close', (c, sig) => resolve({ code: c, signal: sig, output: Buffer.concat(chunks).toString('utf8') }));
  });
  const shown = JSON.stringify(output.trim().slice(0, 200));
  if (code !== 0) return { run: test.run, result: 'fail', reason: `${signal ? `killed by ${signal}` : `exit ${code}`}; output: ${shown}` };
  if (test.expect !== undefined && !output.includes(test.expect))
    return { run: test.run, result: 'fail', reason: `output lacks ${JSON.stringify(test.expect)}; output: ${shown}` };
  return { run: test.run, result: 'pass' };
}
