// The fast path of slice definition files (compiler/yaml/fast.ts) must
// give exactly what the full parser gives — the same package, slices, paths
// and source positions — on every file it accepts, and must hand the file to
// the full parser whenever it cannot vouch for it. (test/fuzz.test.ts checks
// the same on random and mutated files.)

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Format } from '../compiler/release/model.js';
import { parseSliceFast, parseSliceFile, parseSliceFull } from '../compiler/release/slices.js';
import type { ChiselError } from '../compiler/util/errors.js';

const ROOT = path.resolve(__dirname, '..');
const CORPUS = path.resolve(ROOT, '../shared/corpus/chisel-releases');
const FILE = '/r/slices/mypkg.yaml';

const ser = (p: unknown) => JSON.stringify(p, (_k, v: unknown) => (v instanceof Map ? [...v] : v));

function releases(): Array<{ dir: string; format: Format }> {
  const dirs = [
    ...readdirSync(CORPUS)
      .filter((d) => d.startsWith('ubuntu-'))
      .map((d) => path.join(CORPUS, d)),
    ...readdirSync(path.join(ROOT, 'slices')).map((d) => path.join(ROOT, 'slices', d)),
  ];
  return dirs.map((dir) => ({ dir, format: /^format: (v\d)$/m.exec(readFileSync(path.join(dir, 'chisel.yaml'), 'utf8'))![1] as Format }));
}

describe('fast path of slice files', () => {
  it("gives the full parser's package, positions included, for every file of chisel-releases and of our releases", () => {
    let files = 0;
    let fast = 0;
    for (const { dir, format } of releases()) {
      const sliceDir = path.join(dir, 'slices');
      for (const f of readdirSync(sliceDir, { recursive: true }) as string[]) {
        if (!f.endsWith('.yaml')) continue;
        const file = path.join(sliceDir, f);
        const text = readFileSync(file, 'utf8');
        const errors: ChiselError[] = [];
        const full = parseSliceFull(file, text, format, errors);
        expect(errors, file).toEqual([]);
        const quick = parseSliceFast(file, text, format);
        files++;
        if (!quick) continue;
        fast++;
        expect(ser(quick), file).toBe(ser(full));
      }
    }
    expect(files).toBeGreaterThan(3500);
    // Nearly every real file takes the fast path (the rest use tags, anchors or multi-line flow lists).
    expect(fast / files).toBeGreaterThan(0.97);
  });

  const base = 'package: mypkg\nslices:\n  bins:\n    contents:\n';
  // Valid files the fast path must accept, with the positions and modes the full parser gives.
  const accepted: Array<[string, string]> = [
    ['block style', `${base}      /usr/bin/a:\n      /usr/bin/b: {mode: 0755}\n`],
    ['flow style on one line', `${base}      /usr/bin/a: {copy: /usr/bin/b, mode: 0o644 }\n`],
    ['a comment after a mode', `${base}      /usr/bin/a:\n        mode: 0640 # rw-r-----\n`],
    ['quoted keys', `package: mypkg\nslices:\n  "bins":\n    contents:\n      '/usr/bin/a':\n      "/usr/bin/b": {}\n`],
    ['a value equal to the next key', `package: mypkg\nslices:\n  bins:\n    hint: contents\n    contents:\n      /a:\n`],
    ['explicit nulls', `${base}      /usr/bin/a: ~\n      /usr/bin/b: null\n      /usr/bin/c:\n`],
    ['an escaped tab in a string', `${base}      /usr/bin/a: {text: "a\\tb"}\n`],
    ['a BOM', `\ufeffpackage: mypkg\nslices:\n  bins:\n    contents:\n      /a:\n`],
    ['a BOM before a key on line 1', `\ufeff{package: mypkg, slices: {bins: {contents: {/a: }}}}\n`],
    ['unicode in a hint', `package: mypkg\nslices:\n  bins:\n    hint: Größe\n    contents:\n      /é:\n`],
    ['a ! in a comment line', `package: mypkg\nslices:\n  # find -path '*test*' ! -path '*src*'\n  bins:\n    contents:\n      /a:\n`],
    [
      'a ! on a # line of a block scalar',
      `package: mypkg\nslices:\n  bins:\n    contents:\n      /a:\n    mutate: |\n      # not !tagged\n      x = 1\n`,
    ],
  ];
  it.each(accepted)('takes %s', (_name, text) => {
    const quick = parseSliceFast(FILE, text, 'v3');
    expect(quick).toBeDefined();
    const errors: ChiselError[] = [];
    expect(ser(quick)).toBe(ser(parseSliceFull(FILE, text, 'v3', errors)));
    expect(errors).toEqual([]);
  });

  // Files the fast path hands to the full parser: valid ones it cannot vouch for, and every invalid one.
  const declined: Array<[string, string, boolean]> = [
    ['an anchor and alias', `package: mypkg\nslices:\n  bins:\n    contents:\n      /a: &x {mode: 0755}\n      /b: *x\n`, true],
    ['a tag', `${base}      /usr/bin/a: {text: !!str 12}\n`, true],
    ['a tag at the start of a line', `${base}      /usr/bin/a:\n        text:\n          !!str 12\n`, true],
    ['a ! after a comment on a content line', `${base}      /usr/bin/a: # really!\n`, true],
    ['a %YAML directive', `%YAML 1.2\n---\n${base}      /a:\n`, true],
    ['CRLF line ends', `${base}      /a:\n`.replace(/\n/g, '\r\n'), true],
    ['a flow map over two lines', `package: mypkg\nslices:\n  bins:\n    essential: {\n      mypkg_libs: }\n  libs:\n`, true],
    ['an escaped NUL', `${base}      /a: {text: "x\\0y"}\n`, true],
    ['a merge key of an inline map', `${base}      /a: {<<: {text: hi}, mutable: true}\n`, true],
    ['a merge key of an alias', `x: &t {text: hi}\n${base}      /a: {<<: *t}\n`, true],
    ['a warning (text: ~)', `${base}      /a: {text: ~}\n`, true],
    ['a second document', `${base}      /a:\n---\nfoo: 1\n`, true],
    ['an empty key', `{package: mypkg, slices: {: null, config: null}}\n`, false],
    ['a key of digits', `package: mypkg\nslices:\n  bins:\n    contents:\n      /a:\n  "123":\n`, false],
    ['a duplicate key', `${base}      /a:\n      /a:\n`, false],
    ['a YAML syntax error', `${base}      /a: {copy: \n`, false],
    ['a schema error', `${base}      /a: {mode: rwx}\n`, false],
    ['a collection as a key', `${base}      ? [a]\n      :\n`, false],
    ['a path that is not clean', `${base}      /a/../b:\n`, false],
  ];
  it.each(declined)('hands %s to the full parser', (_name, text, valid) => {
    expect(parseSliceFast(FILE, text, 'v3')).toBeUndefined();
    const errors: ChiselError[] = [];
    const viaFile = parseSliceFile(FILE, text, 'v3', errors);
    expect(errors.length === 0, errors.map((e) => e.message).join('; ')).toBe(valid);
    expect(viaFile !== undefined || !valid).toBe(true);
    if (!valid) expect(errors.every((e) => (e.location?.line ?? 0) >= 1)).toBe(true);
  });
});
