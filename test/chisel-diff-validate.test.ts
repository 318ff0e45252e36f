// Differential validation against Canonical's Chisel (the reference binary in
// ../shared/tools): one-mutation copies of a real release of chisel-releases
// are loaded by both tools, which must give the same verdict (accept or
// reject). Each case also records Chisel's verdict, so a change of either
// tool shows which one moved. Skipped, with a message, when the binary is
// absent.

import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRelease } from '../compiler/release/index.js';
import { ChiselErrors } from '../compiler/util/errors.js';
import { parse } from 'yaml';
import { tempDir } from './support/cutenv.js';
import { runAsync, runCli } from './support/proc.js';

const ROOT = path.resolve(__dirname, '..');
const CHISEL = path.resolve(ROOT, '../shared/tools/chisel-v1.4.1/chisel');
const BASE = path.resolve(ROOT, '../shared/corpus/chisel-releases/ubuntu-20.04');
const present = existsSync(CHISEL) && existsSync(BASE);
/** Chisel runs at most this many at a time (each takes about 0.7 s, mostly key parsing). */
const PARALLEL = 3;

type Verdict = 'accept' | 'reject';

/** One change to the copy: replace text of a file (relative to the release), append to it, write it, or remove it. */
type Edit =
  | { file: string; replace: [string | RegExp, string] }
  | { file: string; append: string }
  | { file: string; write: string }
  | { remove: string };

interface Case {
  name: string;
  /** Chisel's verdict (checked with the reference binary). */
  chisel: Verdict;
  /** chisel-ts's verdict when it differs on purpose (README, "How chisel-ts differs"). */
  ours?: Verdict;
  /** What both tools' messages must say (the same meaning) when they reject. */
  says?: RegExp;
  edits: Edit[];
}

const PROBE = 'slices/zz-probe.yaml';

/** A new package zz-probe with one slice "probe" holding these content lines (YAML at six spaces). */
const probe = (...contents: string[]): Edit => ({
  file: PROBE,
  write: `package: zz-probe\nslices:\n  probe:\n    contents:\n${contents.map((c) => `      ${c}\n`).join('')}`,
});
/** zz-probe with a free-form body after "package:". */
const probeFile = (body: string, name = 'zz-probe'): Edit => ({ file: `slices/${name}.yaml`, write: `package: ${name}\n${body}` });
/** zz-probe whose slice "probe" has these lines (YAML at four spaces) before its one path /usr/bin/zz. */
const probeWith = (...lines: string[]): Edit =>
  probeFile(`slices:\n  probe:\n${lines.map((l) => `    ${l}\n`).join('')}    contents:\n      /usr/bin/zz:\n`);
/** zz-probe followed by a second YAML document. */
const secondDocument = (doc: string): Edit[] => [probe('/usr/bin/zz:'), { file: PROBE, append: `---\n${doc}` }];
const chisel = (from: string | RegExp, to: string): Edit => ({ file: 'chisel.yaml', replace: [from, to] });
const V2 = 'v2-archives:\n';

