// Overlays (`extends:` in chisel.yaml): a release on the hermetic test archive
// extended by one that adds a slice file and replaces a package file, then
// validate, find, info, cut, lock (drift in either layer), scaffold -o into
// the overlay; chains; a table of errors, each at the right layer's
// file:line:column; the parse cache across layers; an overlay of debian-13.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRelease } from '../compiler/release/index.js';
import { releaseInputFiles } from '../compiler/release/layers.js';
import { ChiselErrors } from '../compiler/util/errors.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { runCli } from './support/proc.js';
import { TestArchive, type TestPackage } from './support/testarchive.js';

const hello: TestPackage = {
  name: 'hello',
  version: '1.0',
  files: [
    { path: '/usr/bin/hello', content: '#!/bin/sh\necho hello\n', mode: 0o755 },
    { path: '/usr/share/hello/greeting', content: 'hi\n' },
    { path: '/usr/share/doc/hello/copyright', content: 'Files: *\nLicense: MIT\n' },
  ],
};
const base: TestPackage = { name: 'base', version: '3', files: [{ path: '/etc/base.conf', content: 'x=1\n' }] };
const extra: TestPackage = {
  name: 'extra',
  version: '2',
  control: { Depends: 'base' },
  files: [
    { path: '/usr/bin/extra', content: '#!/bin/sh\necho extra\n', mode: 0o755 },
    { path: '/usr/share/doc/extra/copyright', content: 'Files: *\nLicense: MIT\n' },
  ],
};

const HELLO_BASE =
  'package: hello\nslices:\n  bins:\n    essential: [base_conf]\n    contents:\n      /usr/bin/hello:\n  copyright:\n    contents:\n      /usr/share/doc/hello/copyright:\n';
// The overlay's hello: bins also ships the greeting, and a new slice.
const HELLO_OVERLAY =
  'package: hello\nslices:\n  bins:\n    essential: [base_conf]\n    contents:\n      /usr/bin/hello:\n      /usr/share/hello/greeting:\n  note:\n    contents:\n      /etc/hello-note: {text: "from the overlay\\n"}\n';
const EXTRA = 'package: extra\nslices:\n  bins:\n    essential: [base_conf]\n    contents:\n      /usr/bin/extra:\n';

let archive: TestArchive;

beforeAll(async () => {
  archive = await TestArchive.create({ suites: { stable: { main: [hello, base, extra] } } });
});
afterAll(async () => {
  await archive?.close();
});

/** A base release on the test archive (its own temporary directory). */
function baseRelease(extraChisel = ''): string {
  return writeRelease(
    archive,
    { hello: HELLO_BASE, base: 'package: base\nslices:\n  conf:\n    contents:\n      /etc/base.conf:\n' },
    { extra: `sets:\n  small: [hello_bins]\n  both: [hello_bins, base_conf]\n${extraChisel}` },
  );
}

/** An overlay directory: chisel.yaml and slices/<name>.yaml files. */
function overlay(chisel: string, slices: Record<string, string> = {}, dir = tempDir('chisel-ts-overlay-')): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'chisel.yaml'), chisel);
  if (Object.keys(slices).length) mkdirSync(path.join(dir, 'slices'), { recursive: true });
  for (const [name, text] of Object.entries(slices)) writeFileSync(path.join(dir, 'slices', `${name}.yaml`), text);
  return dir;
}

async function errorsOf(dir: string, cacheDir?: string): Promise<string[]> {
  try {
    await loadRelease(dir, cacheDir ? { cacheDir } : {});
    return [];
  } catch (e) {
    if (e instanceof ChiselErrors) return e.errors.map((x) => x.toString());
    throw e;
  }
}

const cli = (args: string[]) => runCli(args, { env: { XDG_CACHE_HOME: tempDir() } });

