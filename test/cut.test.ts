// The Cut rules of chisel-format.md, as a table: slice definitions + the
// request -> the tree written to disk (or the error). Real .deb files from a
// signed test archive on 127.0.0.1, cut by the same pipeline as the CLI.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { zstdDecompress } from '../compiler/util/zstd.js';
import { cutTo, writeRelease } from './support/cutenv.js';
import { TestArchive } from './support/testarchive.js';
import { describeTree, sha8 } from './support/tree.js';

let archive: TestArchive;

beforeAll(async () => {
  archive = await TestArchive.create({
    suites: {
      stable: {
        main: [
          {
            name: 'pkga',
            version: '1.0',
            compression: 'gz',
            files: [
              { path: '/dir/', type: 'dir', mode: 0o750 },
              { path: '/dir/file', content: 'data1', mode: 0o644 },
              { path: '/dir/other', content: 'data2', mode: 0o600 },
              { path: '/dir/sub/', type: 'dir', mode: 0o755 },
              { path: '/dir/sub/deep', content: 'deep', mode: 0o644 },
              { path: '/dir/link', type: 'symlink', link: 'file' },
              { path: '/dir/hard', type: 'hardlink', link: '/dir/file' },
              { path: '/bin/', type: 'dir', mode: 0o755 },
              { path: '/bin/tool', content: '#!tool', mode: 0o4755 },
              { path: '/etc/', type: 'dir', mode: 0o755 },
              { path: '/etc/conf', content: 'conf\n', mode: 0o644 },
              { path: '/parent/', type: 'dir', mode: 0o1777 },
              { path: '/parent/child', content: 'c', mode: 0o644 },
            ],
          },
          {
            name: 'pkgb',
            version: '1.0',
            compression: 'xz',
            files: [
              { path: '/dir/file', content: 'other', mode: 0o644 },
              { path: '/etc/b.conf', content: 'b', mode: 0o640 },
            ],
          },
          {
            name: 'pkgc',
            version: '2.0',
            compression: 'zst',
            files: [{ path: '/var/lib/c/data', content: 'cdata', mode: 0o644 }],
          },
          {
            name: 'devpkg',
            version: '1.0',
            files: [{ path: '/dev/null0', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 }],
          },
        ],
      },
    },
  });
});

afterAll(async () => {
  await archive?.close();
});

interface Case {
  name: string;
  slices: Record<string, string>;
  request: string[];
  arch?: string;
  tree?: Record<string, string>;
  /** Only these paths are compared (the rest of the tree is ignored). */
  subset?: boolean;
  error?: RegExp;
}

const A = (slices: string) => `package: pkga\nslices:\n${slices}`;
const B = (slices: string) => `package: pkgb\nslices:\n${slices}`;

