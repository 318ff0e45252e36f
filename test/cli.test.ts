// The release commands as a user runs them: the built CLI in a subprocess
// (validate / info / find / version / help), exit codes, --json, positions in
// errors, and the parse cache staying correct when a file changes.

import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { tempDir } from './support/cutenv.js';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'chisel-ts.js');
const CORPUS = path.resolve(__dirname, '../../shared/corpus/chisel-releases');
const U2404 = path.join(CORPUS, 'ubuntu-24.04');

function run(args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  const cache = env.XDG_CACHE_HOME ?? tempDir('chisel-ts-cli-cache-');
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: cache, CI: 'true', ...env },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('validate', () => {
  const releases = ['ubuntu-20.04', 'ubuntu-22.04', 'ubuntu-24.04', 'ubuntu-25.04', 'ubuntu-25.10', 'ubuntu-26.04', 'ubuntu-26.10'];
  it.each(releases)('exits 0 for the corpus release %s', (name) => {
    const r = run(['validate', '--release', path.join(CORPUS, name)]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/is valid: \d+ packages, \d+ slices/);
  });

  it('exits 0 for the shipped releases, by name, and defaults to debian-13', () => {
    for (const name of ['debian-12', 'debian-13']) expect(run(['validate', '--release', name]).code).toBe(0);
    expect(run(['validate']).out).toContain(`${path.sep}debian-13 is valid`);
  });

  it('reports every error with file:line:col, exit 1, and --json', () => {
    const dir = tempDir('chisel-ts-cli-rel-');
    cpSync(U2404, dir, { recursive: true });
    // A YAML syntax error in one file, a schema error in another.
    writeFileSync(path.join(dir, 'slices', 'zlib1g.yaml'), 'package: zlib1g\nslices:\n  libs:\n    contents:\n      /usr/lib/x: [\n');
    const hello = path.join(dir, 'slices', 'hello.yaml');
    writeFileSync(hello, 'package: hello\nslices:\n  bins:\n    contents:\n      /usr/bin/hello: {mode: "rw", copy: 3}\n');
    const r = run(['validate', '--release', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/slices\/zlib1g\.yaml:\d+:\d+: YAML syntax error/);
    expect(r.err).toMatch(/slices\/hello\.yaml:5:\d+: .*(mode|copy).*\(schema slices\.schema\.json\)/);
    expect(r.err).toMatch(/\d+ errors in release/);
    const j = run(['validate', '--release', dir, '--json']);
    expect(j.code).toBe(1);
    const doc = JSON.parse(j.out) as { valid: boolean; errors: Array<{ file: string; line: number; col: number; message: string }> };
    expect(doc.valid).toBe(false);
    expect(doc.errors.length).toBeGreaterThanOrEqual(2);
    for (const e of doc.errors) {
      expect(e.file).toMatch(/\.yaml$/);
      expect(e.line).toBeGreaterThan(0);
      expect(e.col).toBeGreaterThan(0);
    }
  });

  it('a warm parse cache gives the same answer, and an edited file is parsed again', () => {
    const dir = tempDir('chisel-ts-cli-rel-');
    cpSync(U2404, dir, { recursive: true });
    const cache = tempDir('chisel-ts-cli-cache-');
    const env = { XDG_CACHE_HOME: cache };
    const cold = run(['validate', '--release', dir, '--json'], env);
    const warm = run(['validate', '--release', dir, '--json'], env);
    expect(cold.code).toBe(0);
    expect(warm.out).toBe(cold.out);
    // Break a cached file: the cache must not hide the error.
    const f = path.join(dir, 'slices', 'libc6.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('package: libc6', 'package: libc7'));
    const broken = run(['validate', '--release', dir], env);
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(/libc6\.yaml:\d+:\d+: package "libc7" in libc6\.yaml must match the filename "libc6"/);
    // Conflicts are release-wide and found even when every file is cached.
    writeFileSync(f, readFileSync(f, 'utf8').replace('package: libc7', 'package: libc6'));
    expect(run(['validate', '--release', dir], env).code).toBe(0);
    const z = path.join(dir, 'slices', 'zlib1g.yaml');
    writeFileSync(z, `${readFileSync(z, 'utf8').trimEnd()}\n  dup:\n    contents:\n      /usr/share/doc/libc6/copyright:\n`);
    const conflict = run(['validate', '--release', dir], env);
    expect(conflict.code).toBe(1);
    expect(conflict.err).toMatch(/conflict on \/usr\/share\/doc\/libc6\/copyright/);
    // Now every file is cached, and the checks that passed before must not be taken as passed for these files.
    const again = run(['validate', '--release', dir], env);
    expect(again.code).toBe(1);
    expect(again.err).toBe(conflict.err);
  });

  it('checks key ids, and a bad key id is never cached', () => {
    const dir = tempDir('chisel-ts-cli-rel-');
    cpSync(U2404, dir, { recursive: true });
    const chisel = path.join(dir, 'chisel.yaml');
    const good = readFileSync(chisel, 'utf8');
    writeFileSync(chisel, good.replace('871920D1991BC93C', '871920D1991BC93D'));
    const cache = tempDir('chisel-ts-cli-cache-');
    for (let i = 0; i < 2; i++) {
      const r = run(['validate', '--release', dir], { XDG_CACHE_HOME: cache });
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /chisel\.yaml:\d+:\d+: public key ubuntu-archive-key-2018: id 871920D1991BC93D does not match the armored key's id 871920D1991BC93C/,
      );
    }
    // A key that cannot be decoded.
    writeFileSync(
      chisel,
      good.replace(
        /(ubuntu-archive-key-2018:\n.*\n {4}armor: \|\n)(?: {6}.*\n|\n)+/,
        '$1      -----BEGIN PGP PUBLIC KEY BLOCK-----\n\n      AAAA\n      -----END PGP PUBLIC KEY BLOCK-----\n',
      ),
    );
    const r = run(['validate', '--release', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /chisel\.yaml:\d+:\d+: public key ubuntu-archive-key-2018: (cannot decode the armored key|the armored block holds no public key packet)/,
    );
  });

  it('names an unknown release and how to fix it', () => {
    const r = run(['validate', '--release', 'no-such-release']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/unknown release "no-such-release"/);
    expect(r.err).toMatch(/shipped releases: .*debian-13/);
  });
});

describe('info and find', () => {
  it('info prints a slice as YAML (and --json)', () => {
    const r = run(['info', '--release', U2404, 'libc6_libs']);
    expect(r.code).toBe(0);
    const doc = parseYaml(r.out) as {
      package: string;
      slices: Record<string, { contents: Record<string, unknown>; essential?: string[] }>;
    };
    expect(doc.package).toBe('libc6');
    expect(Object.keys(doc.slices)).toEqual(['libs']);
    expect(doc.slices.libs!.contents).toHaveProperty(['/usr/lib/*-linux-*/libc.so.*']);
    const j = run(['info', '--release', U2404, 'libc6_libs', '--json']);
    expect(j.code).toBe(0);
    expect(JSON.stringify(JSON.parse(j.out))).toContain('libc.so');
  });

  it('info of a whole package lists all its slices; an unknown slice fails', () => {
    const r = run(['info', '--release', U2404, 'libc6']);
    expect(r.code).toBe(0);
    expect(Object.keys((parseYaml(r.out) as { slices: object }).slices)).toEqual(expect.arrayContaining(['libs', 'config']));
    const bad = run(['info', '--release', U2404, 'libc6_nope']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/libc6_nope/);
  });

  it('find lists python3.12_core for "python3.12"', () => {
    const r = run(['find', '--release', U2404, 'python3.12']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n').map((l) => l.split(/\s+/)[0])).toContain('python3.12_core');
  });

  it('find by a shipped path names the slice', () => {
    const r = run(['find', '--release', U2404, '/usr/bin/python3.12']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/python3\.12-minimal_bins +\/usr\/bin\/python3\.12/);
  });
});

describe('version and help', () => {
  it('prints the package version', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(run(['version']).out.trim()).toBe(pkg.version);
    for (const flag of ['--version', '-V']) {
      const r = run([flag]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`${pkg.version}\n`);
    }
  });
  it('help lists every command; an unknown command exits 2', () => {
    const h = run(['help']);
    expect(h.code).toBe(0);
    for (const c of ['validate', 'info', 'find', 'cut', 'cache', 'keygen', 'outdated', 'check']) expect(h.out).toContain(c);
    expect(h.out).toMatch(/--debug +show JavaScript stacks/);
    expect(run(['frobnicate']).code).toBe(2);
    // --debug goes with any command, before or after it
    expect(run(['--debug', 'version']).out.trim()).toBe(run(['version', '--debug']).out.trim());
  });
});