const cases: Case[] = [
  { name: 'the release as it is', chisel: 'accept', edits: [] },
  // From issue 19: Chisel rejects.
  {
    name: 'a content path with a trailing double slash',
    chisel: 'reject',
    says: /invalid content path|not clean/,
    edits: [probe('/usr/share/zz//:')],
  },
  { name: 'arch: armel', chisel: 'reject', says: /invalid .?arch.? .*armel/, edits: [probe('/usr/bin/zz: {arch: armel}')] },
  {
    name: 'one archive name in archives and v2-archives',
    chisel: 'reject',
    says: /archive "ubuntu" defined twice/,
    edits: [
      chisel(
        V2,
        `${V2}  ubuntu:\n    priority: 30\n    version: 20.04\n    components: [main]\n    suites: [focal]\n    public-keys: [ubuntu-archive-key-2018]\n`,
      ),
    ],
  },
  { name: 'no slices directory', chisel: 'reject', says: /cannot read (the )?slices\/ directory/, edits: [{ remove: 'slices' }] },
  // From issue 19: Chisel accepts.
  { name: 'essential: null (slice)', chisel: 'accept', edits: [probeWith('essential:')] },
  {
    name: 'essential: null (package)',
    chisel: 'accept',
    edits: [probeFile('essential:\nslices:\n  probe:\n    contents:\n      /usr/bin/zz:\n')],
  },
  {
    name: 'an unknown arch in a v3-essential entry',
    chisel: 'accept',
    edits: [probeWith('v3-essential:', '  base-files_etc: {arch: vax}')],
  },
  { name: 'until: ""', chisel: 'accept', edits: [probe('/usr/bin/zz: {until: ""}')] },
  { name: 'mode: 0177777', chisel: 'accept', edits: [probe('/usr/bin/zz: {text: hi, mode: 0177777}')] },
  { name: 'a mode on a symlink', chisel: 'accept', edits: [probe('/usr/bin/zz: {symlink: /usr/bin/yy, mode: 0644}')] },
  { name: 'generate: foo', chisel: 'accept', edits: [probe('/var/lib/zz/**: {generate: foo}')] },
  { name: 'generate: manifest with arch', chisel: 'accept', edits: [probe('/var/lib/zz/**: {generate: manifest, arch: amd64}')] },
  { name: 'text: ~', chisel: 'accept', edits: [probe('/usr/bin/zz: {text: ~}')] },
  { name: 'text: 123', chisel: 'accept', edits: [probe('/usr/bin/zz: {text: 123}')] },
  { name: 'copy from a relative path', chisel: 'accept', edits: [probe('/usr/bin/zz: {copy: usr/bin/yy}')] },
  { name: 'copy from a glob', chisel: 'accept', edits: [probe('/usr/bin/zz: {copy: /usr/bin/y*}')] },
  // A NUL cuts a path short in tar headers and system calls: chisel-ts keeps refusing it.
  { name: 'a NUL in a path key', chisel: 'accept', ours: 'reject', edits: [probe('"/usr/bin/z\\0z":')] },
  { name: 'two packages with the same generate glob', chisel: 'accept', edits: [probe('/var/lib/chisel/**: {generate: manifest}')] },
  {
    name: 'no maintenance, no ubuntu archive',
    chisel: 'reject',
    edits: [
      chisel(/^maintenance:\n(?: .*\n)+/m, ''),
      chisel(/^v2-archives:\n(?:(?: .*)?\n)+?(?=public-keys:)/m, ''),
      chisel(/^ {2}ubuntu:/m, '  other:'),
    ],
  },
  { name: 'no maintenance, non-ubuntu archives in v2-archives', chisel: 'accept', edits: [chisel(/^maintenance:\n(?: .*\n)+/m, '')] },
  {
    name: 'no maintenance, non-ubuntu archives, v2-archives merged into archives',
    chisel: 'accept',
    edits: [chisel(/^maintenance:\n(?: .*\n)+/m, ''), chisel(V2, '')],
  },
  {
    name: 'no maintenance, an ubuntu version Chisel has no dates for',
    chisel: 'reject',
    edits: [chisel(/^maintenance:\n(?: .*\n)+/m, ''), chisel(/version: 20\.04/g, 'version: 26.04')],
  },
  { name: 'a second YAML document that is not valid YAML', chisel: 'accept', edits: secondDocument(': : [\n') },
  { name: 'a merge key whose value is not a map', chisel: 'reject', edits: [probe('/usr/bin/zz: {<<: 1, mutable: true}')] },
  { name: 'two packages generate in nested directories', chisel: 'reject', edits: [probe('/var/lib/chisel/x/**: {generate: manifest}')] },
  { name: 'a key armor without its checksum line', chisel: 'accept', edits: [chisel(/^\s+=9AdM\n/m, '')] },
  { name: 'a key armor with a wrong checksum', chisel: 'reject', says: /armor invalid/, edits: [chisel(/^(\s+)=9AdM\n/m, '$1=AAAA\n')] },
  { name: 'a second YAML document in a slice file', chisel: 'accept', edits: secondDocument('foo: bar\n') },
  {
    name: 'a merge key',
    chisel: 'accept',
    edits: [probeFile('x-t: &t {text: hi}\nslices:\n  probe:\n    contents:\n      /usr/bin/zz: {<<: *t, mutable: true}\n')],
  },
  {
    name: 'a corrupted key armor',
    chisel: 'reject',
    says: /armor invalid/,
    edits: [chisel('mQINBFufwdoBEADv/Gxytx/', 'mQINBFufwdoBEADv/Gxyty/')],
  },
  // Our own: every path kind and option.
  { name: 'copy: an absolute path', chisel: 'accept', edits: [probe('/usr/bin/zz: {copy: /usr/bin/yy}')] },
  { name: 'copy with mode and mutable', chisel: 'accept', edits: [probe('/usr/bin/zz: {mode: 0755, mutable: true}')] },
  { name: 'make with mode', chisel: 'accept', edits: [probe('/var/zz/: {make: true, mode: 0750}')] },
  { name: 'make without a trailing slash', chisel: 'reject', edits: [probe('/var/zz: {make: true}')] },
  { name: 'text, mutable', chisel: 'accept', edits: [probe('/etc/zz: {text: "a\\n", mutable: true}')] },
  { name: 'two kinds on one path', chisel: 'reject', edits: [probe('/etc/zz: {text: a, symlink: /b}')] },
  { name: 'a symlink', chisel: 'accept', edits: [probe('/usr/bin/zz: {symlink: /usr/bin/yy}')] },
  { name: 'a mutable symlink', chisel: 'reject', edits: [probe('/usr/bin/zz: {symlink: /usr/bin/yy, mutable: true}')] },
  { name: 'a glob with until and arch', chisel: 'accept', edits: [probe('/usr/share/zz/**: {until: mutate, arch: [amd64, arm64]}')] },
  { name: 'a glob with a mode', chisel: 'reject', edits: [probe('/usr/share/zz/*: {mode: 0644}')] },
  { name: 'until: never', chisel: 'reject', edits: [probe('/usr/bin/zz: {until: never}')] },
  { name: 'arch: a list of known archs', chisel: 'accept', edits: [probe('/usr/bin/zz: {arch: [amd64, i386, riscv64, s390x]}')] },
  { name: 'arch: vax', chisel: 'reject', edits: [probe('/usr/bin/zz: {arch: vax}')] },
  { name: 'mutable on a directory', chisel: 'reject', edits: [probe('/var/zz/: {make: true, mutable: true}')] },
  { name: 'prefer another package holding the path', chisel: 'accept', edits: [probe('/bin/bash: {prefer: bash}')] },
  { name: 'prefer its own package', chisel: 'reject', edits: [probe('/usr/bin/zz: {prefer: zz-probe}')] },
  { name: 'prefer a package without the path', chisel: 'reject', edits: [probe('/usr/bin/zz: {prefer: bash}')] },
  { name: 'a copy conflict between packages', chisel: 'reject', edits: [probe('/bin/bash:')] },
  { name: 'a glob over another package path', chisel: 'reject', edits: [probe('/bin/ba*:')] },
  { name: 'generate not under /**', chisel: 'reject', edits: [probe('/var/lib/zz/*: {generate: manifest}')] },
  { name: 'generate with until', chisel: 'reject', edits: [probe('/var/lib/zz/**: {generate: manifest, until: mutate}')] },
  { name: 'essential: a list', chisel: 'accept', edits: [probeWith('essential: [base-files_etc]')] },
  { name: 'essential: a missing slice', chisel: 'reject', edits: [probeWith('essential: [base-files_nope]')] },
  {
    name: 'essential: a loop',
    chisel: 'reject',
    edits: [probeFile('slices:\n  aaa:\n    essential: [zz-probe_bbb]\n  bbb:\n    essential: [zz-probe_aaa]\n')],
  },
  { name: 'v3-essential with a known arch', chisel: 'accept', edits: [probeWith('v3-essential:', '  base-files_etc: {arch: [amd64]}')] },
  {
    name: 'a pinned archive',
    chisel: 'accept',
    edits: [probeFile('archive: ubuntu\nslices:\n  probe:\n    contents:\n      /usr/bin/zz:\n')],
  },
  {
    name: 'a pin to an undefined archive',
    chisel: 'reject',
    edits: [probeFile('archive: nope\nslices:\n  probe:\n    contents:\n      /usr/bin/zz:\n')],
  },
  { name: 'two archives with one priority', chisel: 'reject', edits: [chisel('priority: 20', 'priority: 10')] },
  { name: 'an archive without priority', chisel: 'reject', edits: [chisel('    priority: 20\n', '')] },
  { name: 'an unknown pro value', chisel: 'accept', edits: [chisel('pro: fips\n', 'pro: nope\n')] },
  { name: 'a bad maintenance date', chisel: 'reject', edits: [chisel('standard: 2020-04-23', 'standard: 2020-13-23')] },
  { name: 'maintenance without end-of-life', chisel: 'reject', edits: [chisel(/ {2}end-of-life: .*\n/, '')] },
  { name: 'a hint over 40 bytes', chisel: 'reject', edits: [probeFile(`slices:\n  probe:\n    hint: ${'x'.repeat(41)}\n`)] },
  { name: 'a bad slice name', chisel: 'reject', edits: [probeFile('slices:\n  Probe:\n    contents:\n      /usr/bin/zz:\n')] },
  { name: 'a package field unlike the file name', chisel: 'reject', edits: [{ file: PROBE, write: 'package: zz-other\n' }] },
  { name: 'format v2 with v2-archives', chisel: 'reject', edits: [chisel('format: v1', 'format: v2')] },
  { name: 'format v2, v2-archives merged', chisel: 'accept', edits: [chisel('format: v1', 'format: v2'), chisel(V2, '')] },
  { name: 'format v3 with list essentials', chisel: 'reject', edits: [chisel('format: v1', 'format: v3'), chisel(V2, '')] },
  { name: 'essential: a map in format v1', chisel: 'reject', edits: [probeWith('essential: {base-files_etc: }')] },
  { name: 'v3-essential: a list', chisel: 'reject', edits: [probeWith('v3-essential: [base-files_etc]')] },
  { name: 'a slice listing itself as essential', chisel: 'reject', edits: [probeWith('essential: [zz-probe_probe]')] },
  { name: 'a negative priority', chisel: 'accept', edits: [chisel('priority: 20', 'priority: -20')] },
  { name: 'a priority of 0', chisel: 'reject', edits: [chisel('priority: 20', 'priority: 0')] },
  { name: 'an undefined public key', chisel: 'reject', edits: [chisel('public-keys: [ubuntu-fips-key-v1]', 'public-keys: [nope]')] },
  { name: 'a key id unlike the armored key', chisel: 'reject', edits: [chisel('id: "871920D1991BC93C"', 'id: "871920D1991BC93D"')] },
  {
    name: 'an unknown key',
    chisel: 'accept',
    edits: [probeFile('zz-extension: 1\nslices:\n  probe:\n    zz-note: x\n    contents:\n      /usr/bin/zz: {zz-opt: 1}\n')],
  },
];

