// Release loading and validation: a table of invalid inputs with the expected
// message (and position), the real chisel-releases corpus, mutations of it,
// and our own Debian releases.

import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRelease, resolveReleaseDir } from '../compiler/release/index.js';
import { globMatch, globsOverlap } from '../compiler/release/glob.js';
import { ChiselErrors } from '../compiler/util/errors.js';
import { tempDir } from './support/cutenv.js';
import { runCli } from './support/proc.js';

const CORPUS = path.resolve(__dirname, '../../shared/corpus/chisel-releases');
const UBUNTU_KEY = readFileSync(path.join(CORPUS, 'ubuntu-24.04/chisel.yaml'), 'utf8').match(
  /ubuntu-archive-key-2018:\n(\s+id: .*\n\s+armor: \|\n(?:\s{6}.*\n|\n)+)/,
)![1]!;

function release(chisel: string, slices: Record<string, string>): string {
  const dir = tempDir('chisel-ts-rel-');
  mkdirSync(path.join(dir, 'slices'));
  writeFileSync(path.join(dir, 'chisel.yaml'), chisel);
  for (const [f, t] of Object.entries(slices)) {
    mkdirSync(path.dirname(path.join(dir, 'slices', f)), { recursive: true });
    writeFileSync(path.join(dir, 'slices', f), t);
  }
  return dir;
}

const chisel = (
  format = 'v1',
  archives = `  ubuntu:\n    version: 24.04\n    components: [main]\n    suites: [noble]\n    public-keys: [ubuntu-archive-key-2018]\n`,
) => `format: ${format}\narchives:\n${archives}public-keys:\n  ubuntu-archive-key-2018:\n${UBUNTU_KEY}`;

async function errorsOf(dir: string): Promise<string[]> {
  try {
    await loadRelease(dir);
    return [];
  } catch (e) {
    if (e instanceof ChiselErrors) return e.errors.map((x) => x.toString());
    throw e;
  }
}

interface Case {
  name: string;
  format?: string;
  archives?: string;
  chisel?: string;
  slices: Record<string, string>;
  /** Expected messages (each a regexp matched against "file:line:col: message" lines); empty = valid. */
  errors: RegExp[];
}

const pkg = (name: string, body: string) => ({ [`${name}.yaml`]: `package: ${name}\n${body}` });

