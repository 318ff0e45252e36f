// Hostile YAML for the release loader (chisel.yaml and slice files) and the
// image file loader: alias bombs, deep nesting, huge files, duplicate keys,
// wrong types, bad encodings, control characters, long lines. Each must give
// a clear error naming file:line:column (where there is a position), or load
// when it is legitimate, within bounded time and memory. The heavy ones run
// the built CLI in a child process with a 256 MB heap, so that a blow-up
// fails the test instead of killing vitest; time and heap bounds are generous
// safety limits, not speed targets.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadImageFile, parseImageFile } from '../compiler/image/imagefile.js';
import { loadRelease } from '../compiler/release/index.js';
import { decodeUtf8, firstInvalidUtf8 } from '../compiler/yaml/text.js';
import { ChiselError, ChiselErrors } from '../compiler/util/errors.js';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'chisel-ts.js');
// The shipped Debian 13 chisel.yaml (real keys), without its sets (they name slices these releases lack).
const CHISEL = readFileSync(path.join(ROOT, 'slices/debian-13/chisel.yaml'), 'utf8').replace(/\nsets:\n(?: .*\n|#.*\n)*/, '\n');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'chisel-yaml-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function release(slices: Record<string, string | Buffer>, chisel: string | Buffer = CHISEL): string {
  const dir = path.join(tmp, `rel${n++}`);
  mkdirSync(path.join(dir, 'slices'), { recursive: true });
  writeFileSync(path.join(dir, 'chisel.yaml'), chisel);
  for (const [f, t] of Object.entries(slices)) writeFileSync(path.join(dir, 'slices', f), t);
  return dir;
}

/** The error lines of loading a release in-process ("file:line:col: message"); [] when it loads. */
async function errorsOf(dir: string): Promise<string[]> {
  try {
    await loadRelease(dir);
    return [];
  } catch (e) {
    if (e instanceof ChiselErrors) return e.errors.map((x) => x.toString().replace(dir + path.sep, ''));
    if (e instanceof ChiselError) return [e.toString().replace(dir + path.sep, '')];
    throw e; // a TypeError, RangeError...: fails the test
  }
}

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  json?: {
    valid: boolean;
    packages: number;
    slices: number;
    errors: Array<{ file?: string; line?: number; col?: number; message: string; code: string }>;
  };
  stderr: string;
}

/** `chisel-ts validate --json` in a child process with a 256 MB heap and a (generous) time limit. */
function validateCli(dir: string, timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--max-old-space-size=256', BIN, 'validate', '--json', '--release', dir], {
      env: { ...process.env, XDG_CACHE_HOME: path.join(tmp, `cache${n++}`) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let json: CliResult['json'];
      try {
        json = JSON.parse(out) as CliResult['json'];
      } catch {
        json = undefined;
      }
      resolve({ code, signal, ms: Date.now() - t0, ...(json ? { json } : {}), stderr: err });
    });
  });
}

/** The child finished on its own (no kill, no OOM abort, no internal error) with a JSON report. */
function expectCleanExit(r: CliResult): NonNullable<CliResult['json']> {
  expect(r.signal, `killed by ${r.signal} after ${r.ms} ms; stderr: ${r.stderr.slice(0, 2000)}`).toBeNull();
  expect(r.stderr).not.toMatch(/heap out of memory|RangeError|TypeError|Maximum call stack|error: internal/);
  expect(r.json, r.stderr.slice(0, 2000)).toBeDefined();
  expect(r.code).toBe(r.json!.valid ? 0 : 1);
  return r.json!;
}

const pkgFile = (body: string) => `package: mypkg\n${body}`;

/** "billion laughs": `levels` anchors, each a list of ten aliases of the previous one. */
function laughs(levels: number, indent = ''): string {
  let s = `${indent}l0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n`;
  for (let i = 1; i < levels; i++)
    s += `${indent}l${i}: &a${i} [${Array(10)
      .fill(`*a${i - 1}`)
      .join(', ')}]\n`;
  return s;
}