const cases: Case[] = [
  {
    name: 'copied file; implicit parent gets the package mode',
    slices: { pkga: A('  one:\n    contents:\n      /dir/file:\n') },
    request: ['pkga_one'],
    tree: { '/dir/': 'dir 0750', '/dir/file': `file 0644 ${sha8('data1')}` },
  },
  {
    name: '/dir/** takes the directory and everything below; hard links stay hard links',
    slices: { pkga: A('  one:\n    contents:\n      /dir/**:\n') },
    request: ['pkga_one'],
    tree: {
      '/dir/': 'dir 0750',
      '/dir/file': `file 0644 ${sha8('data1')} <1>`,
      '/dir/hard': `file 0644 ${sha8('data1')} <1>`,
      '/dir/link': 'symlink file',
      '/dir/other': `file 0600 ${sha8('data2')}`,
      '/dir/sub/': 'dir 0755',
      '/dir/sub/deep': `file 0644 ${sha8('deep')}`,
    },
  },
  {
    name: '/dir/* takes files and links directly in /dir, not subdirectories',
    slices: { pkga: A('  one:\n    contents:\n      /dir/*:\n') },
    request: ['pkga_one'],
    tree: {
      '/dir/': 'dir 0750',
      '/dir/file': `file 0644 ${sha8('data1')} <1>`,
      '/dir/hard': `file 0644 ${sha8('data1')} <1>`,
      '/dir/link': 'symlink file',
      '/dir/other': `file 0600 ${sha8('data2')}`,
    },
  },
  {
    name: 'a hard link selected without its target becomes a regular file',
    slices: { pkga: A('  one:\n    contents:\n      /dir/hard:\n') },
    request: ['pkga_one'],
    tree: { '/dir/': 'dir 0750', '/dir/hard': `file 0644 ${sha8('data1')}` },
  },
  {
    name: 'copy from another path of the package; setuid dropped when the slice does not ask for it',
    slices: { pkga: A('  one:\n    contents:\n      /etc/renamed: {copy: /etc/conf}\n      /bin/tool:\n') },
    request: ['pkga_one'],
    tree: {
      '/bin/': 'dir 0755',
      '/bin/tool': `file 0755 ${sha8('#!tool')}`,
      '/etc/': 'dir 0755',
      '/etc/renamed': `file 0644 ${sha8('conf\n')}`,
    },
  },
  {
    name: 'setuid kept when the slice asks with mode: on the path',
    slices: { pkga: A('  one:\n    contents:\n      /bin/tool: {mode: 04755}\n') },
    request: ['pkga_one'],
    tree: { '/bin/': 'dir 0755', '/bin/tool': `file 4755 ${sha8('#!tool')}` },
  },
  {
    name: 'text, make and symlink paths with default and explicit modes',
    slices: {
      pkga: A(
        '  one:\n    contents:\n      /etc/motd: {text: "hi\\n"}\n      /etc/secret: {text: "s", mode: 0600}\n      /srv/x/: {make: true, mode: 0700}\n      /l: {symlink: /etc/motd}\n',
      ),
    },
    request: ['pkga_one'],
    tree: {
      '/etc/': 'dir 0755',
      '/etc/motd': `file 0644 ${sha8('hi\n')}`,
      '/etc/secret': `file 0600 ${sha8('s')}`,
      '/l': 'symlink /etc/motd',
      '/srv/': 'dir 0755',
      '/srv/x/': 'dir 0700',
    },
  },
  {
    name: 'an explicitly listed directory wins over the implicit parent',
    slices: { pkga: A('  one:\n    contents:\n      /dir/file:\n  two:\n    contents:\n      /dir/: {make: true, mode: 0711}\n') },
    request: ['pkga_one', 'pkga_two'],
    tree: { '/dir/': 'dir 0711', '/dir/file': `file 0644 ${sha8('data1')}` },
  },
  {
    name: 'sticky parent mode comes from the package',
    slices: { pkga: A('  one:\n    contents:\n      /parent/child:\n') },
    request: ['pkga_one'],
    tree: { '/parent/': 'dir 1777', '/parent/child': `file 0644 ${sha8('c')}` },
  },
  {
    name: 'prefer: pkga yields /dir/file to pkgb',
    slices: { pkga: A('  one:\n    contents:\n      /dir/file: {prefer: pkgb}\n'), pkgb: B('  one:\n    contents:\n      /dir/file:\n') },
    request: ['pkga_one', 'pkgb_one'],
    // The parent comes from pkgb's tar too (its implicit /dir/ is 0755).
    tree: { '/dir/': 'dir 0755', '/dir/file': `file 0644 ${sha8('other')}` },
  },
  {
    name: 'prefer: without the preferred package selected, the other one ships the path',
    slices: { pkga: A('  one:\n    contents:\n      /dir/file: {prefer: pkgb}\n'), pkgb: B('  one:\n    contents:\n      /dir/file:\n') },
    request: ['pkga_one'],
    tree: { '/dir/': 'dir 0750', '/dir/file': `file 0644 ${sha8('data1')}` },
  },
  {
    name: 'arch-specific paths and essentials',
    slices: {
      pkga: A(
        '  one:\n    essential: [pkgb_one]\n    v3-essential: {pkgc_one: {arch: arm64}}\n    contents:\n      /etc/conf: {arch: arm64}\n      /dir/file: {arch: [amd64, i386]}\n',
      ),
      pkgb: B('  one:\n    contents:\n      /etc/b.conf:\n'),
      pkgc: 'package: pkgc\nslices:\n  one:\n    contents:\n      /var/lib/c/data:\n',
    },
    request: ['pkga_one'],
    tree: { '/dir/': 'dir 0750', '/dir/file': `file 0644 ${sha8('data1')}`, '/etc/': 'dir 0755', '/etc/b.conf': `file 0640 ${sha8('b')}` },
  },
  {
    name: 'arch-specific paths on arm64',
    arch: 'arm64',
    slices: { pkga: A('  one:\n    contents:\n      /etc/conf: {arch: arm64}\n      /dir/file: {arch: [amd64, i386]}\n') },
    request: ['pkga_one'],
    error: /package pkga not found for arm64/,
  },
  {
    name: 'until: mutate removes paths after the scripts; a directory still holding content stays',
    slices: {
      pkga: A(
        '  one:\n    contents:\n      /dir/other: {until: mutate}\n      /dir/sub/: {until: mutate}\n      /etc/copy: {text: "", mutable: true}\n    mutate: |\n      content.write("/etc/copy", content.read("/dir/other"))\n  two:\n    contents:\n      /dir/sub/deep:\n',
      ),
    },
    request: ['pkga_one', 'pkga_two'],
    tree: {
      '/dir/': 'dir 0750',
      '/dir/sub/': 'dir 0755',
      '/dir/sub/deep': `file 0644 ${sha8('deep')}`,
      '/etc/': 'dir 0755',
      '/etc/copy': `file 0644 ${sha8('data2')}`,
    },
  },
  {
    name: 'mutate scripts run dependencies first and may list directories',
    slices: {
      pkga: A(
        '  one:\n    contents:\n      /etc/conf: {mutable: true}\n    mutate: |\n      content.write("/etc/conf", content.read("/etc/conf") + "more\\n")\n  two:\n    essential: [pkga_one]\n    contents:\n      /dir/*:\n      /etc/list: {text: "", mutable: true}\n    mutate: |\n      content.write("/etc/list", ",".join(content.list("/dir/")) + content.read("/etc/conf"))\n',
      ),
    },
    request: ['pkga_two'],
    subset: true,
    tree: { '/etc/conf': `file 0644 ${sha8('conf\nmore\n')}`, '/etc/list': `file 0644 ${sha8('file,hard,link,otherconf\nmore\n')}` },
  },
  {
    name: 'mutate cannot write a path that is not mutable',
    slices: { pkga: A('  one:\n    contents:\n      /etc/conf:\n    mutate: |\n      content.write("/etc/conf", "x")\n') },
    request: ['pkga_one'],
    error: /slice pkga_one: mutate script: .*\/etc\/conf is not mutable/,
  },
  {
    name: 'mutate cannot read a path outside the selection',
    slices: {
      pkga: A(
        '  one:\n    contents:\n      /etc/motd: {text: "x", mutable: true}\n    mutate: |\n      content.write("/etc/motd", content.read("/etc/conf"))\n',
      ),
    },
    request: ['pkga_one'],
    error: /\/etc\/conf is not part of the selected slices/,
  },
  {
    name: 'a listed path missing from the package',
    slices: { pkga: A('  one:\n    contents:\n      /nope:\n') },
    request: ['pkga_one'],
    error: /slice pkga_one: no content at \/nope in package pkga/,
  },
  {
    name: 'device nodes are refused',
    slices: { devpkg: 'package: devpkg\nslices:\n  one:\n    contents:\n      /dev/null0:\n' },
    request: ['devpkg_one'],
    error: /\/dev\/null0 is a device node/,
  },
  {
    name: 'an unknown slice',
    slices: { pkga: A('  one:\n    contents:\n      /etc/conf:\n') },
    request: ['pkga_two'],
    error: /slice pkga_two not found/,
  },
  {
    name: 'a generate type other than manifest loads (a warning) but fails the cut that selects it',
    slices: { pkga: A('  one:\n    contents:\n      /etc/conf:\n  gen:\n    contents:\n      /var/lib/x/**: {generate: foo}\n') },
    request: ['pkga_gen'],
    error: /slice pkga_gen: path \/var\/lib\/x\/\*\* cannot be cut: unknown generate type "foo"/,
  },
  {
    name: 'a generate type other than manifest in a slice that is not selected does not matter',
    slices: { pkga: A('  one:\n    contents:\n      /etc/conf:\n  gen:\n    contents:\n      /var/lib/x/**: {generate: foo}\n') },
    request: ['pkga_one'],
    subset: true,
    tree: { '/etc/conf': `file 0644 ${sha8('conf\n')}` },
  },
];