describe('an overlay of a release on the test archive', () => {
  it('adds a slice file and replaces a package file; validate, find, info, cut and lock see the combined release', async () => {
    const b = baseRelease();
    // A relative path is taken from the overlay's directory, whatever the working directory.
    const o = tempDir('chisel-ts-overlay-');
    overlay(`extends: ${path.relative(o, b)}\n`, { hello: HELLO_OVERLAY, extra: EXTRA }, o);
    const r = await loadRelease(o);
    expect([...r.packages.keys()].sort()).toEqual(['base', 'extra', 'hello']);
    expect(r.packages.get('hello')!.file).toBe(path.join(o, 'slices', 'hello.yaml'));
    expect(r.packages.get('base')!.file).toBe(path.join(b, 'slices', 'base.yaml'));
    expect([...r.packages.get('hello')!.slices.keys()]).toEqual(['bins', 'note']); // the base's copyright slice is gone with its file
    expect(r.format).toBe('v1'); // inherited
    expect([...r.archives.keys()]).toEqual(['test']);
    expect(r.layers?.map((l) => l.label)).toEqual([path.relative(o, b), '']);
    expect(releaseInputFiles(r, ['hello', 'base']).map((f) => f.name)).toEqual(
      ['chisel.yaml', `${path.relative(o, b)}/chisel.yaml`, `${path.relative(o, b)}/slices/base.yaml`, 'slices/hello.yaml'].sort(),
    );

    const cache = tempDir('chisel-ts-cache-');
    const common = ['--release', o, '--arch', 'amd64', '--cache-dir', cache];
    const v = await cli(['validate', '--release', o]);
    expect(v.code, v.err).toBe(0);
    expect(v.out).toMatch(/is valid: 3 packages, 4 slices/);
    const find = await cli(['find', '--release', o, '/usr/share/hello/greeting']);
    expect(find.code, find.err).toBe(0);
    expect(find.out).toMatch(/hello_bins/);
    const info = await cli(['info', '--release', o, 'hello', 'base_conf']);
    expect(info.code, info.err).toBe(0);
    expect(info.out).toContain('/usr/share/hello/greeting');
    expect(info.out).toContain('note:');
    expect(info.out).toContain('/etc/base.conf');

    const d = tempDir('chisel-ts-overlay-out-');
    const root = path.join(d, 'root');
    const c = await cli(['cut', ...common, '--root', root, 'hello_bins', 'hello_note', 'extra_bins']);
    expect(c.code, c.err).toBe(0);
    expect(readFileSync(path.join(root, 'usr/share/hello/greeting'), 'utf8')).toBe('hi\n');
    expect(readFileSync(path.join(root, 'etc/hello-note'), 'utf8')).toBe('from the overlay\n');
    expect(readFileSync(path.join(root, 'etc/base.conf'), 'utf8')).toBe('x=1\n'); // the base's slice, as an essential
    expect(existsSync(path.join(root, 'usr/bin/extra'))).toBe(true);
    // A set of the base, with the overlay's hello_bins.
    const s = await cli(['cut', ...common, '--root', path.join(d, 'set'), 'small']);
    expect(s.code, s.err).toBe(0);
    expect(existsSync(path.join(d, 'set/usr/share/hello/greeting'))).toBe(true);

    const lockfile = path.join(d, 'chisel-ts.lock.json');
    const l = await cli(['lock', ...common, '--lockfile', lockfile, 'hello_bins', 'extra_bins']);
    expect(l.code, l.err).toBe(0);
    const lock = JSON.parse(readFileSync(lockfile, 'utf8'));
    expect(lock.inputs.release.files).toBe(5); // two chisel.yaml, hello and extra of the overlay, base of the base
    const check = () => cli(['lock', ...common, '--lockfile', lockfile, '--check', 'hello_bins', 'extra_bins']);
    const ok = await check();
    expect(ok.code, ok.err).toBe(0);
    const locked = await cli([
      'cut',
      ...common,
      '--lockfile',
      lockfile,
      '--locked',
      '--root',
      path.join(d, 'locked'),
      'hello_bins',
      'extra_bins',
    ]);
    expect(locked.code, locked.err).toBe(0);

    // A change in either layer is drift: the base's slice file, the base's chisel.yaml, the overlay's file.
    const drift = async (file: string, edit: (t: string) => string) => {
      const before = readFileSync(file, 'utf8');
      writeFileSync(file, edit(before));
      try {
        const r = await check();
        expect(r.code, `${file}: ${r.err}`).toBe(1);
        expect(r.err).toMatch(/input: release chisel-ts-overlay-\w+ definitions changed/);
      } finally {
        writeFileSync(file, before);
      }
    };
    await drift(path.join(b, 'slices', 'base.yaml'), (t) => `${t}# edited\n`);
    await drift(path.join(b, 'chisel.yaml'), (t) => `${t}# edited\n`);
    await drift(path.join(o, 'slices', 'extra.yaml'), (t) => `${t}# edited\n`);
    await drift(path.join(o, 'chisel.yaml'), (t) => `${t}# edited\n`);
    // A base file the overlay replaced is not an input.
    writeFileSync(path.join(b, 'slices', 'hello.yaml'), `${HELLO_BASE}# edited\n`);
    expect((await check()).code).toBe(0);
    expect((await check()).code).toBe(0);
  });

  it('the merge rule: entries of archives, public keys and sets by name, maintenance whole, the rest inherited', async () => {
    const b = baseRelease();
    const o = overlay(
      `extends: ${b}
maintenance:
  standard: 2021-01-01
  end-of-life: 2099-01-01
sets:
  small: [base_conf]
  extra: [extra_bins]
`,
      { extra: EXTRA },
    );
    const r = await loadRelease(o);
    expect(r.maintenance).toEqual({ standard: '2021-01-01', endOfLife: '2099-01-01' });
    expect(Object.fromEntries(r.sets!)).toEqual({
      small: ['base_conf'],
      both: ['hello_bins', 'base_conf'],
      extra: ['extra_bins'],
    });
    expect(r.archives.get('test')!.pos!.file).toBe(path.join(b, 'chisel.yaml'));
    expect(r.publicKeys.has('test-key')).toBe(true);
    // An overlay without slices/ changes chisel.yaml only.
    const only = overlay(`extends: ${b}\nsets:\n  one: [base_conf]\n`);
    expect((await loadRelease(only)).packages.size).toBe(2);
  });

  it('chains: an overlay of an overlay, each layer replacing a file of the one below', async () => {
    const b = baseRelease();
    const mid = overlay(`extends: ${b}\n`, { extra: EXTRA, hello: HELLO_OVERLAY });
    const topDir = tempDir('chisel-ts-top-');
    const extraTop = EXTRA.replace('/usr/bin/extra:', '/usr/bin/extra:\n      /usr/share/doc/extra/copyright:');
    const top = overlay(`extends: ${path.relative(topDir, mid)}\n`, { extra: extraTop }, topDir);
    const r = await loadRelease(top);
    expect(r.layers!.map((l) => l.dir)).toEqual([b, mid, top]);
    expect(r.packages.get('extra')!.file).toBe(path.join(top, 'slices', 'extra.yaml'));
    expect(r.packages.get('hello')!.file).toBe(path.join(mid, 'slices', 'hello.yaml'));
    expect(r.packages.get('base')!.file).toBe(path.join(b, 'slices', 'base.yaml'));
    const d = tempDir('chisel-ts-chain-out-');
    const c = await cli(['cut', '--release', top, '--arch', 'amd64', '--cache-dir', tempDir(), '--root', d, 'extra_bins', 'hello_note']);
    expect(c.code, c.err).toBe(0);
    expect(readFileSync(path.join(d, 'usr/share/doc/extra/copyright'), 'utf8')).toContain('MIT');
    expect(existsSync(path.join(d, 'etc/hello-note'))).toBe(true);
  });

  it('the parse cache: a cached overlay equals a fresh load, and an edit of the base chisel.yaml is seen', async () => {
    const b = baseRelease();
    const o = overlay(`extends: ${b}\n`, { extra: EXTRA });
    const cacheDir = tempDir('chisel-ts-parse-');
    const fresh = await loadRelease(o);
    await loadRelease(o, { cacheDir });
    const cached = await loadRelease(o, { cacheDir });
    expect(cached).toEqual(fresh);
    writeFileSync(
      path.join(b, 'chisel.yaml'),
      readFileSync(path.join(b, 'chisel.yaml'), 'utf8').replace('end-of-life: 2100-01-01', 'end-of-life: 2101-01-01'),
    );
    expect((await loadRelease(o, { cacheDir })).maintenance!.endOfLife).toBe('2101-01-01');
    writeFileSync(
      path.join(b, 'chisel.yaml'),
      readFileSync(path.join(b, 'chisel.yaml'), 'utf8').replace('small: [hello_bins]', 'small: [nope_none]'),
    );
    expect(await errorsOf(o, cacheDir)).toEqual([
      expect.stringMatching(new RegExp(`^${b}/chisel.yaml:\\d+:\\d+: .*set small refers to unknown slice nope_none`)),
    ]);
  });

  it('scaffold -o DIR writes into the overlay; a package of the base gets a replacement file there', async () => {
    // format v3: scaffold writes essentials as maps
    const b = writeRelease(
      archive,
      {
        hello: HELLO_BASE.replace('essential: [base_conf]', 'essential:\n      base_conf:'),
        base: 'package: base\nslices:\n  conf:\n    contents:\n      /etc/base.conf:\n',
      },
      { format: 'v3' },
    );
    // The README's order: the set that names the new package's slice first, then scaffold writes the file.
    const o = overlay(`extends: ${b}\nsets:\n  mine: [extra_bins]\n`);
    const cache = tempDir('chisel-ts-scaffold-');
    const other = await cli(['scaffold', 'hello', '--release', o, '--arch', 'amd64', '--cache-dir', cache]);
    expect(other.code).not.toBe(0); // only the package being scaffolded may be named ahead of its file
    expect(other.err).toContain('set mine refers to unknown slice extra_bins');
    const s = await cli(['scaffold', 'extra', '--release', o, '--arch', 'amd64', '--cache-dir', cache, '-o', o]);
    expect(s.code, s.err).toBe(0);
    expect((await loadRelease(o)).sets!.get('mine')).toEqual(['extra_bins']);
    const written = readFileSync(path.join(o, 'slices', 'extra.yaml'), 'utf8');
    expect(written).toMatch(/base_conf/); // its Depends, from the base's slices
    const again = await cli(['scaffold', 'extra', '--release', o, '--arch', 'amd64', '--cache-dir', cache, '-o', o]);
    expect(again.code, again.err).toBe(2);
    expect(again.err).toMatch(/extra\.yaml exists; not overwriting it/);
    const h = await cli(['scaffold', 'hello', '--release', o, '--arch', 'amd64', '--cache-dir', cache, '-o', o]);
    expect(h.code, h.err).toBe(0);
    expect(h.err).toContain(`hello has slices in ${path.join(b, 'slices', 'hello.yaml')}, a base of ${o}`);
    expect(readFileSync(path.join(b, 'slices', 'hello.yaml'), 'utf8')).toContain('      base_conf:'); // the base is untouched
    const r = await loadRelease(o);
    expect(r.packages.get('hello')!.file).toBe(path.join(o, 'slices', 'hello.yaml'));
    expect(r.packages.get('extra')!.file).toBe(path.join(o, 'slices', 'extra.yaml'));
  });
});

