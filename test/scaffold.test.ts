// chisel-ts scaffold: the sorting rules as tables; a package of the signed
// test archive scaffolded into a release that then validates and cuts; and
// xz-utils from the real Debian 13 archive, scaffolded next to our slices,
// cut and run in a chroot.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archIndependent, categoryOf, collapse, COLLAPSE_AT, dependencyNames, propose } from '../compiler/scaffold/propose.js';
import type { Release } from '../compiler/release/model.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { runCli } from './support/proc.js';
import { TestArchive } from './support/testarchive.js';

/** The CLI in a child process, without blocking this one (it serves the test archive). */
const cli = (args: string[]) => runCli(args);

describe("sorting a package's paths", () => {
  const cases: Array<[string, ReturnType<typeof categoryOf>]> = [
    ['/usr/bin/tool', 'bins'],
    ['/usr/sbin/toold', 'bins'],
    ['/bin/sh', 'bins'],
    ['/usr/libexec/tool/helper', 'bins'],
    ['/usr/lib/x86_64-linux-gnu/libtool.so.1.2', 'libs'],
    ['/lib/aarch64-linux-gnu/libc.so.6', 'libs'],
    ['/usr/lib/x86_64-linux-gnu/tool/plugin.so', 'libs'],
    ['/usr/lib/libfoo.so.3', 'libs'],
    ['/etc/tool.conf', 'config'],
    ['/usr/share/tool/data', 'data'],
    ['/usr/lib/python3/dist-packages/x.py', 'data'],
    ['/usr/share/doc/tool/copyright', 'copyright'],
    ['/usr/share/doc/tool/changelog.Debian.gz', undefined],
    ['/usr/share/doc/other/copyright', undefined],
    ['/usr/share/man/man1/tool.1.gz', undefined],
    ['/usr/share/lintian/overrides/tool', undefined],
    ['/usr/lib/systemd/system/tool.service', undefined],
    ['/etc/init.d/tool', undefined],
  ];
  it.each(cases)('%s -> %s', (p, want) => {
    expect(categoryOf('tool', p)).toBe(want);
  });

  it('sorts programs and plugins of a package directory under /usr/lib by mode and name', () => {
    expect(categoryOf('git', '/usr/lib/git-core/git-daemon', 0o755, 'file')).toBe('bins');
    expect(categoryOf('git', '/usr/lib/git-core/git-sh-setup', 0o644, 'file')).toBe('data');
    expect(categoryOf('apache2-bin', '/usr/lib/apache2/modules/mod_ssl.so', 0o644, 'file')).toBe('libs');
    expect(categoryOf('nginx', '/usr/lib/nginx/modules', 0o777, 'symlink')).toBe('data');
    expect(categoryOf('tool', '/usr/share/tool/run', 0o755, 'file')).toBe('data');
  });

  it.each([
    ['/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/*-linux-*/libc.so.6'],
    ['/lib/arm-linux-gnueabihf/ld-linux-armhf.so.3', '/lib/*-linux-*/ld-linux-armhf.so.3'],
    ['/usr/lib/s390x-linux-gnu/gconv/IBM1047.so', '/usr/lib/*-linux-*/gconv/IBM1047.so'],
    ['/usr/share/zoneinfo/UTC', '/usr/share/zoneinfo/UTC'],
  ])('%s is written %s', (p, want) => {
    expect(archIndependent(p)).toBe(want);
  });

  it.each([
    ['gcc-14-x86-64-linux-gnu', '/usr/libexec/gcc/x86_64-linux-gnu/14/cc1'],
    ['gcc-14-aarch64-linux-gnu', '/usr/libexec/gcc-cross/aarch64-linux-gnu/14/cc1'],
    ['libc6-arm64-cross', '/usr/aarch64-linux-gnu/lib/libc.so.6'],
    ['gcc-14-cross-base', '/usr/share/doc/gcc-14-cross-base/x86_64-linux-gnu/README'],
  ])('%s, named for a target, keeps the triplet of %s', (pkg, p) => {
    // on amd64 and on arm64 the two compilers' paths differ, so neither takes the other's (a *-linux-* glob would)
    expect(archIndependent(p, pkg)).toBe(p);
    expect(archIndependent('/usr/lib/jvm/java-21-openjdk-amd64/bin/java', pkg)).toBe('/usr/lib/jvm/java-21-openjdk-*/bin/java');
  });

  it('rewrites the triplet for the other packages', () => {
    expect(archIndependent('/usr/libexec/gcc/x86_64-linux-gnu/14/cc1', 'gcc-14')).toBe('/usr/libexec/gcc/*-linux-*/14/cc1');
    expect(archIndependent('/usr/lib/x86_64-linux-gnu/libc.so.6', 'libc6')).toBe('/usr/lib/*-linux-*/libc.so.6');
  });

  it('collapses a directory with many paths, never a top directory', () => {
    const many = Array.from({ length: COLLAPSE_AT }, (_, i) => `/usr/share/tool/f${i}`);
    expect(collapse([...many, '/usr/share/other/x'])).toEqual(['/usr/share/other/x', '/usr/share/tool/**']);
    expect(collapse(many.slice(1))).toEqual(many.slice(1).sort());
    const libs = Array.from({ length: COLLAPSE_AT }, (_, i) => `/usr/lib/*-linux-*/libx${i}.so.1`);
    expect(collapse(libs)).toEqual(libs.sort());
    const plugins = Array.from({ length: COLLAPSE_AT }, (_, i) => `/usr/lib/*-linux-*/gconv/m${i}.so`);
    expect(collapse(plugins)).toEqual(['/usr/lib/*-linux-*/gconv/**']);
    const etc = Array.from({ length: COLLAPSE_AT }, (_, i) => `/etc/tool/c${i}`);
    expect(collapse(etc)).toEqual(['/etc/tool/**']);
  });

  it("puts a link with its target when the target's slice already takes the link's (no loop, no dangling link)", () => {
    const release = { packages: new Map() } as unknown as Release;
    const p = propose({
      name: 'apt',
      version: '1',
      depends: [],
      release,
      entries: [
        { path: '/usr/lib/apt/methods/http', type: 'file', mode: 0o755 },
        { path: '/usr/lib/apt/methods/https', type: 'symlink', link: 'http' },
        { path: '/usr/lib/apt/methods/desc', type: 'file', mode: 0o644 },
        { path: '/usr/bin/apt-https', type: 'symlink', link: '../lib/apt/methods/desc' },
      ],
    });
    expect(p.slices.get('bins')).toEqual(['/usr/bin/apt-https', '/usr/lib/apt/methods/http', '/usr/lib/apt/methods/https']);
    expect(p.slices.get('data')).toEqual(['/usr/lib/apt/methods/desc']);
    expect(p.essentials.get('bins')).toEqual(['apt_data']); // bins' link into data: bins takes data
  });

  it('takes the first alternative of each dependency, without versions or arch qualifiers', () => {
    expect(dependencyNames(['libc6 (>= 2.34), libfoo1:any | libbar2, python3:any (>= 3.11~)', 'dpkg (>= 1.19)'])).toEqual([
      'libc6',
      'libfoo1',
      'python3',
      'dpkg',
    ]);
  });
});