describe('heavy inputs, validated by the CLI in a 256 MB child process', () => {
  it('an alias bomb in a slice file is refused at the first alias', async () => {
    const dir = release({ 'mypkg.yaml': pkgFile(`x:\n${laughs(12, '  ')}`) });
    const j = expectCleanExit(await validateCli(dir));
    expect(j.valid).toBe(false);
    expect(j.errors).toHaveLength(1);
    expect(j.errors[0]).toMatchObject({ file: path.join(dir, 'slices/mypkg.yaml'), line: 4, col: 12 });
    expect(j.errors[0]!.message).toMatch(/YAML aliases \(\*name\) expand to too much data \(more than 100 copies\); write the values out/);
  });

  it('an alias bomb in chisel.yaml is refused', async () => {
    const dir = release({}, `${CHISEL}bomb:\n${laughs(12, '  ')}`);
    const j = expectCleanExit(await validateCli(dir));
    expect(j.errors).toHaveLength(1);
    expect(j.errors[0]!.file).toBe(path.join(dir, 'chisel.yaml'));
    expect(j.errors[0]!.line).toBeGreaterThan(1);
    expect(j.errors[0]!.message).toMatch(/YAML aliases .* expand to too much data/);
  });

  it.each([
    ['10,000 nested flow sequences', `x: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`],
    ['10,000 nested flow maps', `x: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}\n`],
    ['10,000 unclosed flow sequences', `x: ${'['.repeat(10_000)}\n`],
    ['60,000 nested flow sequences (lexed first: a 120 KB file)', `x: ${'['.repeat(60_000)}${']'.repeat(60_000)}\n`],
    ['1,500 nested block maps', `x:\n${Array.from({ length: 1500 }, (_, i) => `${' '.repeat(i + 1)}a:`).join('\n')} 1\n`],
  ])('%s: "nesting too deep" at a position, few errors', async (_name, body) => {
    const dir = release({ 'mypkg.yaml': pkgFile(body) });
    const j = expectCleanExit(await validateCli(dir));
    expect(j.valid).toBe(false);
    expect(j.errors[0]).toMatchObject({ file: path.join(dir, 'slices/mypkg.yaml'), code: 'yaml' });
    expect(j.errors[0]!.line).toBeGreaterThanOrEqual(2);
    expect(j.errors[0]!.message).toMatch(/YAML nesting is (too deep to parse|deeper than 64 levels)/);
    expect(j.errors.length).toBeLessThanOrEqual(21); // capped: 20 and "N more errors in this file not shown"
  });

  it('nesting that parses but is deeper than 64 levels is refused before conversion', async () => {
    const dir = release({
      'mypkg.yaml': pkgFile(`slices:\n  bins:\n    contents:\n      /x: {arch: ${'['.repeat(100)}${']'.repeat(100)}}\n`),
    });
    const j = expectCleanExit(await validateCli(dir));
    expect(j.errors).toEqual([
      expect.objectContaining({ line: 5, message: 'YAML nesting is deeper than 64 levels; release files nest a few levels only' }),
    ]);
  });

  it('a 20 MB slice file is refused before it is read; the other files are still checked', async () => {
    let big = pkgFile('slices:\n  bins:\n    contents:\n');
    const line = '      /usr/lib/some/long/directory/name/file-XXXXXXXX:\n';
    big += line.repeat(Math.ceil(20e6 / line.length));
    const dir = release({ 'mypkg.yaml': big, 'other.yaml': 'package: other\nslices:\n  Bad: {}\n' });
    const j = expectCleanExit(await validateCli(dir));
    expect(j.errors.map((e) => [path.basename(e.file!), e.line, e.message])).toEqual([
      ['mypkg.yaml', undefined, 'file is larger than 4 MiB (the limit for a YAML file); check that this is the file you meant'],
      ['other.yaml', 3, expect.stringMatching(/invalid slice name "Bad"/)],
    ]);
  });

  it('a file with 200,000 paths is refused (size or token limit), not parsed until the heap runs out', async () => {
    const long =
      pkgFile('slices:\n  bins:\n    contents:\n') +
      Array.from({ length: 200_000 }, (_, i) => `      /usr/lib/x86_64-linux-gnu/f${i}:\n`).join('');
    const short =
      pkgFile('slices:\n  bins:\n    contents:\n') +
      Array.from({ length: 200_000 }, (_, i) => `   /f${i}:\n`)
        .join('')
        .replace(/^ {3}/gm, '      ');
    expect(Buffer.byteLength(short)).toBeLessThan(4 * 1024 * 1024);
    const a = expectCleanExit(await validateCli(release({ 'mypkg.yaml': long })));
    expect(a.errors.map((e) => e.message)).toEqual([expect.stringMatching(/file is larger than 4 MiB/)]);
    const b = expectCleanExit(await validateCli(release({ 'mypkg.yaml': short })));
    expect(b.errors).toEqual([
      expect.objectContaining({
        line: 1,
        col: 1,
        code: 'yaml-too-large',
        message: expect.stringMatching(/file has more than 200000 YAML tokens .*; check that this is the file you meant/),
      }),
    ]);
  });

  it('a legitimate large file (35,000 paths, one map) loads: no quadratic duplicate-key or position lookups', async () => {
    const body =
      pkgFile('slices:\n  bins:\n    contents:\n') + Array.from({ length: 35_000 }, (_, i) => `      /usr/lib/f${i}:\n`).join('');
    // About 1 s (the library's duplicate-key check and a linear key lookup per
    // position made it ~30 s): 20 s is a safety bound, not a speed target.
    const r = await validateCli(release({ 'mypkg.yaml': body }), 20_000);
    const j = expectCleanExit(r);
    expect(j.errors).toEqual([]);
    expect(j).toMatchObject({ valid: true, packages: 1, slices: 1 });
  });

  it('a 3 MB line (a hint) and a 3 MB key give short errors', async () => {
    const dir = release({
      'mypkg.yaml': pkgFile(`slices:\n  bins:\n    hint: ${'a'.repeat(3e6)}\n    contents:\n      ? ${'b'.repeat(1e6)}\n      :\n`),
    });
    const j = expectCleanExit(await validateCli(dir));
    expect(j.errors.map((e) => [e.line, e.col])).toEqual([
      [4, 11],
      [6, 9],
    ]);
    expect(j.errors[0]!.message).toBe('slice mypkg_bins: hint is longer than 40 bytes');
    expect(j.errors[1]!.message).toMatch(/^slice mypkg_bins: path b{120}…\(1000000 characters\) must be absolute$/);
  });

  it('many bad files: errors are reported for each, bounded per file', async () => {
    const slices: Record<string, string> = {};
    for (let i = 0; i < 50; i++)
      slices[`p${i}a.yaml`] =
        `package: p${i}a\nslices:\n  bins:\n    contents:\n${Array.from({ length: 500 }, (_, k) => `      rel/${k}:\n`).join('')}`;
    const j = expectCleanExit(await validateCli(release(slices)));
    expect(j.errors).toHaveLength(50 * 21);
    expect(j.errors.filter((e) => /^480 more errors in this file not shown; fix the ones above first$/.test(e.message))).toHaveLength(50);
  });
});