describe('overlay errors, each at the right file:line:column', () => {
  interface Case {
    name: string;
    /** The overlay's chisel.yaml; BASE is replaced by the base's path. */
    chisel: string;
    slices?: Record<string, string>;
    /** Lines added to the base's chisel.yaml. */
    baseChisel?: string;
    /** Expected errors; "BASE/" and "OVERLAY/" stand for the two directories. */
    errors: Array<string | RegExp>;
  }
  const cases: Case[] = [
    {
      name: 'an unknown shipped name',
      chisel: 'extends: debian-99\n',
      errors: [
        'OVERLAY/chisel.yaml:1:10: extends "debian-99": no release of that name is shipped with chisel-ts (a directory is written as a path: ./debian-99)',
      ],
    },
    {
      name: 'a path without chisel.yaml',
      chisel: 'extends: ./nowhere\n',
      errors: [
        'OVERLAY/chisel.yaml:1:10: extends "./nowhere": OVERLAY/nowhere has no chisel.yaml (the path is taken from the directory of this chisel.yaml)',
      ],
    },
    {
      name: 'extends itself',
      chisel: 'extends: .\n',
      errors: ['OVERLAY/chisel.yaml:1:10: extends loop: . -> .; a release cannot extend itself or a release that extends it'],
    },
    {
      name: 'not a string',
      chisel: 'extends: [BASE]\n',
      errors: ['OVERLAY/chisel.yaml:1:10: extends: must be string (schema chisel.schema.json)'],
    },
    {
      name: 'no format and no extends',
      chisel: 'archives: {}\n',
      errors: ['OVERLAY/chisel.yaml:1:1: document: missing required field "format" (schema chisel.schema.json)'],
    },
    {
      name: 'another format than the base',
      chisel: 'extends: BASE\nformat: v3\n',
      errors: [
        'OVERLAY/chisel.yaml:2:9: format v3 differs from format v1 of the release it extends (BASE); an overlay has its base\'s format: leave "format" out',
      ],
    },
    {
      name: "an archive of the overlay with the base's priority, and an undefined key",
      chisel:
        'extends: BASE\narchives:\n  more:\n    version: "1"\n    suites: [stable]\n    components: [main]\n    priority: 5\n    public-keys: [nokey]\n',
      baseChisel: '',
      errors: [
        // sorted by file: the overlay's directory comes first here
        'OVERLAY/chisel.yaml:8:19: archive more refers to undefined public key "nokey"',
        /^BASE\/chisel\.yaml:\d+:3: archive test has no priority, but other archives do: every archive needs one$/,
      ],
    },
    {
      name: "the overlay's package file drops a slice a base file needs (the error is in the base's file)",
      chisel: 'extends: BASE\n',
      slices: { base: 'package: base\nslices:\n  other:\n    contents:\n      /etc/other:\n' },
      errors: [
        /^BASE\/chisel\.yaml:\d+:\d+: set both refers to unknown slice base_conf$/,
        'BASE/slices/hello.yaml:3:3: slice hello_bins refers to missing slice base_conf',
      ],
    },
    {
      name: 'a syntax error in the base chisel.yaml',
      chisel: 'extends: BASE\n',
      baseChisel: 'sets: [\n',
      errors: [/^BASE\/chisel\.yaml:\d+:\d+: /],
    },
    {
      name: 'a conflict between a base slice and an overlay slice',
      chisel: 'extends: BASE\n',
      slices: { extra: 'package: extra\nslices:\n  bins:\n    contents:\n      /usr/bin/hello: {text: "x"}\n' },
      errors: ['BASE/slices/hello.yaml:6:7: slices extra_bins and hello_bins conflict on /usr/bin/hello (different definitions)'],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const b = baseRelease(c.baseChisel ?? '');
      const o = overlay(c.chisel.replaceAll('BASE', b), c.slices);
      const got = (await errorsOf(o)).map((e) => e.replaceAll(o, 'OVERLAY').replaceAll(b, 'BASE'));
      expect(got.length, got.join('\n')).toBe(c.errors.length);
      c.errors.forEach((want, i) => {
        if (want instanceof RegExp) expect(got[i]).toMatch(want);
        else expect(got[i]).toBe(want);
      });
    });
  }
});

