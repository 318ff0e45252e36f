// Every example under examples/: its image file is locked and built with
// `chisel-ts build --locked` from the real Debian archive, the image runs
// under runc as uid 65532 and prints what the app prints; its Dockerfile
// (no Docker engine here) is checked for syntax, for stages and files that
// exist, and for chisel-ts commands and flags that exist.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/cutenv.js';
import { arm64Unavailable, runcRun } from './support/realcut.js';
import { tool } from './support/registry.js';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'chisel-ts.js');
const EXAMPLES = path.join(ROOT, 'examples');
const cache = tempDir('chisel-ts-examples-cache-');

const expected: Record<
  string,
  { args: string[]; output: RegExp; prepare?: (dir: string) => void; after?: (dir: string, work: string) => void }
> = {
  'static-c': {
    args: [],
    output: /^hello from a static binary as uid 65532 \(epoch in Paris: 01:00, zone CET\)$/,
    prepare: (dir) => tool('gcc', ['-static', '-O2', '-o', path.join(dir, 'hello'), path.join(dir, 'hello.c')]) && undefined,
  },
  'python-web': { args: ['--selftest'], output: /^python-web: 200 \{"path": "\/hello", "python": "3\.13\.\d+"\}$/ },
  'node-app': { args: ['--selftest'], output: /^node-app: 200 \{"path":"\/hello","node":"v\d+\.\d+\.\d+"\}$/ },
  // pv from the overlay's own slice file, as nonroot; tzdata is the overlay's replacement file
  overlay: {
    args: [],
    output: /^pv 1\.\d+\.\d+/,
    after: (dir, work) => {
      const root = path.join(work, 'zoneinfo');
      chisel(['cut', '--release', 'release', '--cache-dir', cache, '--root', root, 'tzdata_zoneinfo'], dir);
      const zones = path.join(root, 'usr/share/zoneinfo');
      expect(readdirSync(zones).sort()).toEqual(['Etc', 'Europe', 'UTC']);
      expect(existsSync(path.join(zones, 'Europe/Paris'))).toBe(true);
    },
  },
  'java-app': { args: [], output: /^java-app: hello from Java 21 as nonroot in \/home\/nonroot$/ },
};

function chiselStatus(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
}