describe('scaffold from the test archive', () => {
  let archive: TestArchive;
  beforeAll(async () => {
    const data = Array.from({ length: 9 }, (_, i) => ({ path: `/usr/share/tool/d${i}`, content: `d${i}`, mode: 0o644 }));
    archive = await TestArchive.create({
      suites: {
        stable: {
          main: [
            { name: 'libbase', version: '1.0', files: [{ path: '/usr/lib/x86_64-linux-gnu/libbase.so.1', content: 'base', mode: 0o644 }] },
            {
              name: 'tool',
              version: '2.1-1',
              control: { Depends: 'libbase (>= 1.0), missing-lib | other', 'Pre-Depends': 'libbase' },
              files: [
                { path: '/usr/bin/tool', content: '#!/bin/tool', mode: 0o755 },
                { path: '/usr/lib/x86_64-linux-gnu/libtool.so.1', content: 'lib', mode: 0o644 },
                { path: '/usr/lib/x86_64-linux-gnu/libtool.so', type: 'symlink', link: 'libtool.so.1' },
                { path: '/etc/tool.conf', content: 'conf', mode: 0o644 },
                ...data,
                {
                  path: '/usr/share/doc/tool/copyright',
                  content: 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n',
                  mode: 0o644,
                },
                { path: '/usr/share/doc/tool/changelog.Debian.gz', content: 'x', mode: 0o644 },
                { path: '/usr/share/man/man1/tool.1.gz', content: 'x', mode: 0o644 },
              ],
            },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await archive?.close();
  });

  it('proposes a slice file that validates and cuts', async () => {
    const release = writeRelease(
      archive,
      { libbase: 'package: libbase\nslices:\n  libs:\n    contents:\n      /usr/lib/*-linux-*/libbase.so.1:\n' },
      { format: 'v3' },
    );
    const cache = tempDir('chisel-ts-scaffold-cache-');
    const out = path.join(release, 'slices', 'tool.yaml');
    const r = await cli(['scaffold', 'tool', '--release', release, '--arch', 'amd64', '--cache-dir', cache, '-o', out]);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(`# Proposed by \`chisel-ts scaffold tool\` from tool 2.1-1.
# Review it: split big slices, drop what your image does not need, add
# mutate scripts or arch-specific paths where the package needs them.
# 2 paths left out (documentation, man pages, init scripts and the like).
package: tool

essential:
  tool_copyright:

slices:
  bins:
    essential:
      tool_libs:
      tool_config:
      tool_data:
    contents:
      /usr/bin/tool:

  libs:
    essential:
      tool_config:
      tool_data:
      libbase_libs:
    # depends on missing-lib: no slices for it in this release yet
    contents:
      /usr/lib/*-linux-*/libtool.so:
      /usr/lib/*-linux-*/libtool.so.1:

  config:
    contents:
      /etc/tool.conf:

  data:
    contents:
      /usr/share/tool/**:

  copyright:
    contents:
      /usr/share/doc/tool/copyright:
`);
    const v = await cli(['validate', '--release', release]);
    expect(v.code, v.err).toBe(0);
    const root = path.join(tempDir('chisel-ts-scaffold-root-'), 'root');
    const c = await cli(['cut', '--release', release, '--arch', 'amd64', '--cache-dir', cache, '--root', root, 'tool_bins']);
    expect(c.code, c.err).toBe(0);
    for (const p of [
      'usr/bin/tool',
      'usr/lib/x86_64-linux-gnu/libtool.so.1',
      'usr/lib/x86_64-linux-gnu/libbase.so.1',
      'etc/tool.conf',
      'usr/share/tool/d8',
      'usr/share/doc/tool/copyright',
    ]) {
      expect(existsSync(path.join(root, p)), p).toBe(true);
    }
    expect(existsSync(path.join(root, 'usr/share/man'))).toBe(false);
    // never overwrites
    const again = await cli(['scaffold', 'tool', '--release', release, '--arch', 'amd64', '--cache-dir', cache, '-o', out]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/tool\.yaml exists; not overwriting it/);
  });

  it('--list prints the paths; an unknown package is a clear error', async () => {
    const release = writeRelease(archive, {}, { format: 'v3' });
    const cache = tempDir('chisel-ts-scaffold-cache-');
    const l = await cli(['scaffold', 'tool', '--list', '--release', release, '--arch', 'amd64', '--cache-dir', cache]);
    expect(l.code, l.err).toBe(0);
    expect(l.out).toMatch(/^file {5}\/usr\/bin\/tool$/m);
    expect(l.out).toMatch(/^symlink {2}\/usr\/lib\/x86_64-linux-gnu\/libtool\.so$/m);
    const n = await cli(['scaffold', 'nosuch', '--release', release, '--arch', 'amd64', '--cache-dir', cache]);
    expect(n.code).not.toBe(0);
    expect(n.err).toMatch(/package nosuch not found for amd64/);
  });
});

describe('scaffold many packages (--out-dir)', () => {
  let archive: TestArchive;
  const lib = (name: string, arch: string, depends: string) => ({
    name,
    version: '1.0',
    arch,
    control: { Depends: depends },
    files: [
      {
        path: `/usr/lib/${arch === 'amd64' ? 'x86_64' : 'aarch64'}-linux-gnu/${name}.so.1`,
        content: name,
        mode: 0o644,
      },
    ],
  });
  const data = Array.from({ length: 9 }, (_, i) => ({ path: `/usr/share/tool/d${i}`, content: `d${i}`, mode: 0o644 }));
  const tool = (arch: string) => ({
    name: 'tool',
    version: '2.0',
    arch,
    control: { Depends: 'libbase (>= 1), debconf | debconf-2.0' },
    files: [
      { path: '/usr/bin/tool', content: 'tool', mode: 0o755 },
      ...(arch === 'amd64' ? [{ path: '/usr/lib64/tool-helper', content: 'x', mode: 0o644 }] : []),
      ...data,
    ],
  });
  beforeAll(async () => {
    archive = await TestArchive.create({
      archs: ['amd64', 'arm64'],
      suites: {
        stable: {
          main: [
            lib('libbase', 'amd64', 'libloop'),
            lib('libbase', 'arm64', 'libloop'),
            lib('libloop', 'amd64', 'libbase'),
            lib('libloop', 'arm64', 'libbase'),
            tool('amd64'),
            tool('arm64'),
            { name: 'tooldata', version: '1.0', arch: 'all', files: [{ path: '/usr/share/tool/extra', content: 'e', mode: 0o644 }] },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await archive?.close();
  });

  it('writes the dependency closure in order, merges archs, breaks the loop, and the files validate and cut on both archs', async () => {
    const release = writeRelease(archive, {}, { format: 'v3' });
    const cache = tempDir('chisel-ts-scaffold-batch-cache-');
    const out = path.join(release, 'slices');
    const r = await cli([
      'scaffold',
      '--release',
      release,
      '--arch',
      'amd64,arm64',
      '--cache-dir',
      cache,
      '--deps',
      '--out-dir',
      out,
      'tool',
      'tooldata',
      'nosuch',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/wrote 4 slice files .*\(in dependency order: (libloop libbase|libbase libloop) tool tooldata\)/);
    expect(r.err).toMatch(/not in the archives for amd64, arm64: nosuch/);
    const read = (p: string) => readFileSync(path.join(out, `${p}.yaml`), 'utf8');
    const t = read('tool');
    expect(t).toMatch(/^ {4}essential:\n {6}tool_data:\n {6}libbase_libs:\n/m);
    expect(t).toMatch(/^ {4}# depends on debconf: left out \(maintainer scripts only\)$/m);
    expect(t).toMatch(/^ {6}\/usr\/lib64\/tool-helper: \{arch: \[amd64\]\}$/m);
    // tooldata has a path in /usr/share/tool: no /usr/share/tool/** in tool
    expect(t).not.toMatch(/\/usr\/share\/tool\/\*\*/);
    expect(t).toMatch(/^ {6}\/usr\/share\/tool\/d8:$/m);
    expect(read('libbase') + read('libloop')).toMatch(/# depends on lib(base|loop): left out \(a loop: /);
    const v = await cli(['validate', '--release', release]);
    expect(v.code, v.err).toBe(0);
    for (const arch of ['amd64', 'arm64']) {
      const root = path.join(tempDir('chisel-ts-scaffold-batch-root-'), 'root');
      const c = await cli([
        'cut',
        '--release',
        release,
        '--arch',
        arch,
        '--cache-dir',
        cache,
        '--root',
        root,
        'tool_bins',
        'tooldata_data',
      ]);
      expect(c.code, c.err).toBe(0);
      const triplet = arch === 'amd64' ? 'x86_64' : 'aarch64';
      for (const p of [
        'usr/bin/tool',
        `usr/lib/${triplet}-linux-gnu/libbase.so.1`,
        `usr/lib/${triplet}-linux-gnu/libloop.so.1`,
        'usr/share/tool/d0',
        'usr/share/tool/extra',
      ])
        expect(existsSync(path.join(root, p)), `${arch} ${p}`).toBe(true);
      expect(existsSync(path.join(root, 'usr/lib64/tool-helper'))).toBe(arch === 'amd64');
    }
    // a second run keeps the files it finds
    const again = await cli(['scaffold', '--release', release, '--arch', 'amd64', '--cache-dir', cache, '--out-dir', out, 'tool']);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(/already in the release, left as they are: tool/);
  });

  it('--from: the names of a file, which a set may name before their files exist', async () => {
    const release = writeRelease(archive, {}, { format: 'v3', extra: 'sets:\n  mine: [tooldata_data]\n' });
    const list = path.join(tempDir('chisel-ts-scaffold-from-'), 'names.txt');
    writeFileSync(list, '# what the image needs\ntooldata\n');
    const cache = tempDir('chisel-ts-scaffold-from-cache-');
    const out = path.join(release, 'slices');
    const r = await cli(['scaffold', '--release', release, '--arch', 'amd64', '--cache-dir', cache, '--out-dir', out, '--from', list]);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(path.join(out, 'tooldata.yaml'))).toBe(true);
    const v = await cli(['validate', '--release', release]);
    expect(v.code, v.err).toBe(0);
  });
});

describe('scaffold from the Debian 13 archive', () => {
  it('xz-utils: scaffolded next to our slices, it validates, cuts and xz runs in a chroot', async () => {
    const release = path.join(tempDir('chisel-ts-scaffold-d13-'), 'debian-13');
    cpSync(path.join(__dirname, '..', 'slices', 'debian-13'), release, { recursive: true });
    // debian-13 ships xz-utils: scaffold a fresh one in its place
    rmSync(path.join(release, 'slices', 'xz-utils.yaml'), { force: true });
    const cache = tempDir('chisel-ts-scaffold-real-cache-');
    const r = await cli([
      'scaffold',
      'xz-utils',
      '--release',
      release,
      '--arch',
      'amd64',
      '--cache-dir',
      cache,
      '-o',
      path.join(release, 'slices', 'xz-utils.yaml'),
    ]);
    expect(r.code, r.err).toBe(0);
    const yaml = readFileSync(path.join(release, 'slices', 'xz-utils.yaml'), 'utf8');
    expect(yaml).toMatch(/^ {6}\/usr\/bin\/xz:$/m);
    expect(yaml).toMatch(/^ {6}liblzma5_libs:$/m);
    expect(yaml).toMatch(/^ {6}libc6_libs:$/m);
    const v = await cli(['validate', '--release', release]);
    expect(v.code, v.err).toBe(0);
    const root = path.join(tempDir('chisel-ts-scaffold-d13-root-'), 'root');
    const c = await cli(['cut', '--release', release, '--arch', 'amd64', '--cache-dir', cache, '--root', root, 'xz-utils_bins']);
    expect(c.code, c.err).toBe(0);
    const x = spawnSync('chroot', [root, '/usr/bin/xz', '--version'], { encoding: 'utf8' });
    expect(x.status, x.stderr).toBe(0);
    expect(x.stdout).toMatch(/^xz \(XZ Utils\) 5\./);
  });
});
