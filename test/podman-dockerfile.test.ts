// The Dockerfile stage for real: the examples' Dockerfiles (a first stage
// FROM the builder image that runs `chisel-ts cut --root /rootfs`, then
// FROM scratch + COPY --from) built with podman build (host network, so the
// stage reaches the APT mirror; no image from a public registry), and the
// built images run their program as 65532.

import { cpSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/cutenv.js';
import { ROOT } from './support/npmpack.js';
import { BUILDER, buildBuilderImage, hasPodman, isolatedPodman } from './support/podman.js';
import { tool } from './support/registry.js';

const cases: Record<string, { args: string[]; output: RegExp; prepare?: (dir: string) => void }> = {
  'static-c': {
    args: [],
    output: /^hello from a static binary as uid 65532 \(epoch in Paris: 01:00, zone CET\)$/,
    prepare: (dir) => void tool('gcc', ['-static', '-O2', '-o', path.join(dir, 'hello'), path.join(dir, 'hello.c')]),
  },
  'python-web': { args: ['--selftest'], output: /^python-web: 200 \{"path": "\/hello", "python": "3\.13\.\d+"\}$/ },
  // an overlay release in the build context, extending the builder's shipped debian-13
  overlay: { args: [], output: /^pv 1\.\d+\.\d+/ },
};

describe.skipIf(!hasPodman())('example Dockerfiles built with podman', () => {
  const podman = isolatedPodman();

  beforeAll(() => {
    expect(podman(['load', '-i', buildBuilderImage()]).out).toContain(`Loaded image: ${BUILDER}`);
  }, 240_000);

  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: podman build, then run as 65532`, () => {
      const ctx = path.join(tempDir(`chisel-ts-dockerfile-${name}-`), name);
      cpSync(path.join(ROOT, 'examples', name), ctx, { recursive: true, filter: (src) => !/\/(out|hello)$/.test(src) });
      c.prepare?.(ctx);
      const image = `localhost/examples/${name}:test`;
      podman(['build', '--network', 'host', '--pull=never', '-t', image, ctx], { timeoutMs: 120_000 });
      expect(podman(['image', 'inspect', image, '--format', '{{.Config.User}}']).out.trim()).toBe('65532:65532');
      const out = podman(['run', '--rm', image, ...c.args]).out.trim();
      expect(out).toMatch(c.output);
    }, 150_000);
  }
});