describe('extends loops', () => {
  it('a -> b -> a is an error at the chisel.yaml that closes the loop', async () => {
    const parent = tempDir('chisel-ts-loop-');
    const a = overlay('extends: ../b\n', {}, path.join(parent, 'a'));
    overlay('extends: ../a\n', {}, path.join(parent, 'b'));
    expect(await errorsOf(a)).toEqual([
      `${parent}/b/chisel.yaml:1:10: extends loop: . -> ../b -> .; a release cannot extend itself or a release that extends it`,
    ]);
  });
});

describe('an overlay of the shipped debian-13', () => {
  it('validates: a new package file, a replaced one, a new set; every error is located', async () => {
    // pv: a package debian-13 has no slices of.
    expect(existsSync(path.resolve(__dirname, '..', 'slices', 'debian-13', 'slices', 'pv.yaml'))).toBe(false);
    const o = overlay('extends: debian-13\nsets:\n  pv: [pv_bins, base-files_base]\n', {
      pv: 'package: pv\nslices:\n  bins:\n    essential:\n      libc6_libs:\n    contents:\n      /usr/bin/pv:\n',
      netbase: 'package: netbase\nslices:\n  data:\n    contents:\n      /etc/protocols:\n      /etc/services:\n',
    });
    const r = await loadRelease(o);
    const shipped = await loadRelease(path.resolve(__dirname, '..', 'slices', 'debian-13'));
    expect(r.packages.size).toBe(shipped.packages.size + 1);
    expect(r.packages.get('netbase')!.file).toBe(path.join(o, 'slices', 'netbase.yaml'));
    expect(r.packages.get('libc6')!.file).toBe(shipped.packages.get('libc6')!.file);
    expect(r.layers!.map((l) => l.label)).toEqual(['debian-13', '']);
    expect(r.sets!.get('static')).toEqual(shipped.sets!.get('static'));
    expect(r.archives).toEqual(shipped.archives);
    expect(releaseInputFiles(r, ['libc6']).map((f) => f.name)).toEqual([
      'chisel.yaml',
      'debian-13/chisel.yaml',
      'debian-13/slices/libc6.yaml',
    ]);
    // A slice the shipped release's files need, taken away by the overlay: located in the shipped file.
    writeFileSync(
      path.join(o, 'slices', 'libc6.yaml'),
      'package: libc6\nslices:\n  copyright:\n    contents:\n      /usr/share/doc/libc6/copyright:\n',
    );
    const errors = await errorsOf(o);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toMatch(/^\/\S+\.yaml:\d+:\d+: .*libc6_[a-z]+/);
    expect(errors.some((e) => e.startsWith(path.join(path.resolve(__dirname, '..', 'slices', 'debian-13'), 'slices')))).toBe(true);
  });
});
