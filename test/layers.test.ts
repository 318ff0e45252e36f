// Layers: the layer cache (a warm build compresses nothing and gives the
// same bytes) and layering by set (one layer per set of the release's `sets:`
// hierarchy, in dependency order, the user's files on top), proved on the
// hermetic test archive through the CLI, with umoci unpacking the result.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLayout } from '../compiler/output/oci.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { runAsync, type Run } from './support/proc.js';
import { TestArchive } from './support/testarchive.js';

const BIN = path.resolve(__dirname, '..', 'bin', 'chisel-ts.js');

let archive: TestArchive;
let release: string;

beforeAll(async () => {
  archive = await TestArchive.create({
    archs: ['amd64'],
    suites: {
      stable: {
        main: [
          {
            name: 'basefiles',
            version: '1',
            arch: 'all',
            files: [
              { path: '/etc/os-release', content: 'ID=test\n' },
              { path: '/usr/share/base/big', content: 'base '.repeat(20000) },
            ],
          },
          {
            name: 'libfoo',
            version: '1',
            arch: 'amd64',
            files: [
              { path: '/usr/lib/libfoo.so.1', content: 'libfoo\n'.repeat(5000), mode: 0o755 },
              { path: '/usr/lib/libfoo.so', type: 'symlink', link: 'libfoo.so.1' },
            ],
          },
          {
            name: 'app',
            version: '1',
            arch: 'amd64',
            files: [
              { path: '/usr/bin/app', content: '#!/bin/sh\necho app\n', mode: 0o755 },
              { path: '/usr/bin/app2', type: 'hardlink', link: '/usr/bin/app' },
              { path: '/usr/lib/app.conf', content: 'x=1\n' },
            ],
          },
        ],
      },
    },
  });
  release = writeRelease(
    archive,
    {
      basefiles: 'package: basefiles\nslices:\n  files:\n    contents:\n      /etc/os-release:\n      /usr/share/base/big:\n',
      libfoo:
        'package: libfoo\nslices:\n  libs:\n    essential: [basefiles_files]\n    contents:\n      /usr/lib/libfoo.so.1:\n      /usr/lib/libfoo.so:\n',
      app: 'package: app\nslices:\n  bins:\n    essential: [libfoo_libs]\n    contents:\n      /usr/bin/app:\n      /usr/bin/app2:\n      /usr/lib/app.conf:\n',
    },
    { extra: 'sets:\n  static: [basefiles_files]\n  base: [static, libfoo_libs]\n  app: [base, app_bins]\n' },
  );
});

afterAll(async () => {
  await archive?.close();
});

function cli(args: string[], cache: string): Promise<Run> {
  return runAsync('node', [BIN, ...args], { env: { ...process.env, CI: 'true', XDG_CACHE_HOME: path.join(cache, 'xdg') } });
}

async function cut(args: string[], cache: string): Promise<{ report: any; err: string }> {
  const r = await cli(['cut', '--release', release, '--cache-dir', cache, '--arch', 'amd64', '--json', '--verbose', ...args], cache);
  if (r.code !== 0) throw new Error(`cut failed (${r.code}): ${r.err}`);
  return { report: JSON.parse(r.out), err: r.err };
}

const layerLines = (err: string) => err.split('\n').filter((l) => / layer sha256:/.test(l));

describe('the layer cache', () => {
  it('a second identical build compresses nothing and writes the same bytes; a damaged entry is made again', async () => {
    const cache = tempDir('chisel-ts-layers-cache-');
    const d = tempDir('chisel-ts-layers-');
    const cold = await cut(['--oci', path.join(d, 'cold'), 'app_bins'], cache);
    expect(layerLines(cold.err)).toEqual([expect.stringMatching(/: compressed$/)]);
    const entries = readdirSync(path.join(cache, 'meta', 'layer'));
    const diffId = cold.report.image.manifests[0].diffId.slice(7);
    expect(entries).toEqual([`${diffId}-gzip-6.json`]);

    const warm = await cut(['--oci', path.join(d, 'warm'), 'app_bins'], cache);
    expect(layerLines(warm.err)).toEqual([expect.stringMatching(/: from the layer cache$/)]);
    expect(warm.report.image.digest).toBe(cold.report.image.digest);
    const layer = cold.report.image.manifests[0].layer.slice(7);
    expect(
      readFileSync(path.join(d, 'warm', 'blobs', 'sha256', layer)).equals(readFileSync(path.join(d, 'cold', 'blobs', 'sha256', layer))),
    ).toBe(true);
    expect(await checkLayout(path.join(d, 'warm'))).toEqual([]);

    // zstd is another entry of the same diff_id
    const zstd = await cut(['--oci', path.join(d, 'zstd'), '--compression', 'zstd', 'app_bins'], cache);
    expect(layerLines(zstd.err)).toEqual([expect.stringMatching(/: compressed$/)]);
    expect(readdirSync(path.join(cache, 'meta', 'layer')).sort()).toEqual([`${diffId}-gzip-6.json`, `${diffId}-zstd-3.json`].sort());

    // a damaged cached layer is detected on read: compressed again, same bytes, the entry repaired
    const cached = path.join(cache, 'blobs', 'sha256', layer);
    const bytes = readFileSync(cached);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(cached, bytes);
    const healed = await cut(['--oci', path.join(d, 'healed'), 'app_bins'], cache);
    expect(layerLines(healed.err)).toEqual([expect.stringMatching(/: compressed$/)]);
    expect(healed.report.image.digest).toBe(cold.report.image.digest);
    expect(existsSync(cached)).toBe(true);
    const again = await cut(['--oci', path.join(d, 'again'), 'app_bins'], cache);
    expect(layerLines(again.err)).toEqual([expect.stringMatching(/: from the layer cache$/)]);
  });
});
