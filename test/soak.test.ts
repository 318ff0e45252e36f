// Soak (issue 20 item 4): cuts (--root, --tar) and OCI builds (--oci, --oci-archive) of one set of a
// hermetic test archive, sharing one cache, killed with SIGKILL at moments
// drawn from a fixed seed, each round then run again to the same targets.
// Every rerun gives the reference bytes (a run on a cache of its own), the
// cache verifies (`cache verify`), no temporary file is left beside an output
// or in the cache, and no process of the soak is left running. Bounded: a
// fixed number of rounds, well under a minute.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processAlive } from '../compiler/util/pid.js';
import { cacheIsVerified } from './support/cache.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { CLI, runCli } from './support/proc.js';
import { describeTree } from './support/tree.js';
import type { DebFile } from './support/debbuild.js';
import { TestArchive, type TestPackage } from './support/testarchive.js';

const SEED = 20_2026;
const ROUNDS = 4;

/** mulberry32: a small PRNG, so the kill moments and the archive's bytes are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(SEED);
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

/** The parent directories of `dirs` (written "/usr/lib/"), each once, parents first. */
const parents = (...dirs: string[]): DebFile[] =>
  [
    ...new Set(
      dirs.flatMap((d) =>
        d
          .split('/')
          .slice(1, -1)
          .map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}/`),
      ),
    ),
  ]
    .sort()
    .map((p) => ({ path: p, type: 'dir' as const }));

// one big file (a blob of its own), many small ones (packs), a symlink
const packages: TestPackage[] = [
  {
    name: 'big',
    version: '1.0',
    compression: 'xz',
    files: [...parents('/usr/lib/'), { path: '/usr/lib/big.so', content: bytes(1 << 20) }],
  },
  {
    name: 'many',
    version: '2.0',
    compression: 'zst',
    files: [
      ...parents('/usr/share/many/'),
      ...Array.from({ length: 600 }, (_, i) => ({ path: `/usr/share/many/f${i}`, content: bytes(64 + (i % 200)) })),
    ],
  },
  {
    name: 'tool',
    version: '3.1',
    files: [
      ...parents('/usr/bin/', '/etc/'),
      { path: '/usr/bin/tool', content: bytes(200_000), mode: 0o755 },
      { path: '/usr/bin/tool-link', type: 'symlink', link: 'tool' },
      { path: '/etc/tool.conf', content: 'x=1\n' },
    ],
  },
];

const slices = {
  big: 'package: big\nslices:\n  libs:\n    contents:\n      /usr/lib/big.so:\n',
  many: 'package: many\nslices:\n  data:\n    contents:\n      /usr/share/many/**:\n',
  tool: 'package: tool\nslices:\n  bins:\n    essential: [big_libs]\n    contents:\n      /usr/bin/tool:\n      /usr/bin/tool-link:\n      /etc/tool.conf:\n',
};

let archive: TestArchive;
let release: string;

beforeAll(async () => {
  archive = await TestArchive.create({ suites: { stable: { main: packages } } });
  release = writeRelease(archive, slices, { extra: 'sets:\n  app: [tool_bins, many_data]\n' });
});

afterAll(async () => {
  await archive?.close();
});

// an OCI layout is never written into an existing one (chisel-ts refuses to add to a layout), so each
// run to it starts by removing it, as a user would; --root, --tar and --oci-archive replace what is there
type Kind = 'root' | 'tar' | 'oci' | 'archive';
const KINDS: Kind[] = ['root', 'tar', 'oci', 'archive'];
const FILE: Record<Kind, string> = { root: 'root', tar: 'root.tar', oci: 'layout', archive: 'image.tar' };

function args(kind: Kind, out: string, cache: string): string[] {
  if (kind === 'oci') rmSync(out, { recursive: true, force: true });
  const target = {
    root: ['--root', out],
    tar: ['--tar', out],
    oci: ['--oci', out, '--tag', 'soak:1'],
    archive: ['--oci-archive', out, '--tag', 'soak:1'],
  }[kind];
  return ['cut', '--release', release, '--arch', 'amd64', '--cache-dir', cache, ...target, 'app'];
}

/** Every file under `dir` (an OCI layout, a root) as path -> kind and sha256. */
function digestTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d).sort()) {
      const abs = path.join(d, n);
      const st = statSync(abs, { throwIfNoEntry: false });
      if (!st) out[`${rel}/${n}`] = `symlink ${readlinkSync(abs)}`;
      else if (st.isDirectory()) walk(abs, `${rel}/${n}`);
      else out[`${rel}/${n}`] = createHash('sha256').update(readFileSync(abs)).digest('hex');
    }
  };
  walk(dir, '');
  return out;
}

function outputOf(kind: Kind, out: string): unknown {
  if (kind === 'root') return describeTree(out);
  if (kind === 'tar' || kind === 'archive') return createHash('sha256').update(readFileSync(out)).digest('hex');
  return digestTree(out);
}

/** Every path under `dir` whose name marks a temporary file (of the outputs or the cache). */
function temporaries(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const abs = path.join(d, n);
      if (n.includes('.chisel-tmp-') || n.startsWith('.tmp-')) found.push(path.relative(dir, abs));
      else if (statSync(abs, { throwIfNoEntry: false })?.isDirectory()) walk(abs);
    }
  };
  walk(dir);
  return found.sort();
}

/** Processes whose command line names `marker` (the soak's release directory). */
function soakProcesses(marker: string): number[] {
  const pids: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(marker)) pids.push(Number(n));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

interface Killed {
  kind: Kind;
  pid: number;
  signal: NodeJS.Signals | null;
  code: number | null;
}

/** Start a run and SIGKILL it after `delayMs` (unless it ended first). */
function killedRun(kind: Kind, out: string, cache: string, delayMs: number): Promise<Killed> {
  const child = spawn(process.execPath, [CLI, ...args(kind, out, cache)], {
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ kind, pid: child.pid!, signal, code });
    });
  });
}

describe('soak: SIGKILL at random moments, then the same runs again', () => {
  it(`${ROUNDS} rounds of killed --root, --tar, --oci and --oci-archive runs on one cache (seed ${SEED})`, async () => {
    // the reference: each output once, on a cache of its own
    const refDir = tempDir('chisel-ts-soak-ref-');
    const reference = new Map<Kind, unknown>();
    let slowest = 0;
    for (const kind of KINDS) {
      const t = Date.now();
      const out = path.join(refDir, FILE[kind]);
      const r = await runCli(args(kind, out, path.join(refDir, `cache-${kind}`)));
      expect(r.code, r.err).toBe(0);
      slowest = Math.max(slowest, Date.now() - t);
      reference.set(kind, outputOf(kind, out));
    }

    const d = tempDir('chisel-ts-soak-');
    const cache = path.join(d, 'cache');
    const target = (kind: Kind): string => path.join(d, 'out', FILE[kind]);
    const killed: Killed[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // the four at once, each killed at its own moment of a cold-cut's time (some finish first)
      const delays = KINDS.map(() => Math.floor(random() * slowest * 1.2));
      killed.push(...(await Promise.all(KINDS.map((kind, i) => killedRun(kind, target(kind), cache, delays[i]!)))));
      // then again, to the same targets, to the end
      const reruns = await Promise.all(KINDS.map((kind) => runCli(args(kind, target(kind), cache))));
      for (const [i, kind] of KINDS.entries()) {
        expect(reruns[i]!.code, `round ${round} ${kind}: ${reruns[i]!.err}`).toBe(0);
        expect(outputOf(kind, target(kind)), `round ${round} ${kind}`).toEqual(reference.get(kind));
      }
      expect(temporaries(path.join(d, 'out')), `round ${round}: temporaries beside the outputs`).toEqual([]);
      expect(temporaries(cache), `round ${round}: temporaries in the cache`).toEqual([]);
    }
    // the seed must have killed runs (not only let them finish)
    expect(killed.filter((k) => k.signal === 'SIGKILL').length).toBeGreaterThanOrEqual(ROUNDS);

    const verify = await runCli(['cache', 'verify', '--cache-dir', cache]);
    expect(verify.code, verify.err + verify.out).toBe(0);
    expect(cacheIsVerified(cache)).toBe(true);
    expect(readdirSync(path.join(d, 'out')).sort()).toEqual(Object.values(FILE).sort());
    // no lock or writer marker of a killed run is left either
    expect(readdirSync(path.join(cache, 'locks'))).toEqual([]);
    for (const k of killed) expect(processAlive(k.pid), `process ${k.pid} (${k.kind})`).toBe(false);
    expect(soakProcesses(release)).toEqual([]);
  }, 180_000);
});