describe('cut rules', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const releaseDir = writeRelease(archive, c.slices);
      const run = cutTo({ releaseDir, slices: c.request, ...(c.arch ? { arch: c.arch } : {}) });
      if (c.error) {
        await expect(run).rejects.toThrow(c.error);
        return;
      }
      const { root } = await run;
      const got = describeTree(root);
      if (c.subset) {
        for (const [k, v] of Object.entries(c.tree!)) expect(got[k], k).toBe(v);
      } else expect(got).toEqual(c.tree);
    });
  }
});

describe('cut', () => {
  it('gives the same tree whatever the order of the request', async () => {
    const slices = {
      pkga: A('  one:\n    contents:\n      /dir/**:\n  two:\n    contents:\n      /etc/conf:\n'),
      pkgb: B('  one:\n    contents:\n      /etc/b.conf:\n'),
    };
    const releaseDir = writeRelease(archive, slices);
    const one = await cutTo({ releaseDir, slices: ['pkga_one', 'pkgb_one', 'pkga_two'] });
    const two = await cutTo({ releaseDir, slices: ['pkga_two', 'pkgb_one', 'pkga_one'] });
    expect(describeTree(two.root)).toEqual(describeTree(one.root));
    expect(two.result.tree).toEqual(one.result.tree);
  });

  it('writes manifest.wall as zstd jsonwall', async () => {
    const slices = {
      pkga: A(
        '  one:\n    contents:\n      /dir/file:\n      /dir/hard:\n      /dir/link:\n      /etc/conf: {mutable: true}\n      /tmp/gone: {text: "x", until: mutate}\n    mutate: |\n      content.write("/etc/conf", "new")\n  manifest:\n    contents:\n      /var/lib/chisel/**: {generate: manifest}\n',
      ),
    };
    const releaseDir = writeRelease(archive, slices);
    const { root, result } = await cutTo({ releaseDir, slices: ['pkga_one', 'pkga_manifest'] });
    const text = (await zstdDecompress(readFileSync(path.join(root, 'var/lib/chisel/manifest.wall')))).toString();
    const lines = text.trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({ jsonwall: '1.0', schema: '1.0', count: lines.length });
    const body = lines.slice(1);
    expect([...body].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))).toEqual(body);
    const recs = body.map((l) => JSON.parse(l) as Record<string, unknown>);
    const deb = result.packages.find((p) => p.name === 'pkga')!;
    expect(recs).toContainEqual({ kind: 'package', name: 'pkga', version: '1.0', sha256: deb.sha256, arch: 'amd64' });
    expect(recs).toContainEqual({ kind: 'slice', name: 'pkga_one' });
    const sum = (s: string) => require('node:crypto').createHash('sha256').update(s).digest('hex');
    expect(recs).toContainEqual({
      kind: 'path',
      path: '/dir/file',
      mode: '0644',
      slices: ['pkga_one'],
      sha256: sum('data1'),
      size: 5,
      inode: 1,
    });
    expect(recs).toContainEqual({
      kind: 'path',
      path: '/dir/hard',
      mode: '0644',
      slices: ['pkga_one'],
      sha256: sum('data1'),
      size: 5,
      inode: 1,
    });
    expect(recs).toContainEqual({ kind: 'path', path: '/dir/link', mode: '0777', slices: ['pkga_one'], link: 'file' });
    expect(recs).toContainEqual({
      kind: 'path',
      path: '/etc/conf',
      mode: '0644',
      slices: ['pkga_one'],
      sha256: sum('conf\n'),
      final_sha256: sum('new'),
      size: 3,
    });
    expect(recs).toContainEqual({ kind: 'path', path: '/var/lib/chisel/manifest.wall', mode: '0644', slices: ['pkga_manifest'] });
    expect(recs).toContainEqual({ kind: 'content', slice: 'pkga_one', path: '/dir/file' });
    expect(recs.some((r) => r.path === '/tmp/gone')).toBe(false);
    expect(recs.some((r) => r.path === '/dir/')).toBe(false);
  });
});