function chisel(args: string[], cwd: string): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  if (r.status !== 0) throw new Error(`chisel-ts ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** Runs the image's platform `arch` under runc with the example's arguments added; checks it runs as nonroot. */
function runImage(layout: string, tag: string, arch: string, extraArgs: string[], work: string): string {
  const { out, process: proc } = runcRun(layout, tag, arch, work, (args) => [...args, ...extraArgs]);
  expect(proc.user.uid).toBe(65532);
  return out;
}

const arm64 = arm64Unavailable();
if (arm64) console.warn(`test/examples.test.ts: the examples' arm64 images are built but not run: ${arm64}`);

const examples = readdirSync(EXAMPLES)
  .filter((n) => existsSync(path.join(EXAMPLES, n, 'image.yaml')))
  .sort();

describe('examples', () => {
  it('every example has an expected output here', () => {
    expect(examples).toEqual(Object.keys(expected).sort());
  });

  for (const name of examples) {
    it(`${name}: locks, builds --locked, and runs under runc on each of its platforms`, { timeout: 300_000 }, () => {
      const ex = expected[name]!;
      const work = tempDir(`chisel-ts-ex-${name}-`);
      const dir = path.join(work, name);
      cpSync(path.join(EXAMPLES, name), dir, { recursive: true, filter: (src) => !/\/(out|hello)$/.test(src) });
      ex.prepare?.(dir);
      // The committed lockfile must match the example's inputs (slices,
      // release definitions, config, files); when only Debian has moved on
      // since it was written, re-lock as a user would and go on.
      expect(
        existsSync(path.join(dir, 'image.lock.json')),
        `examples/${name}/image.lock.json is missing: run chisel-ts lock image.yaml there`,
      ).toBe(true);
      const check = JSON.parse(chiselStatus(['lock', '--check', '--json', 'image.yaml', '--cache-dir', cache], dir).stdout);
      if (!check.upToDate) {
        expect(check.diff.inputs, `examples/${name}/image.lock.json is stale for its inputs: run chisel-ts lock image.yaml there`).toEqual(
          [],
        );
        chisel(['lock', 'image.yaml', '--cache-dir', cache], dir);
      }
      const lock = JSON.parse(readFileSync(path.join(dir, 'image.lock.json'), 'utf8'));
      const report = JSON.parse(
        chisel(['build', 'image.yaml', '--locked', '--cache-dir', cache, '--oci', path.join(work, 'layout'), '--json'], dir),
      );
      expect(report.image.digest).toBe(lock.outputs.image);
      expect(existsSync(path.join(dir, 'out', 'image.oci.tar'))).toBe(true);
      // every platform the image file asks for is pinned, and runs (arm64 under qemu binfmt)
      const archs = Object.keys(lock.outputs.archs ?? { amd64: null });
      expect(report.archs.map((a: { arch: string }) => a.arch)).toEqual(archs);
      for (const arch of archs) {
        if (arch !== 'amd64' && (arch !== 'arm64' || arm64)) continue;
        expect(runImage(path.join(work, 'layout'), 'latest', arch, ex.args, work), arch).toMatch(ex.output);
      }
      ex.after?.(dir, work);
    });
  }
});

/** Instructions of a Dockerfile, continuation lines joined. */
function instructions(text: string): Array<{ op: string; args: string; line: number }> {
  const out: Array<{ op: string; args: string; line: number }> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    const start = i + 1;
    if (/^\s*(#|$)/.test(l)) continue;
    while (l.endsWith('\\')) l = `${l.slice(0, -1)} ${lines[++i] ?? ''}`;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`line ${start}: not an instruction: ${l}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  }
  return out;
}

const OPS = new Set(['FROM', 'COPY', 'RUN', 'USER', 'WORKDIR', 'ENV', 'EXPOSE', 'ENTRYPOINT', 'CMD', 'ARG', 'LABEL']);

describe('example Dockerfiles', () => {
  const helpOf = new Map<string, string>();
  const help = (cmd: string) => {
    if (!helpOf.has(cmd)) helpOf.set(cmd, chisel([cmd, '--help'], ROOT));
    return helpOf.get(cmd)!;
  };

  for (const name of examples) {
    it(`${name}/Dockerfile: valid instructions, stages, files and chisel-ts flags`, () => {
      const file = path.join(EXAMPLES, name, 'Dockerfile');
      const ins = instructions(readFileSync(file, 'utf8'));
      const stages: string[] = [];
      expect(ins.find((i) => i.op !== 'ARG')!.op).toBe('FROM');
      for (const i of ins) {
        expect(OPS.has(i.op), `${name}:${i.line} ${i.op}`).toBe(true);
        if (i.op === 'FROM') {
          const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
          expect(m, `${name}:${i.line}`).not.toBeNull();
          if (m![2]) stages.push(m![2]);
        }
        if (i.op === 'COPY') {
          const from = /--from=(\S+)/.exec(i.args)?.[1];
          const parts = i.args.replace(/--from=\S+\s*/, '').split(/\s+/);
          if (from) expect(stages, `${name}:${i.line} COPY --from=${from}`).toContain(from);
          else
            for (const src of parts.slice(0, -1))
              expect(
                existsSync(path.join(EXAMPLES, name, src)) || (name === 'static-c' && src === 'hello'),
                `${name}:${i.line} ${src} in the build context (the example's directory)`,
              ).toBe(true);
        }
        if (i.op === 'ENTRYPOINT' || i.op === 'CMD') expect(() => JSON.parse(i.args), `${name}:${i.line}`).not.toThrow();
        if (i.op === 'RUN') {
          for (const m of i.args.matchAll(/chisel-ts\s+(\w+)((?:\s+(?!&&)\S+)*)/g)) {
            const text = help(m[1]!);
            for (const flag of m[2]!.match(/--[a-z-]+/g) ?? []) expect(text, `${name}:${i.line} chisel-ts ${m[1]} ${flag}`).toContain(flag);
          }
        }
      }
      const last = ins.filter((i) => i.op === 'FROM').at(-1)!;
      expect(last.args).toBe('scratch');
    });
  }
});
