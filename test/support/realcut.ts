// Cutting the shipped releases from the real Debian archive (its URL from this
// machine's APT sources) with the built CLI, and running programs in the cut
// root with chroot, as chisel-releases' own slice tests do, or an image's
// platform under runc.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { hostArch } from '../../compiler/util/arch.js';
import { tool } from './registry.js';

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

/** Why arm64 programs cannot run here, or undefined when they can (an arm64 host, or qemu-aarch64 registered with binfmt_misc). */
export function arm64Unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (chroot and runc need root)';
  if (hostArch() === 'arm64') return undefined;
  const entry = '/proc/sys/fs/binfmt_misc/qemu-aarch64';
  if (!existsSync(entry)) {
    return 'no qemu-aarch64 binfmt entry: install qemu-user-static and binfmt-support, mount binfmt_misc and run `update-binfmts --enable qemu-aarch64` (.ci/run does)';
  }
  const text = readFileSync(entry, 'utf8');
  if (!/^enabled$/m.test(text)) return `${entry} is disabled: run \`update-binfmts --enable qemu-aarch64\``;
  // without F (fix binary) the kernel looks for the interpreter inside the chroot
  if (!/^flags: .*F/m.test(text)) return `${entry} lacks the F flag, so qemu is not found inside a chroot: use Debian's qemu-user-static`;
  return undefined;
}

/**
 * Runs one platform of an OCI layout's tag under runc: skopeo picks the arch's
 * manifest (as a pull on that platform would; a tag naming an index of two
 * platforms is ambiguous to umoci), umoci unpacks it into work/bundle-ARCH,
 * `args` (given the image's process.args) sets what runs. Returns stdout, trimmed,
 * and the process config umoci wrote.
 */
export function runcRun(
  layout: string,
  tag: string,
  arch: string,
  work: string,
  args: (imageArgs: string[]) => string[],
): { out: string; process: { args: string[]; user: { uid: number; gid: number }; cwd: string } } {
  const one = path.join(work, `layout-${arch}`);
  const bundle = path.join(work, `bundle-${arch}`);
  tool('skopeo', ['--override-arch', arch, '--override-os', 'linux', 'copy', `oci:${layout}:${tag}`, `oci:${one}:${tag}`]);
  tool('umoci', ['unpack', '--image', `${one}:${tag}`, bundle]);
  const cfgPath = path.join(bundle, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  cfg.process.terminal = false;
  cfg.process.args = args(cfg.process.args);
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const id = `chisel-ts-${arch}-${process.pid}-${Date.now()}`;
  const r = spawnSync('runc', ['run', id], { cwd: bundle, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
  spawnSync('runc', ['delete', '--force', id]);
  if (r.status !== 0)
    throw new Error(`runc (${arch}) ${cfg.process.args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return { out: r.stdout.trim(), process: cfg.process };
}
