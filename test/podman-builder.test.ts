// The builder image, made by chisel-ts itself (builder/): Node.js and the
// packed tool, as 65532, loaded into real podman; a cut run in it (host
// network, /out mounted) writes the same tarball as a cut on the host.

import { createHash } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/cutenv.js';
import { BUILDER, buildBuilderImage, hasPodman, isolatedPodman } from './support/podman.js';
import { runCli } from './support/proc.js';

const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe.skipIf(!hasPodman())('builder image', () => {
  const podman = isolatedPodman();
  const out = tempDir('chisel-ts-builder-out-');
  chmodSync(out, 0o777); // the image's user (65532) writes into it

  beforeAll(() => {
    const archive = buildBuilderImage();
    expect(podman(['load', '-i', archive]).out).toContain(`Loaded image: ${BUILDER}`);
  }, 240_000);

  it('runs as 65532 with /tmp and the cache directory writable, and prints its version', () => {
    const user = podman(['image', 'inspect', BUILDER, '--format', '{{.Config.User}}']).out.trim();
    expect(user).toBe('65532:65532');
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(podman(['run', '--rm', BUILDER, '--version']).out).toBe(`${pkg.version}\n`);
    const probe = [
      'const fs = require("node:fs");',
      'fs.writeFileSync("/tmp/probe", "x");',
      'fs.mkdirSync(process.env.XDG_CACHE_HOME + "/chisel-ts/probe", { recursive: true });',
      'console.log(process.getuid(), process.env.XDG_CACHE_HOME);',
    ].join(' ');
    expect(podman(['run', '--rm', '--entrypoint', '/usr/bin/node', BUILDER, '-e', probe]).out.trim()).toBe('65532 /home/nonroot/.cache');
  });

  it('cuts base in the container to the same bytes as on the host', async () => {
    podman(['run', '--rm', '--network', 'host', '-v', `${out}:/out`, BUILDER, 'cut', '--tar', '/out/base.tar', 'base']);
    const host = path.join(tempDir('chisel-ts-builder-host-'), 'base.tar');
    const r = await runCli(['cut', '--tar', host, 'base']);
    expect(r.code, r.err).toBe(0);
    expect(sha256(path.join(out, 'base.tar'))).toBe(sha256(host));
  });
});