const cases: Case[] = [
  { name: 'a minimal valid release', slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /usr/bin/x:\n'), errors: [] },
  {
    name: 'package field must match the file name',
    slices: { 'mypkg.yaml': 'package: other\n' },
    errors: [/mypkg\.yaml:1:\d+: package "other" in mypkg\.yaml must match the filename "mypkg"/],
  },
  { name: 'invalid file name', slices: { 'My_Pkg.yaml': 'package: My_Pkg\n' }, errors: [/invalid slice definition filename/] },
  {
    name: 'invalid slice name',
    slices: pkg('mypkg', 'slices:\n  Bad_Name:\n    contents:\n      /x:\n'),
    errors: [/mypkg\.yaml:3:3: invalid slice name "Bad_Name"/],
  },
  {
    name: 'relative path',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      usr/bin/x:\n'),
    errors: [/mypkg\.yaml:5:7: slice mypkg_bins: path usr\/bin\/x must be absolute/],
  },
  {
    name: 'unclean path',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /usr//bin/x:\n      /usr/./y:\n      /a/../b:\n'),
    errors: [/double slash/, /"\." or "\.\." component/, /"\." or "\.\." component/],
  },
  {
    name: 'two kinds on one path',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /x: {text: a, symlink: /y}\n'),
    errors: [/path \/x has more than one kind \(text, symlink\)/],
  },
  {
    name: 'make needs a trailing slash',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /x: {make: true}\n'),
    errors: [/path \/x must end in "\/" for "make"/],
  },
  {
    name: 'glob with options it does not accept',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /x/*: {mode: 0755}\n'),
    errors: [/is a glob and accepts only "until" and "arch"/],
  },
  {
    name: 'generate path must be /dir/**',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /var/lib/*/x/**: {generate: manifest}\n'),
    errors: [/invalid generate path/],
  },
  {
    name: 'generate accepts no option',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /var/lib/chisel/**: {generate: manifest, until: mutate}\n'),
    errors: [/invalid options for generate: until/],
  },
  {
    name: 'mutable only on text and copied files',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /x: {symlink: /y, mutable: true}\n'),
    errors: [/cannot be mutable/],
  },
  {
    name: 'bad arch',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /x: {arch: [amd64, vax]}\n'),
    errors: [/invalid arch "vax"/],
  },
  {
    name: 'bad until',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /x: {until: never}\n'),
    errors: [/mypkg\.yaml:5:\d+: .*must be one of "mutate"/],
  },
  {
    name: 'hint too long',
    slices: pkg('mypkg', `slices:\n  bins:\n    hint: ${'x'.repeat(41)}\n    contents:\n      /x:\n`),
    errors: [/hint is longer than 40 bytes/],
  },
  {
    name: 'prefer own package',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /x: {prefer: mypkg}\n'),
    errors: [/cannot "prefer" its own package/],
  },
  {
    name: 'wrong type',
    slices: pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /x: {mode: "rw"}\n'),
    errors: [/mypkg\.yaml:5:\d+: .*must be integer/],
  },
  {
    name: 'YAML syntax error with position',
    slices: { 'mypkg.yaml': 'package: mypkg\nslices:\n  bins: [\n' },
    errors: [/mypkg\.yaml:\d+:\d+: YAML syntax error/],
  },
  {
    name: 'duplicate keys',
    slices: { 'mypkg.yaml': 'package: mypkg\nslices:\n  bins:\n    contents:\n      /x:\n      /x:\n' },
    errors: [/mypkg\.yaml:\d+:\d+: duplicate key/],
  },
  {
    name: 'essential: self reference',
    slices: pkg('mypkg', 'slices:\n  bins:\n    essential: [mypkg_bins]\n'),
    errors: [/slice mypkg_bins cannot list itself as essential/],
  },
  {
    name: 'essential: listed twice',
    slices: pkg('mypkg', 'slices:\n  bins:\n    essential: [mypkg_libs, mypkg_libs]\n  libs:\n'),
    errors: [/essential slice mypkg_libs is listed twice/],
  },
  {
    name: 'essential: package and slice level',
    slices: pkg('mypkg', 'essential: [mypkg_libs]\nslices:\n  bins:\n    essential: [mypkg_libs]\n  libs:\n'),
    errors: [/already listed by the package/],
  },
  {
    name: 'essential: missing slice',
    slices: pkg('mypkg', 'slices:\n  bins:\n    essential: [other_libs]\n'),
    errors: [/refers to missing slice other_libs/],
  },
  {
    name: 'essential: loop',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    essential: [pkgb_two]\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    essential: [pkga_one]\n'),
    },
    errors: [/essential loop: pkga_one -> pkgb_two -> pkga_one/],
  },
  {
    name: 'v3 needs essential maps',
    format: 'v3',
    archives: `  ubuntu:\n    version: 24.04\n    components: [main]\n    suites: [noble]\n    public-keys: [ubuntu-archive-key-2018]\n`,
    slices: pkg('mypkg', 'slices:\n  bins:\n    essential: [mypkg_libs]\n  libs:\n'),
    errors: [/essential expects a map in format v3/],
  },
  {
    name: 'v3 forbids v3-essential',
    format: 'v3',
    slices: pkg('mypkg', 'slices:\n  bins:\n    v3-essential: {mypkg_libs: }\n  libs:\n'),
    errors: [/v3-essential is not allowed in format v3/],
  },
  {
    name: 'v1 accepts v3-essential with arch',
    slices: pkg(
      'mypkg',
      'slices:\n  bins:\n    essential: [mypkg_libs]\n    v3-essential: {mypkg_more: {arch: [amd64]}}\n  libs:\n  more:\n',
    ),
    errors: [],
  },
  {
    name: 'conflict: same path copied by two packages',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      /x:\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    contents:\n      /x:\n'),
    },
    errors: [/slices pkga_one and pkgb_two conflict on \/x/],
  },
  {
    name: 'identical text in two packages is fine',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      /x: {text: hi}\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    contents:\n      /x: {text: hi}\n'),
    },
    errors: [],
  },
  {
    name: 'different text in one package conflicts',
    slices: pkg('pkga', 'slices:\n  one:\n    contents:\n      /x: {text: hi}\n  two:\n    contents:\n      /x: {text: ho}\n'),
    errors: [/slices pkga_one and pkga_two conflict on \/x/],
  },
  {
    name: 'glob overlapping a path of another package',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      /usr/lib/*.so:\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    contents:\n      /usr/lib/libz.so:\n'),
    },
    errors: [/conflict on \/usr\/lib\/\*\.so and \/usr\/lib\/libz\.so/],
  },
  {
    name: 'glob overlapping a glob of another package',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      /usr/lib/**:\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    contents:\n      /usr/*/libz*:\n'),
    },
    errors: [/conflict on \/usr\/lib\/\*\* and \/usr\/\*\/libz\*/],
  },
  {
    name: 'disjoint globs do not conflict',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      /usr/lib/*.so:\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    contents:\n      /usr/lib/*.a:\n'),
    },
    errors: [],
  },
  {
    name: 'glob overlapping a text path of the same package',
    slices: pkg('pkga', 'slices:\n  one:\n    contents:\n      /etc/**:\n  two:\n    contents:\n      /etc/x: {text: y}\n'),
    errors: [/slices pkga_one and pkga_two conflict on \/etc\/\*\* and \/etc\/x/],
  },
  {
    name: 'prefer chain',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      /x: {prefer: pkgb}\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    contents:\n      /x: {prefer: pkgc}\n'),
      ...pkg('pkgc', 'slices:\n  three:\n    contents:\n      /x:\n'),
    },
    errors: [],
  },
  {
    name: 'prefer target must hold the path',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      /x: {prefer: pkgb}\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    contents:\n      /y:\n'),
    },
    errors: [/prefers package pkgb for \/x, but pkgb has no slice with that path/],
  },
  {
    name: 'prefer loop',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      /x: {prefer: pkgb}\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    contents:\n      /x: {prefer: pkga}\n'),
    },
    errors: [/prefer loop for \/x/],
  },
  {
    name: 'two packages prefer the same target',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      /x: {prefer: pkgc}\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    contents:\n      /x: {prefer: pkgc}\n'),
      ...pkg('pkgc', 'slices:\n  three:\n    contents:\n      /x:\n'),
    },
    errors: [/packages pkga and pkgb both prefer pkgc for \/x/],
  },
  {
    name: 'one package prefers two targets',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      /x: {prefer: pkgb}\n  two:\n    contents:\n      /x: {prefer: pkgc}\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    contents:\n      /x:\n'),
      ...pkg('pkgc', 'slices:\n  three:\n    contents:\n      /x:\n'),
    },
    errors: [/package pkga prefers both pkgb and pkgc for \/x/],
  },
  {
    name: 'holders not connected by prefer',
    slices: {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      /x: {prefer: pkgb}\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    contents:\n      /x:\n'),
      ...pkg('pkgc', 'slices:\n  three:\n    contents:\n      /x:\n'),
    },
    errors: [/packages pkgb, pkgc hold \/x but are not connected by "prefer"/],
  },
  { name: 'pinned archive must exist', slices: pkg('mypkg', 'archive: nope\nslices:\n  bins:\n'), errors: [/pins archive "nope"/] },
  {
    name: 'v2 forbids default',
    format: 'v2',
    archives: `  ubuntu:\n    version: 24.04\n    default: true\n    components: [main]\n    suites: [noble]\n    public-keys: [ubuntu-archive-key-2018]\n`,
    slices: {},
    errors: [/"default" is only allowed in format v1/],
  },
  {
    name: 'several archives need priorities',
    archives: `  ubuntu:\n    version: 24.04\n    components: [main]\n    suites: [noble]\n    public-keys: [ubuntu-archive-key-2018]\n  other:\n    version: 24.04\n    components: [main]\n    suites: [noble]\n    public-keys: [ubuntu-archive-key-2018]\n`,
    slices: {},
    errors: [/several archives and no priorities/],
  },
  {
    name: 'duplicate priorities',
    archives: `  ubuntu:\n    version: 24.04\n    priority: 5\n    components: [main]\n    suites: [noble]\n    public-keys: [ubuntu-archive-key-2018]\n  ubuntu-two:\n    version: 24.04\n    priority: 5\n    components: [main]\n    suites: [noble]\n    public-keys: [ubuntu-archive-key-2018]\n`,
    slices: {},
    errors: [/same priority 5/],
  },
  {
    name: 'undefined public key',
    archives: `  ubuntu:\n    version: 24.04\n    components: [main]\n    suites: [noble]\n    public-keys: [missing-key]\n`,
    slices: {},
    errors: [/refers to undefined public key "missing-key"/],
  },
  {
    name: 'key id must match the armored key',
    chisel: chisel().replace('871920D1991BC93C', '0000000000000000'),
    slices: {},
    errors: [
      /chisel\.yaml:\d+:\d+: public key ubuntu-archive-key-2018: id 0000000000000000 does not match the armored key's id 871920D1991BC93C/,
    ],
  },
  {
    name: 'unknown format',
    chisel: chisel().replace('format: v1', 'format: v9'),
    slices: {},
    errors: [/chisel\.yaml:1:9: format: must be one of "v1", "v2", "v3"/],
  },
  {
    name: 'sets: unknown member and loop',
    chisel: `${chisel()}sets:\n  base: [mypkg_bins, nope_x1y, more]\n  more: [base]\n`,
    slices: pkg('mypkg', 'slices:\n  bins:\n'),
    errors: [/set base refers to unknown slice nope_x1y/, /set loop/],
  },
];

describe('release validation rules', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const dir = release(c.chisel ?? chisel(c.format, c.archives), c.slices);
      const got = await errorsOf(dir);
      expect(got.length, got.join('\n')).toBe(c.errors.length);
      for (const re of c.errors)
        expect(
          got.some((g) => re.test(g)),
          `${re} in\n${got.join('\n')}`,
        ).toBe(true);
    });
  }

  it('reports every error of a release in one run, sorted by position', async () => {
    const dir = release(chisel(), {
      ...pkg('pkga', 'slices:\n  one:\n    contents:\n      rel:\n      /x: {make: true}\n'),
      ...pkg('pkgb', 'slices:\n  two:\n    essential: [pkgb_two]\n'),
    });
    const got = await errorsOf(dir);
    expect(got.length).toBe(3);
    expect(got[0]).toMatch(/pkga\.yaml:5:7: .*must be absolute/);
  });
});

describe('what Chisel accepts but is likely a mistake: a warning, not an error', () => {
  const bins = (line: string) => pkg('mypkg', `slices:\n  bins:\n    contents:\n      ${line}\n`);
  // [name, slice files, the warning ("file:line:col: message")]
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['essential: null', pkg('mypkg', 'essential:\nslices: {}\n'), /mypkg\.yaml:2:1: package mypkg: essential is empty \(null\)/],
    [
      'an unknown arch in an essential entry',
      pkg('mypkg', 'slices:\n  bins:\n    v3-essential:\n      mypkg_libs: {arch: vax}\n  libs: {}\n'),
      /mypkg\.yaml:5:26: slice mypkg_bins: essential mypkg_libs: unknown arch "vax", so this entry never applies/,
    ],
    [
      'until: ""',
      bins('/x: {until: ""}'),
      /mypkg\.yaml:5:19: slice mypkg_bins: path \/x has an empty "until", which Chisel reads as no "until"/,
    ],
    [
      'a mode above 07777',
      bins('/x: {text: a, mode: 0177777}'),
      /mypkg\.yaml:5:27: .*has mode 0177777, with bits above 07777: only 07777 is used/,
    ],
    [
      'a mode on a symlink',
      bins('/x: {symlink: /y, mode: 0644}'),
      /mypkg\.yaml:5:31: .*has a mode, which a symlink does not have: ignored/,
    ],
    [
      'generate: foo',
      bins('/var/lib/x/**: {generate: foo}'),
      /mypkg\.yaml:5:33: .*has "generate: foo", but only "manifest" can be generated/,
    ],
    ['text: ~', bins('/x: {text: ~}'), /mypkg\.yaml:5:18: .*has "text: ~" \(null\), which is no text: the path is copied/],
    ['text: 123', bins('/x: {text: 123}'), /mypkg\.yaml:5:18: .*has a text that is not a string: read as "123"; quote it/],
    [
      'copy from a relative path',
      bins('/x: {copy: y/z}'),
      /mypkg\.yaml:5:18: .*copies from "y\/z", which must be absolute: no package holds such a path/,
    ],
    ['copy from a glob', bins('/x: {copy: /y*}'), /mypkg\.yaml:5:18: .*copies from "\/y\*", which is a glob/],
    [
      'a second document',
      { 'mypkg.yaml': 'package: mypkg\n---\n: : [\n' },
      /mypkg\.yaml:2:1: a second YAML document \(after "---"\) is ignored/,
    ],
  ];
  it.each(cases)('%s', async (_name, slices, re) => {
    const r = await loadRelease(release(chisel(), slices));
    expect((r.warnings ?? []).map((w) => w.toString())).toEqual([expect.stringMatching(re)]);
  });

  it('a warning keeps the reading Chisel gives the path', async () => {
    const r = await loadRelease(release(chisel(), bins('/x: {text: 123, mode: 0177777, until: ""}')));
    const x = r.packages.get('mypkg')!.slices.get('bins')!.contents.get('/x')!;
    expect(x).toMatchObject({ kind: 'text', info: '123', mode: 0o7777 });
    expect(x.until).toBeUndefined();
    const copied = await loadRelease(release(chisel(), bins('/x: {text: ~, mode: 0644}')));
    expect(copied.packages.get('mypkg')!.slices.get('bins')!.contents.get('/x')!).toMatchObject({ kind: 'copy', mode: 0o644 });
  });

  it('validate prints each warning with file:line:column and succeeds; the parse cache does not hide them', async () => {
    const dir = release(chisel(), bins('/x: {until: ""}'));
    const cache = tempDir('chisel-ts-cache-');
    for (let run = 0; run < 2; run++) {
      const r = await runCli(['validate', '--release', dir, '--cache-dir', cache]);
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/mypkg\.yaml:5:19: warning: slice mypkg_bins: path \/x has an empty "until"/);
      expect(r.out).toMatch(/is valid: 1 packages, 1 slices \(1 warning\)/);
    }
    const json = JSON.parse((await runCli(['validate', '--release', dir, '--json'])).out) as { valid: boolean; warnings: unknown[] };
    expect(json.valid).toBe(true);
    expect(json.warnings).toEqual([expect.objectContaining({ line: 5, col: 19, code: 'path' })]);
  });
});

describe('merge keys (<<), as go-yaml v3 applies them', () => {
  it('the map\'s own keys win, then the merged maps in order; a quoted "<<" is a plain key', async () => {
    const body =
      'x: &t {text: hi}\ny: &u {text: bye, mode: 0600}\nslices:\n  bins:\n    contents:\n' +
      '      /a: {<<: [*t, *u], mutable: true}\n      /b: {<<: *t, text: over}\n      /c: {"<<": *t}\n      /d: {<<: *u}\n';
    const r = await loadRelease(release(chisel(), pkg('mypkg', body)));
    const c = r.packages.get('mypkg')!.slices.get('bins')!.contents;
    expect(c.get('/a')).toMatchObject({ kind: 'text', info: 'hi', mode: 0o600, mutable: true });
    expect(c.get('/b')).toMatchObject({ kind: 'text', info: 'over' });
    expect(c.get('/c')).toMatchObject({ kind: 'copy' });
    // The mode is read from the merged map's source text (0600 is octal).
    expect(c.get('/d')).toMatchObject({ kind: 'text', info: 'bye', mode: 0o600 });
  });

  it('a merge of something that is not a map is an error', async () => {
    const errs = await errorsOf(release(chisel(), pkg('mypkg', 'slices:\n  bins:\n    contents:\n      /a: {<<: 1}\n')));
    expect(errs).toEqual([expect.stringMatching(/mypkg\.yaml:1:1: cannot read YAML: Merge sources must be maps/)]);
  });
});

describe('glob language', () => {
  const table: Array<[string, string, boolean]> = [
    ['/d/*', '/d/file', true],
    ['/d/*', '/d/sub/', false],
    ['/d/*', '/d/sub/x', false],
    ['/d/**', '/d/', true],
    ['/d/**', '/d/sub/x', true],
    ['/d/?', '/d/a', true],
    ['/d/?', '/d/ab', false],
    ['/usr/lib/*-linux-*/libc.so.*', '/usr/lib/x86_64-linux-gnu/libc.so.6', true],
  ];
  for (const [p, s, want] of table) it(`${p} ${want ? 'matches' : 'does not match'} ${s}`, () => expect(globMatch(p, s)).toBe(want));
  const overlaps: Array<[string, string, boolean]> = [
    ['/a/*', '/a/b*', true],
    ['/a/*.so', '/a/*.a', false],
    ['/a/**', '/a/b/c/*', true],
    ['/a/*/c', '/a/b/*', true],
    ['/a/*', '/a/b/c', false],
    ['/a/?x', '/a/y?', true],
    ['/a/??', '/a/???', false],
  ];
  for (const [a, b, want] of overlaps)
    it(`${a} ${want ? 'overlaps' : 'does not overlap'} ${b}`, () => expect(globsOverlap(a, b)).toBe(want));
});