function applyEdit(dir: string, e: Edit): void {
  if ('remove' in e) {
    rmSync(path.join(dir, e.remove), { recursive: true, force: true });
    return;
  }
  const file = path.join(dir, e.file);
  if ('write' in e) writeFileSync(file, e.write);
  else if ('append' in e) writeFileSync(file, readFileSync(file, 'utf8') + e.append);
  else {
    const before = readFileSync(file, 'utf8');
    const after = before.replace(e.replace[0], e.replace[1]);
    if (after === before) throw new Error(`edit of ${e.file} changed nothing: ${String(e.replace[0])}`);
    writeFileSync(file, after);
  }
}

/** Puts back what the edits changed in a copy of the base release. */
function restore(dir: string, edits: Edit[]): void {
  for (const e of edits) {
    const rel = 'remove' in e ? e.remove : e.file;
    rmSync(path.join(dir, rel), { recursive: true, force: true });
    if (existsSync(path.join(BASE, rel))) cpSync(path.join(BASE, rel), path.join(dir, rel), { recursive: true });
  }
}

async function chiselVerdict(dir: string): Promise<Outcome> {
  const r = await runAsync(CHISEL, ['info', '--release', `${dir}/`, 'base-files']);
  return { verdict: r.code === 0 ? 'accept' : 'reject', output: r.err.trim() };
}

