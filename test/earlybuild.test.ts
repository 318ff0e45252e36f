// The early build (pipeline/index.ts): a root cut before, from the cut cache
// and the plan memory, is written while the archives are asked, and put in
// place only once their plan chooses the same packages. Checked against a
// real archive on 127.0.0.1 whose InRelease answers a test holds back, moves
// on, or breaks.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentStore } from '../compiler/cache/store.js';
import { build, type BuildSpec } from '../compiler/pipeline/index.js';
import { loadRelease } from '../compiler/release/index.js';
import type { CutEvent } from '../compiler/slicer/cut.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { runCli } from './support/proc.js';
import { TestArchive } from './support/testarchive.js';

const SLICES = `package: hello
slices:
  bins:
    contents:
      /usr/bin/hello:
      /etc/hello.conf:
`;

const hello = (version: string) => ({
  name: 'hello',
  version,
  files: [
    { path: '/usr/bin/hello', content: `hello ${version}\n`, mode: 0o755 },
    { path: '/etc/hello.conf', content: 'greeting=hi\n' },
  ],
});

let archive: TestArchive;
let releaseDir: string;
let cacheDir: string;

beforeEach(async () => {
  archive = await TestArchive.create({ suites: { stable: { main: [hello('1.0')] } } });
  releaseDir = writeRelease(archive, { hello: SLICES });
  cacheDir = tempDir('chisel-ts-cache-');
});

afterEach(async () => {
  await archive.close();
});

const cutArgs = (root: string, ...more: string[]) => [
  'cut',
  '--release',
  releaseDir,
  '--arch',
  'amd64',
  '--cache-dir',
  cacheDir,
  '--root',
  root,
  ...more,
  'hello_bins',
];

/** Temporary siblings of `root` (where a root is written before it is renamed into place). */
const siblings = (root: string) => readdirSync(path.dirname(root)).filter((n) => n.startsWith(`.${path.basename(root)}`));

describe('early build', () => {
  it('writes the root while the InRelease answer is held back, and puts it in place only after it', async () => {
    expect((await runCli(cutArgs(path.join(tempDir(), 'first')))).code).toBe(0);
    const root = path.join(tempDir(), 'root');
    let writtenMeanwhile = false;
    let publishedEarly = false;
    archive.hold = (p) => {
      if (!p.endsWith('/InRelease')) return undefined;
      return (async () => {
        // released once the tree is complete in its temporary directory (or after 5 s: the test then fails)
        for (let i = 0; i < 500 && !writtenMeanwhile; i++) {
          await new Promise((r) => setTimeout(r, 10));
          publishedEarly ||= existsSync(root);
          writtenMeanwhile = siblings(root).some((s) => existsSync(path.join(path.dirname(root), s, 'etc', 'hello.conf')));
        }
      })();
    };
    const r = await runCli(cutArgs(root));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(writtenMeanwhile).toBe(true);
    expect(publishedEarly).toBe(false);
    expect(readFileSync(path.join(root, 'usr/bin/hello'), 'utf8')).toBe('hello 1.0\n');
    expect(siblings(root)).toEqual([]);
  });

  it('a package the archive moved on: the root has the new version, not the remembered one', async () => {
    expect((await runCli(cutArgs(path.join(tempDir(), 'first')))).code).toBe(0);
    await archive.publish('stable', 'main', hello('2.0'));
    const root = path.join(tempDir(), 'root');
    const r = await runCli(cutArgs(root, '--json'));
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(root, 'usr/bin/hello'), 'utf8')).toBe('hello 2.0\n');
    const report = JSON.parse(r.out) as { archs: Array<{ packages: Array<{ name: string; version: string }> }> };
    expect(report.archs[0]!.packages).toMatchObject([{ name: 'hello', version: '2.0' }]);
    expect(siblings(root)).toEqual([]);
  });

  it("an InRelease that fails its signature: the archive's error, and no root", async () => {
    expect((await runCli(cutArgs(path.join(tempDir(), 'first')))).code).toBe(0);
    archive.fault(/InRelease$/, 'tamper');
    const root = path.join(tempDir(), 'root');
    const r = await runCli(cutArgs(root));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/InRelease/);
    expect(existsSync(root)).toBe(false);
    expect(siblings(root)).toEqual([]);
  });

  it('an existing root is written in place only after the archives answered', async () => {
    const root = path.join(tempDir(), 'root');
    expect((await runCli(cutArgs(root))).code).toBe(0);
    await archive.publish('stable', 'main', hello('2.0'));
    const r = await runCli(cutArgs(root));
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(root, 'usr/bin/hello'), 'utf8')).toBe('hello 2.0\n');
  });
});

describe('early build, from the library', () => {
  async function buildRoot(root: string, events: string[]) {
    const release = await loadRelease(releaseDir, { cacheDir });
    const spec: BuildSpec = {
      release,
      slices: ['hello_bins'],
      archs: ['amd64'],
      outputs: { root },
      store: new ContentStore(cacheDir),
      packageMetadata: false,
      onEvent: (_arch: string, ev: CutEvent) => events.push(ev.kind),
    };
    return build(spec);
  }

  it('a new InRelease choosing the same packages: the remembered root stands, the result names the new InRelease', async () => {
    await buildRoot(path.join(tempDir(), 'first'), []);
    archive.date = new Date(Date.UTC(2026, 5, 1));
    await archive.rebuild();
    const events: string[] = [];
    const r = await buildRoot(path.join(tempDir(), 'root'), events);
    expect(r.archs[0]!.cut.cached).toBe(true);
    expect(r.archs[0]!.archives.map((a) => a.date)).toEqual([archive.date.toUTCString()]);
    // the plan's events come before the cut's, as in a build without the early one
    expect(events).toEqual(['selected', 'resolved', 'planned', 'unpacked']);
  });
});
