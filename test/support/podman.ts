// Real podman in tests, isolated from the machine's: its own storage (vfs)
// under a temporary directory and a containers.conf with the settings that
// work here (runc, cgroupfs, file events, no network unless asked, the two
// ulimits podman needs on this host). See ../shared/docs/real-tools.md.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './cutenv.js';
import { packTarball, ROOT } from './npmpack.js';

/** Run podman with the isolated storage; throws with its stderr when it fails. */
export type Podman = (args: string[], opts?: { timeoutMs?: number; allowFail?: boolean }) => { code: number; out: string; err: string };

/** Whether podman (and runc) are installed. */
export function hasPodman(): boolean {
  return spawnSync('podman', ['--version']).status === 0 && spawnSync('runc', ['--version']).status === 0;
}

/** A podman with a storage of its own, removed with the test file's temporary directories. */
export function isolatedPodman(): Podman {
  const dir = tempDir('chisel-ts-podman-');
  const conf = path.join(dir, 'containers.conf');
  writeFileSync(
    conf,
    `[containers]
netns = "none"
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`,
  );
  const base = ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run'), '--storage-driver', 'vfs'];
  return (args, opts = {}) => {
    const r = spawnSync('podman', [...base, ...args], {
      encoding: 'utf8',
      env: { ...process.env, CONTAINERS_CONF: conf, TMPDIR: dir },
      timeout: opts.timeoutMs ?? 150_000,
      maxBuffer: 64 << 20,
    });
    const res = { code: r.status ?? -1, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
    if (res.code !== 0 && !opts.allowFail) throw new Error(`podman ${args.join(' ')} failed (${res.code}):\n${res.err}\n${res.out}`);
    return res;
  };
}

/** The builder image (builder/build.sh) from the packed checkout, as an OCI archive in a temporary directory. */
export function buildBuilderImage(): string {
  const dir = tempDir('chisel-ts-builder-');
  const { file } = packTarball(dir);
  const out = path.join(dir, 'builder.oci.tar');
  const r = spawnSync(path.join(ROOT, 'builder', 'build.sh'), ['--oci-archive', out, '--quiet'], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', CHISEL_TS_PACKAGE: file, CHISEL_TS_STAGE: path.join(dir, 'stage') },
    timeout: 240_000,
  });
  if (r.status !== 0) throw new Error(`builder/build.sh failed (${r.status}):\n${r.stderr}${r.error ?? ''}`);
  return out;
}

export const BUILDER = 'localhost/chisel-ts/builder:latest';