describe('compatibility with the chisel-releases corpus', () => {
  for (const v of ['20.04', '22.04', '24.04', '25.04', '25.10', '26.04', '26.10']) {
    it(`ubuntu-${v} loads with zero errors`, async () => {
      const r = await loadRelease(path.join(CORPUS, `ubuntu-${v}`));
      expect(r.packages.size).toBeGreaterThan(90);
    });
  }
  it('a release loaded from the parse cache equals the release parsed afresh, positions included', async () => {
    const cacheDir = tempDir('chisel-ts-parse-cache-');
    const fresh = await loadRelease(path.join(CORPUS, 'ubuntu-24.04'), { cacheDir });
    const cached = await loadRelease(path.join(CORPUS, 'ubuntu-24.04'), { cacheDir });
    expect(cached).toEqual(fresh);
    const slice = cached.packages.get('libc6')!.slices.get('libs')!;
    expect(slice.pos?.file).toBe(path.join(CORPUS, 'ubuntu-24.04', 'slices', 'libc6.yaml'));
    expect([...slice.contents.values()][0]!.pos).toMatchObject({
      file: slice.pos!.file,
      line: expect.any(Number),
      col: expect.any(Number),
    });
  });

  for (const name of ['debian-13', 'debian-12']) {
    it(`our ${name} loads with zero errors`, async () => {
      const r = await loadRelease(resolveReleaseDir(name));
      expect(r.sets?.get('python3')?.length).toBeGreaterThan(0);
    });
  }

  const mutate = (edit: (dir: string) => void): string => {
    const dir = tempDir('chisel-ts-mut-');
    cpSync(path.join(CORPUS, 'ubuntu-24.04'), dir, { recursive: true });
    edit(dir);
    return dir;
  };
  const append = (dir: string, file: string, text: string) =>
    writeFileSync(path.join(dir, 'slices', file), readFileSync(path.join(dir, 'slices', file), 'utf8') + text);

  it('rejects a copied path duplicated into another package', async () => {
    const dir = mutate((d) => append(d, 'zlib1g.yaml', '  dup:\n    contents:\n      /usr/lib/*-linux-*/libc.so.6:\n'));
    expect((await errorsOf(dir)).join('\n')).toMatch(
      /libc6\.yaml:\d+:\d+: slices libc6_libs and zlib1g_dup conflict on \/usr\/lib\/\*-linux-\*\/libc\.so\.\* and \/usr\/lib\/\*-linux-\*\/libc\.so\.6/,
    );
  });
  it('rejects an essential loop', async () => {
    const dir = mutate((d) => {
      append(d, 'base-files.yaml', '  loopy:\n    essential: [zlib1g_loopy]\n');
      append(d, 'zlib1g.yaml', '  loopy:\n    essential: [base-files_loopy]\n');
    });
    expect((await errorsOf(dir)).join('\n')).toMatch(/essential loop: base-files_loopy -> zlib1g_loopy -> base-files_loopy/);
  });
  it('rejects an overlapping glob', async () => {
    const dir = mutate((d) => append(d, 'zlib1g.yaml', '  greedy:\n    contents:\n      /usr/lib/*-linux-*/libc*:\n'));
    expect((await errorsOf(dir)).join('\n')).toMatch(
      /libc6_libs and zlib1g_greedy conflict on \/usr\/lib\/\*-linux-\*\/libc\.so\.\* and \/usr\/lib\/\*-linux-\*\/libc\*/,
    );
  });
  it('rejects a bad key id', async () => {
    const dir = mutate((d) =>
      writeFileSync(
        path.join(d, 'chisel.yaml'),
        readFileSync(path.join(d, 'chisel.yaml'), 'utf8').replace('id: "871920D1991BC93C"', 'id: "871920D1991BC93D"'),
      ),
    );
    expect((await errorsOf(dir)).join('\n')).toMatch(
      /chisel\.yaml:\d+:\d+: public key ubuntu-archive-key-2018: id 871920D1991BC93D does not match the armored key's id 871920D1991BC93C/,
    );
  });
});