describe('release loader, in process', () => {
  const cases: Array<[string, Record<string, string | Buffer>, RegExp[]]> = [
    [
      'duplicate top-level key',
      { 'mypkg.yaml': 'package: mypkg\npackage: mypkg\n' },
      [/^slices\/mypkg\.yaml:2:1: duplicate key "package" \(first at line 1, column 1\); remove one of them$/],
    ],
    [
      'duplicate path',
      { 'mypkg.yaml': pkgFile('slices:\n  bins:\n    contents:\n      /x:\n      /y:\n      /x: {mode: 0755}\n') },
      [/^slices\/mypkg\.yaml:7:7: duplicate key "\/x" \(first at line 5, column 7\)/],
    ],
    ['duplicate slice', { 'mypkg.yaml': pkgFile('slices:\n  bins: {}\n  bins: {}\n') }, [/mypkg\.yaml:4:3: duplicate key "bins"/]],
    // 1 and "1" are different YAML keys but the same property once read: still a duplicate.
    [
      'keys equal once read',
      { 'mypkg.yaml': pkgFile('slices:\n  bins:\n    contents:\n      /x:\n        uid: 1\n        "uid": 2\n') },
      [/mypkg\.yaml:7:9: duplicate key "uid"/],
    ],
    [
      'tab indentation',
      { 'mypkg.yaml': 'package: mypkg\nslices:\n\tbins:\n' },
      [/^slices\/mypkg\.yaml:3:1: YAML syntax error: Tabs are not allowed as indentation$/],
    ],
    [
      'raw NUL byte',
      { 'mypkg.yaml': pkgFile('slices:\n  bins:\n    contents:\n      /usr/bin/a\0b:\n') },
      [/^slices\/mypkg\.yaml:5:17: control character U\+0000 \(NUL\) is not allowed in YAML; remove it/],
    ],
    [
      'escape sequence for NUL in a path',
      { 'mypkg.yaml': pkgFile('slices:\n  bins:\n    contents:\n      "/usr/bin/a\\0b":\n') },
      [/^slices\/mypkg\.yaml:5:7: key contains a NUL character \(\\0\); remove it$/],
    ],
    [
      'escape sequence for NUL in a symlink target',
      { 'mypkg.yaml': pkgFile('slices:\n  bins:\n    contents:\n      /usr/bin/a: {symlink: "b\\0c"}\n') },
      [/mypkg\.yaml:5:29: string contains a NUL character/],
    ],
    [
      'ESC and DEL characters',
      { 'mypkg.yaml': pkgFile('slices:\n  bins:\n    hint: a\x1bb\x7f\n') },
      [/mypkg\.yaml:4:12: control character U\+001B \(ESC\)/, /mypkg\.yaml:4:14: control character U\+007F \(DEL\)/],
    ],
    [
      'non-UTF-8 bytes',
      {
        'mypkg.yaml': Buffer.concat([
          Buffer.from(pkgFile('slices:\n  bins:\n    contents:\n      /usr/bin/é')),
          Buffer.from([0xff, 0xfe, 0x80]),
          Buffer.from(':\n'),
        ]),
      },
      [/^slices\/mypkg\.yaml:5:17: file is not valid UTF-8: byte 0xff at offset 62; save the file as UTF-8$/],
    ],
    [
      'latin1 file',
      { 'mypkg.yaml': Buffer.from(pkgFile('slices:\n  bins:\n    hint: caf\xe9\n'), 'latin1') },
      [/mypkg\.yaml:4:14: file is not valid UTF-8: byte 0xe9/],
    ],
    [
      'UTF-16 file',
      { 'mypkg.yaml': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(pkgFile(''), 'utf16le')]) },
      [/^slices\/mypkg\.yaml:1:1: file is UTF-16 encoded .*; save it as UTF-8$/],
    ],
    [
      'a map as a key',
      { 'mypkg.yaml': pkgFile('slices:\n  bins:\n    contents:\n      ? {a: 1}\n      :\n') },
      [/mypkg\.yaml:5:9: a map key must be a plain string or number, not a map, sequence or binary value; write the key as a string/],
    ],
    [
      'a custom tag',
      { 'mypkg.yaml': 'package: !evil mypkg\n' },
      [/mypkg\.yaml:1:10: Unresolved tag: !evil: custom YAML tags are not supported; remove the tag/],
    ],
    ['an empty file', { 'mypkg.yaml': '' }, [/mypkg\.yaml:1:1: document: must be object \(schema slices\.schema\.json\)/]],
    ['only a comment', { 'mypkg.yaml': '# nothing\n' }, [/mypkg\.yaml:1:1: document: must be object/]],
    ['a bare scalar', { 'mypkg.yaml': 'mypkg' }, [/mypkg\.yaml:1:1: document: must be object/]],
    [
      '__proto__ as a slice name',
      { 'mypkg.yaml': pkgFile('slices:\n  __proto__:\n    contents: {/x: }\n') },
      [/mypkg\.yaml:3:3: invalid slice name "__proto__"/],
    ],
    [
      'a long implicit key',
      { 'mypkg.yaml': pkgFile(`slices:\n  bins:\n    contents:\n      /${'a'.repeat(5000)}:\n`) },
      [/mypkg\.yaml:5:7: YAML syntax error: The : indicator must be at most 1024 chars/],
    ],
  ];
  it.each(cases)('%s', async (_name, slices, expected) => {
    const errs = await errorsOf(release(slices));
    expect(errs).toHaveLength(expected.length);
    for (const [i, re] of expected.entries()) expect(errs[i]).toMatch(re);
  });

  it('legitimate: a UTF-8 BOM, CRLF line ends, anchors and aliases, flow style, comments', async () => {
    const dir = release({
      'bom.yaml': '\ufeffpackage: bom\nslices:\n  bins:\n    contents:\n      /usr/bin/bom:\n',
      'crlf.yaml': 'package: crlf\r\nslices:\r\n  bins:\r\n    contents:\r\n      /usr/bin/crlf: {mode: 0755}\r\n',
      'alias.yaml':
        'package: alias\nslices:\n  bins:\n    contents:\n      /usr/bin/a: {arch: &archs [amd64, arm64]}\n      /usr/bin/b: {arch: *archs}\n',
      'flow.yaml': '{package: flow, slices: {bins: {contents: {/usr/bin/flow: {symlink: /usr/bin/x}}}}}\n',
      'text.yaml': 'package: text\nslices:\n  conf:\n    contents:\n      /etc/text: {text: "a\\0b\\ttab ünïcode"}\n',
    });
    expect(await errorsOf(dir)).toEqual([]);
    const r = await loadRelease(dir);
    expect(r.packages.get('bom')!.slices.get('bins')!.contents.has('/usr/bin/bom')).toBe(true);
    expect(r.packages.get('crlf')!.slices.get('bins')!.contents.get('/usr/bin/crlf')!.mode).toBe(0o755);
    expect(r.packages.get('alias')!.slices.get('bins')!.contents.get('/usr/bin/b')!.arch).toEqual(['amd64', 'arm64']);
    expect(r.packages.get('text')!.slices.get('conf')!.contents.get('/etc/text')!.info).toBe('a\0b\ttab ünïcode');
  });

  it('a BOM does not shift positions', async () => {
    const errs = await errorsOf(release({ 'mypkg.yaml': '\ufeffpackage: other\n' }));
    expect(errs).toEqual([
      expect.stringMatching(/^slices\/mypkg\.yaml:1:10: package "other" in mypkg\.yaml must match the filename "mypkg"$/),
    ]);
  });

  it('a FIFO, a directory and a dangling symlink named *.yaml do not block or crash the loader', async () => {
    const dir = release({ 'ok.yaml': 'package: ok\n' });
    execFileSync('mkfifo', [path.join(dir, 'slices', 'fifo.yaml')]);
    mkdirSync(path.join(dir, 'slices', 'dir.yaml'));
    execFileSync('ln', ['-s', 'missing', path.join(dir, 'slices', 'dangling.yaml')]);
    const errs = await errorsOf(dir);
    expect(errs).toEqual([
      'slices/dangling.yaml: cannot read file: ENOENT',
      'slices/fifo.yaml: is a FIFO, not a regular file; YAML files must be regular files (or symlinks to one)',
    ]);
  });

  it('a chisel.yaml that is not UTF-8 or too large is a ChiselErrors naming it', async () => {
    expect(await errorsOf(release({}, Buffer.from('format: v1\n# caf\xe9\n', 'latin1')))).toEqual([
      expect.stringMatching(/^chisel\.yaml:2:6: file is not valid UTF-8/),
    ]);
    expect(await errorsOf(release({}, `${CHISEL}# ${'x'.repeat(5 * 1024 * 1024)}\n`))).toEqual([
      expect.stringMatching(/^chisel\.yaml: file is larger than 4 MiB/),
    ]);
  });

  it('archives naming inherited properties as public keys are refused ("toString", "constructor")', async () => {
    const chisel = CHISEL.replace(/public-keys: \[debian-security-12, debian-security-13\]/, 'public-keys: [toString, constructor]');
    expect(chisel).not.toBe(CHISEL);
    const errs = await errorsOf(release({}, chisel));
    expect(errs).toEqual([
      expect.stringMatching(/^chisel\.yaml:\d+:\d+: archive debian-security refers to undefined public key "toString"$/),
      expect.stringMatching(/^chisel\.yaml:\d+:\d+: archive debian-security refers to undefined public key "constructor"$/),
    ]);
  });
});