async function ourVerdict(dir: string, cacheDir: string): Promise<Outcome> {
  try {
    // The parse cache of this copy: only the files a case changed are parsed again.
    await loadRelease(dir, { cacheDir });
    return { verdict: 'accept', output: '' };
  } catch (e) {
    if (e instanceof ChiselErrors) return { verdict: 'reject', output: e.errors.map((x) => x.toString()).join('\n') };
    return { verdict: 'reject', output: String(e) };
  }
}

type Outcome = { verdict: Verdict; output: string };

/**
 * Every case, by PARALLEL workers: each has its own copy of the release (and
 * parse cache), applies a case's edits, runs both tools, and puts the copy back.
 */
async function runCases(): Promise<Array<{ chisel: Outcome; ours: Outcome }>> {
  const out: Array<{ chisel: Outcome; ours: Outcome }> = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    const root = tempDir('chisel-ts-diff-');
    const dir = path.join(root, 'release');
    cpSync(BASE, dir, { recursive: true });
    while (next < cases.length) {
      const i = next++;
      const { edits } = cases[i]!;
      for (const e of edits) applyEdit(dir, e);
      const [chisel, ours] = await Promise.all([chiselVerdict(dir), ourVerdict(dir, path.join(root, 'cache'))]);
      out[i] = { chisel, ours };
      restore(dir, edits);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return out;
}

describe.skipIf(!present)('chisel-ts and Chisel give the same validation verdict', () => {
  it('on every mutation of ubuntu-20.04', async () => {
    const rows = (await runCases()).map((r, i) => ({ name: cases[i]!.name, recorded: cases[i]!.chisel, ...r }));
    const says = (i: number, out: string) => cases[i]!.says?.test(out) ?? true;
    const wrong = rows.filter(
      (r, i) =>
        r.chisel.verdict !== r.recorded ||
        r.ours.verdict !== (cases[i]!.ours ?? r.recorded) ||
        !says(i, r.chisel.output) ||
        !says(i, r.ours.output),
    );
    const report = wrong.map(
      (r) =>
        `${r.name}: recorded ${r.recorded}, Chisel ${r.chisel.verdict}, chisel-ts ${r.ours.verdict}\n  Chisel: ${r.chisel.output.split('\n').pop()}\n  chisel-ts: ${r.ours.output.split('\n')[0]}`,
    );
    expect(report).toEqual([]);
  });
});

/**
 * Paths whose reading depends on the YAML library (merge keys, null and
 * non-string scalars, an empty until): `info` of both tools must show the
 * same definition.
 */
const READINGS = [
  'x: &t {text: hi}',
  'y: &u {text: bye, mode: 0600}',
  'slices:',
  '  probe:',
  '    contents:',
  '      /usr/bin/a: {<<: [*t, *u], mutable: true}',
  '      /usr/bin/b: {<<: *t, text: over}',
  '      /usr/bin/c: {"<<": *t}',
  '      /usr/bin/d: {<<: {<<: *u, mode: 0644}, mutable: true}',
  '      /usr/bin/e: {mutable: true, <<: *u}',
  '      /usr/bin/f: {text: ~}',
  '      /usr/bin/g: {text: 123}',
  '      /usr/bin/h: {until: ""}',
  '      /usr/bin/i: {text: hi, mode: 493}',
];

/** A path's definition as `info` prints it, with Chisel's and chisel-ts's spellings made one (modes as octal text). */
function definitions(infoYaml: string): Record<string, Record<string, unknown>> {
  const doc = parse(infoYaml, { version: '1.1' }) as {
    slices: Record<string, { contents: Record<string, Record<string, unknown> | null> }>;
  };
  const out: Record<string, Record<string, unknown>> = {};
  for (const [p, d] of Object.entries(doc.slices.probe!.contents)) {
    const def = { ...(d ?? {}) };
    if (typeof def.mode === 'number') def.mode = `0${def.mode.toString(8)}`;
    out[p] = def;
  }
  return out;
}

describe.skipIf(!present)('chisel-ts reads a path as Chisel does', () => {
  it('merge keys, null and number texts, an empty until', async () => {
    const dir = path.join(tempDir('chisel-ts-diff-'), 'release');
    cpSync(BASE, dir, { recursive: true });
    writeFileSync(path.join(dir, PROBE), `package: zz-probe\n${READINGS.join('\n')}\n`);
    const theirs = await runAsync(CHISEL, ['info', '--release', `${dir}/`, 'zz-probe_probe']);
    const ours = await runCli(['info', '--release', dir, 'zz-probe_probe']);
    expect(theirs.code, theirs.err).toBe(0);
    expect(ours.code, ours.err).toBe(0);
    expect(definitions(ours.out)).toEqual(definitions(theirs.out));
  });
});

if (!present) {
  describe('chisel-ts and Chisel give the same validation verdict', () => {
    it.skip(`skipped: no reference Chisel binary at ${CHISEL} (or no corpus at ${BASE})`, () => {});
  });
}
