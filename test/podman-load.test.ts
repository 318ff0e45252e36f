// `podman load` of our OCI archives names the image as `docker load` would:
// by the index's io.containerd.image.name (the normalized full name), with
// org.opencontainers.image.ref.name the tag. Real podman, isolated storage.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizedImageName } from '../compiler/registry/reference.js';
import { tempDir } from './support/cutenv.js';
import { hasPodman, isolatedPodman } from './support/podman.js';
import { runCli } from './support/proc.js';
import { tarEntries } from './support/oci.js';

describe('normalizedImageName', () => {
  it('follows the normalization of Docker', () => {
    expect(normalizedImageName('x:1')).toBe('docker.io/library/x:1');
    expect(normalizedImageName('local/dbg:1')).toBe('docker.io/local/dbg:1');
    expect(normalizedImageName('local/dbg')).toBe('docker.io/local/dbg:latest');
    expect(normalizedImageName('localhost/dbg:2')).toBe('localhost/dbg:2');
    expect(normalizedImageName('reg.example:5000/a/b:3')).toBe('reg.example:5000/a/b:3');
    expect(normalizedImageName('index.docker.io/a/b:3')).toBe('docker.io/a/b:3');
    expect(normalizedImageName('v9')).toBe('localhost/chisel-ts:v9');
    expect(normalizedImageName(undefined)).toBe('localhost/chisel-ts:latest');
  });
});

describe.skipIf(!hasPodman())('podman load of an OCI archive', () => {
  const dir = tempDir('chisel-ts-podman-load-');
  const cache = tempDir('chisel-ts-podman-load-cache-');
  const podman = isolatedPodman();
  const cases: [tag: string, loaded: string][] = [
    ['127.0.0.1:5000/team/dbg:1', '127.0.0.1:5000/team/dbg:1'],
    ['local/dbg:1', 'docker.io/local/dbg:1'],
    ['v7', 'localhost/chisel-ts:v7'],
  ];
  it.each(cases)('--tag %s loads as %s', async (tag, loaded) => {
    const file = path.join(dir, `${tag.replace(/[/:]/g, '_')}.tar`);
    const r = await runCli(['cut', '--release', 'debian-13', '--cache-dir', cache, '--oci-archive', file, '--tag', tag, 'base-files_base']);
    expect(r.code, r.err).toBe(0);
    const index = JSON.parse((await tarEntries(readFileSync(file))).find((e) => e.name === 'index.json')!.content.toString());
    expect(index.manifests[0].annotations).toEqual({
      'io.containerd.image.name': loaded,
      'org.opencontainers.image.ref.name': tag.slice(tag.lastIndexOf(':') + 1),
    });
    const out = podman(['load', '-i', file]).out;
    expect(out).toContain(`Loaded image: ${loaded}`);
    expect(podman(['image', 'exists', loaded]).code).toBe(0);
  });
});