describe('wrong types for every field kind', () => {
  // [field, YAML of a slice file (after "package: mypkg"), the expected "line:col: subject"]
  const slices: Array<[string, string, RegExp]> = [
    ['package', '', /./],
    ['archive', 'archive: [a]\n', /:2:10: archive: must be string/],
    ['essential (package)', 'essential: 5\n', /:2:12: essential: must be array/],
    ['v3-essential', 'v3-essential: [a_b]\n', /:2:15: v3-essential: must be object/],
    ['slices', 'slices: [a]\n', /:2:9: slices: must be object/],
    ['a slice', 'slices:\n  bins: 5\n', /:3:9: slices\.bins: must be object or null/],
    ['hint', 'slices:\n  bins:\n    hint: [a]\n', /:4:11: slices\.bins\.hint: must be string/],
    ['essential (slice)', 'slices:\n  bins:\n    essential: a_b\n', /:4:16: slices\.bins\.essential: must be array/],
    ['contents', 'slices:\n  bins:\n    contents: [/x]\n', /:4:15: slices\.bins\.contents: must be object or null/],
    ['a path', 'slices:\n  bins:\n    contents:\n      /x: 5\n', /:5:11: slices\.bins\.contents\.\/x: must be object or null/],
    ['copy', 'slices:\n  bins:\n    contents:\n      /x: {copy: 5}\n', /:5:18: slices\.bins\.contents\.\/x\.copy: must be string/],
    ['make', 'slices:\n  bins:\n    contents:\n      /x/: {make: "yes"}\n', /:5:19: .*\.make: must be boolean/],
    ['text', 'slices:\n  bins:\n    contents:\n      /x: {text: {a: 1}}\n', /:5:18: .*\.text: must be string/],
    ['symlink', 'slices:\n  bins:\n    contents:\n      /x: {symlink: [a]}\n', /:5:21: .*\.symlink: must be string/],
    ['generate', 'slices:\n  bins:\n    contents:\n      /x/**: {generate: [foo]}\n', /:5:25: .*\.generate: must be string/],
    ['mode (string)', 'slices:\n  bins:\n    contents:\n      /x: {mode: "0755"}\n', /:5:18: .*\.mode: must be integer/],
    ['mode (float)', 'slices:\n  bins:\n    contents:\n      /x: {mode: 7.5}\n', /:5:18: .*\.mode: must be integer/],
    ['mode (too large)', 'slices:\n  bins:\n    contents:\n      /x: {mode: 9999999999}\n', /:5:18: .*\.mode: must be <= 4294967295/],
    ['mode (.inf)', 'slices:\n  bins:\n    contents:\n      /x: {mode: .inf}\n', /:5:18: .*\.mode: must be <= 4294967295/],
    ['mutable', 'slices:\n  bins:\n    contents:\n      /x: {mutable: 1}\n', /:5:21: .*\.mutable: must be boolean/],
    ['until', 'slices:\n  bins:\n    contents:\n      /x: {until: later}\n', /:5:19: .*\.until: must be one of "mutate"/],
    ['arch', 'slices:\n  bins:\n    contents:\n      /x: {arch: 5}\n', /:5:18: .*\.arch: must be string/],
    ['arch item', 'slices:\n  bins:\n    contents:\n      /x: {arch: [amd64, [arm64]]}\n', /:5:26: .*\.arch\.1: must be string/],
    ['prefer', 'slices:\n  bins:\n    contents:\n      /x: {prefer: null}\n', /:5:20: .*\.prefer: must be string/],
    ['uid', 'slices:\n  bins:\n    contents:\n      /x/: {make: true, uid: -1}\n', /:5:30: .*\.uid: must be >= 0/],
    ['gid', 'slices:\n  bins:\n    contents:\n      /x/: {make: true, gid: root}\n', /:5:30: .*\.gid: must be integer/],
    ['mutate', 'slices:\n  bins:\n    mutate: 5\n', /:4:13: slices\.bins\.mutate: must be string/],
  ];
  it.each(slices)('slice file: %s', async (field, body, re) => {
    const text = field === 'package' ? 'package: 5\n' : pkgFile(body);
    const errs = await errorsOf(release({ 'mypkg.yaml': text }));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(
      field === 'package'
        ? /^slices\/mypkg\.yaml:1:10: package: must be string \(schema slices\.schema\.json\)$/
        : new RegExp(`^slices/mypkg\\.yaml${re.source}`),
    );
  });

  // chisel.yaml: [field, a replacement applied to the shipped file, expected]
  const chisel: Array<[string, [RegExp, string], RegExp]> = [
    ['format', [/^format: v3$/m, 'format: 3'], /^chisel\.yaml:4:9: format: must be one of "v1", "v2", "v3"/],
    [
      'maintenance',
      [/^maintenance:\n(?: .*\n|\n)*?(?=archives:)/m, 'maintenance: soon\n\n'],
      /^chisel\.yaml:\d+:14: maintenance: must be object/,
    ],
    ['a date', [/standard: 2025-08-09/, 'standard: 9th August'], /^chisel\.yaml:7:13: maintenance\.standard: does not match/],
    ['archives', [/^archives:\n/m, 'archives: []\nx:\n'], /^chisel\.yaml:\d+:11: archives: must be object/],
    [
      'version',
      [/version: "13"\n {4}suites: \[trixie,/, 'version: [13]\n    suites: [trixie,'],
      /^chisel\.yaml:\d+:14: archives\.debian\.version: must be string or number/,
    ],
    ['suites', [/suites: \[trixie, trixie-updates\]/, 'suites: trixie'], /^chisel\.yaml:\d+:13: archives\.debian\.suites: must be array/],
    [
      'empty suites',
      [/suites: \[trixie, trixie-updates\]/, 'suites: []'],
      /^chisel\.yaml:\d+:13: archives\.debian\.suites: must NOT have fewer than 1 items/,
    ],
    [
      'components',
      [/components: \[main\]\n {4}priority: 10/, 'components: 5\n    priority: 10'],
      /^chisel\.yaml:\d+:17: archives\.debian\.components: must be array/,
    ],
    ['priority', [/priority: 10/, 'priority: high'], /^chisel\.yaml:\d+:15: archives\.debian\.priority: must be integer/],
    ['priority (float)', [/priority: 10/, 'priority: 1.5'], /archives\.debian\.priority: must be integer/],
    ['default', [/priority: 10/, 'priority: 10\n    default: "yes"'], /archives\.debian\.default: must be boolean/],
    ['pro', [/priority: 10/, 'priority: 10\n    pro: [fips]'], /archives\.debian\.pro: must be string/],
    ['url', [/priority: 10/, 'priority: 10\n    url: ftp://example.org/debian'], /archives\.debian\.url: does not match/],
    [
      'public-keys (archive)',
      [/public-keys: \[debian-security-12, debian-security-13\]/, 'public-keys: debian-security-12'],
      /archives\.debian-security\.public-keys: must be array/,
    ],
    ['key id', [/id: "?[0-9A-F]{16}"?/, 'id: 12'], /public-keys\.debian-archive-12\.id: must be string/],
    ['key armor', [/armor: \|\n(?: {6}.*\n|\n)*/, 'armor: [x]\n'], /public-keys\.debian-archive-12\.armor: must be string/],
    ['sets', [/$/, 'sets: [a]\n'], /sets: must be object/],
    ['a set', [/$/, 'sets:\n  base: libc6_libs\n'], /sets\.base: must be array/],
  ];
  it.each(chisel)('chisel.yaml: %s', async (_field, [re, by], expected) => {
    const text = CHISEL.replace(re, by);
    expect(text).not.toBe(CHISEL);
    const errs = await errorsOf(release({}, text));
    expect(errs[0]).toMatch(expected);
    expect(errs[0]).toMatch(/^chisel\.yaml:\d+:\d+: /);
  });

  const image: Array<[string, string, RegExp]> = [
    ['slices', 'slices: base-files_base\n', /img\.yaml:1:9: slices: must be array/],
    ['release', 'release: 13\nslices: [a_b]\n', /img\.yaml:1:10: release: must be string/],
    ['archs', 'archs: amd64\nslices: [a_b]\n', /img\.yaml:1:8: archs: must be array/],
    ['nonroot', 'nonroot: yes\nslices: [a_b]\n', /img\.yaml:1:10: nonroot: must be boolean/],
    ['compression', 'compression: xz\nslices: [a_b]\n', /img\.yaml:1:14: compression: must be one of "gzip", "zstd", "none"/],
    ['source-date-epoch', 'source-date-epoch: "0"\nslices: [a_b]\n', /img\.yaml:1:20: source-date-epoch: must be integer/],
    ['config.entrypoint', 'slices: [a_b]\nconfig:\n  entrypoint: /bin/sh\n', /img\.yaml:3:15: config\.entrypoint: must be array/],
    ['config.env', 'slices: [a_b]\nconfig:\n  env: {A: [1]}\n', /img\.yaml:3:12: config\.env\.A: must be string or number/],
    ['config.ports', 'slices: [a_b]\nconfig:\n  ports: [http]\n', /img\.yaml:3:11: config\.ports\.0: does not match/],
    ['files', 'slices: [a_b]\nfiles: {src: a, dest: /a}\n', /img\.yaml:2:8: files: must be array/],
    [
      'files.mode',
      'slices: [a_b]\nfiles:\n  - {src: a, dest: /a, mode: 999}\n',
      /img\.yaml:3:30: files\.0\.mode: mode "999" is not an octal mode; write it like 0755/,
    ],
    ['outputs', 'slices: [a_b]\noutputs: out.tar\n', /img\.yaml:2:10: outputs: must be object/],
    [
      'unknown field',
      'slices: [a_b]\nsclices: [a_b]\n',
      /^img\.yaml:2:1: sclices: unknown field; remove it or check its spelling \(schema image\.schema\.json\)$/,
    ],
  ];
  it.each(image)('image file: %s', (_field, text, re) => {
    const file = path.join(tmp, 'img.yaml');
    let err: unknown;
    try {
      parseImageFile(file, text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChiselErrors);
    expect((err as ChiselErrors).errors[0]!.toString().replace(tmp + path.sep, '')).toMatch(re);
  });

  it('image file: an octal mode written 0755 is 0o755, not 755 (YAML 1.2 reads 0755 as decimal)', () => {
    const img = parseImageFile(
      path.join(tmp, 'img.yaml'),
      'slices: [a_b]\nfiles:\n  - {src: a, dest: /a, mode: 0755}\n  - {src: b, dest: /b, mode: "0644"}\n  - {src: c, dest: /c, mode: 0o700}\n',
    );
    expect(img.files.map((f) => f.mode)).toEqual([0o755, 0o644, 0o700]);
  });
});

describe('image file loader', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['an alias bomb', `slices: [a_b]\nlabels:\n${laughs(12, '  ')}`, /img\.yaml:4:12: YAML aliases \(\*name\) expand to too much data/],
    [
      '10,000 nested flow sequences',
      `slices: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`,
      /img\.yaml:1:\d+: YAML nesting is too deep to parse/,
    ],
    ['duplicate keys', 'slices: [a_b]\nslices: [c_d]\n', /img\.yaml:2:1: duplicate key "slices" \(first at line 1, column 1\)/],
    ['tabs', 'slices:\n\t- a_b\n', /img\.yaml:2:1: YAML syntax error: Tabs are not allowed/],
    ['a NUL escape', 'slices: [a_b]\nconfig:\n  cmd: ["a\\0b"]\n', /img\.yaml:3:9: string contains a NUL character/],
    ['a raw NUL', 'slices: [a_b]\ntag: a\0\n', /img\.yaml:2:7: control character U\+0000 \(NUL\)/],
  ];
  it.each(bad)('%s', (_name, text, re) => {
    let err: unknown;
    try {
      parseImageFile(path.join(tmp, 'img.yaml'), text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChiselErrors);
    expect((err as ChiselErrors).errors[0]!.toString().replace(tmp + path.sep, '')).toMatch(re);
  });

  it('loadImageFile refuses a huge file, a non-UTF-8 file and a FIFO with the file name', async () => {
    const big = path.join(tmp, 'big.yaml');
    writeFileSync(big, `slices: [a_b]\n# ${'x'.repeat(5 * 1024 * 1024)}\n`);
    await expect(loadImageFile(big).catch((e: ChiselError) => e.toString())).resolves.toMatch(/big\.yaml: file is larger than 4 MiB/);
    const latin = path.join(tmp, 'latin.yaml');
    writeFileSync(latin, Buffer.from('slices: [a_b]\ntag: caf\xe9\n', 'latin1'));
    await expect(loadImageFile(latin).catch((e: ChiselError) => e.toString())).resolves.toMatch(
      /latin\.yaml:2:9: file is not valid UTF-8: byte 0xe9/,
    );
    const fifo = path.join(tmp, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    await expect(loadImageFile(fifo).catch((e: ChiselError) => e.toString())).resolves.toMatch(/fifo\.yaml: is a FIFO, not a regular file/);
  });
});

describe('UTF-8 validation', () => {
  it('firstInvalidUtf8 agrees with TextDecoder on valid and invalid sequences', () => {
    const cases = ['', 'abc', 'é', '€', '𝄞', '\ufffd', 'a\u{10ffff}'].map((s) => Buffer.from(s));
    for (const b of cases) expect(firstInvalidUtf8(b)).toBe(b.length);
    const invalid: Array<[number[], number]> = [
      [[0x61, 0xff], 1],
      [[0xc0, 0x80], 0], // overlong
      [[0xe0, 0x80, 0x80], 0], // overlong
      [[0xed, 0xa0, 0x80], 0], // surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // > U+10FFFF
      [[0x61, 0xe2, 0x82], 1], // truncated
      [[0x80], 0],
    ];
    for (const [bytes, at] of invalid) {
      expect(firstInvalidUtf8(Buffer.from(bytes))).toBe(at);
      expect(() => decodeUtf8('f.yaml', Buffer.from(bytes))).toThrow(/not valid UTF-8/);
    }
  });
});
