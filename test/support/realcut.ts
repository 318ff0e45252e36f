// Cutting the shipped releases from the real Debian archive (its URL from this
// machine's APT sources) with the built CLI, and running programs in the cut
// root with chroot, as chisel-releases' own slice tests do.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';

export const CLI = path.join(__dirname, '..', '..', 'bin', 'chisel-ts.js');
const RELEASES = path.join(__dirname, '..', '..', 'slices');

/** The names of the sets a shipped release defines, in file order. */
export function releaseSets(release: string): string[] {
  const doc = yaml.load(readFileSync(path.join(RELEASES, release, 'chisel.yaml'), 'utf8')) as { sets?: Record<string, unknown> };
  return Object.keys(doc.sets ?? {});
}

/** Cuts `set` of `release` for `arch` into work/<release>-<arch>-<set> with the CLI; returns the root. */
export function cutSet(work: string, cache: string, release: string, set: string, arch = 'amd64'): string {
  const root = path.join(work, `${release}-${arch}-${set}`);
  const r = spawnSync(process.execPath, [CLI, 'cut', '--release', release, '--arch', arch, '--cache-dir', cache, '--root', root, set], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  if (r.status !== 0) throw new Error(`cut ${release} --arch ${arch} ${set} failed (${r.status}):\n${r.stderr}`);
  return root;
}

/**
 * Runs args in root with chroot (as root); with proc, in new mount and PID
 * namespaces with /proc mounted in the root (Java's $ORIGIN needs /proc/self/exe).
 * Returns stdout and stderr; throws with both on a non-zero exit.
 */
export function chrootRun(root: string, args: string[], opts: { proc?: boolean; timeoutMs?: number } = {}): string {
  const cmd = opts.proc
    ? ['/usr/bin/unshare', '--mount', '--pid', '--fork', `--mount-proc=${root}/proc`, '/usr/sbin/chroot', root, ...args]
    : ['/usr/sbin/chroot', root, ...args];
  if (opts.proc) mkdirSync(path.join(root, 'proc'), { recursive: true });
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
    timeout: opts.timeoutMs ?? 120_000,
  });
  if (r.status !== 0) throw new Error(`${args.join(' ')} in ${root} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}
