// Layers: the layer cache (a warm build compresses nothing and gives the
// same bytes) and layering by set (one layer per set of the release's `sets:`
// hierarchy, in dependency order, the user's files on top), proved on the
// hermetic test archive through the CLI, with umoci unpacking the result.

import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore } from '../compiler/cache/store.js';
import { MAX_LAYERS } from '../compiler/output/layers.js';
import { checkLayout, makeImage } from '../compiler/output/oci.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { decompressLayer, type LayerEntry, manifestsOf, tarEntries } from './support/oci.js';
import { runAsync, type Run } from './support/proc.js';
import { startRegistry, tool, type Registry } from './support/registry.js';
import { validatorWith } from './support/schema.js';
import { describeTree } from './support/tree.js';
import { hasPodman, isolatedPodman } from './support/podman.js';
import { TestArchive } from './support/testarchive.js';

const BIN = path.resolve(__dirname, '..', 'bin', 'chisel-ts.js');

let archive: TestArchive;
let release: string;
let registry: Registry;

beforeAll(async () => {
  archive = await TestArchive.create({
    archs: ['amd64', 'arm64'],
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
          ...['amd64', 'arm64'].flatMap((arch) => [
            {
              name: 'libfoo',
              version: '1',
              arch,
              files: [
                { path: '/usr/lib/libfoo.so.1', content: `libfoo ${arch}\n`.repeat(5000), mode: 0o755 },
                { path: '/usr/lib/libfoo.so', type: 'symlink' as const, link: 'libfoo.so.1' },
              ],
            },
            {
              name: 'app',
              version: '1',
              arch,
              files: [
                { path: '/usr/bin/app', content: `#!/bin/sh\necho app ${arch}\n`, mode: 0o755 },
                // a hard link's header carries the file's mode, as in real .debs (podman applies it to the inode)
                { path: '/usr/bin/app2', type: 'hardlink' as const, link: '/usr/bin/app', mode: 0o755 },
                { path: '/usr/lib/app.conf', content: 'x=1\n' },
              ],
            },
          ]),
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
  await registry?.stop();
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

describe('the layer cache under cache info and cache prune', () => {
  it('counts the cached layers, stamps the one a build takes, and prunes the unused ones least recently used first', async () => {
    const cache = tempDir('chisel-ts-layers-prune-');
    const d = tempDir('chisel-ts-layers-');
    const info = async () => JSON.parse((await cli(['cache', 'info', '--cache-dir', cache, '--json'], cache)).out);
    const prune = async (...a: string[]) => {
      const r = await cli(['cache', 'prune', '--cache-dir', cache, '--json', ...a], cache);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out);
    };
    const gz = await cut(['--oci', path.join(d, 'gz'), 'app_bins'], cache);
    const zs = await cut(['--oci', path.join(d, 'zs'), '--compression', 'zstd', 'app_bins'], cache);
    const gzLayer = gz.report.image.manifests[0].layer.slice(7);
    const zsLayer = zs.report.image.manifests[0].layer.slice(7);
    const blob = (h: string) => path.join(cache, 'blobs', 'sha256', h);
    const i = await info();
    expect(i.layers).toBe(2);
    // the size counts the layer blobs (each once)
    expect(i.size).toBeGreaterThan(statSync(blob(gzLayer)).size + statSync(blob(zsLayer)).size);

    // everything unused for ten days; a warm gzip build then takes its layer (and stamps it)
    const old = new Date(Date.now() - 10 * 86400e3);
    for (const dir of ['meta', path.join('blobs', 'sha256')])
      for (const f of readdirSync(path.join(cache, dir), { recursive: true, withFileTypes: true }))
        if (f.isFile()) utimesSync(path.join(f.parentPath, f.name), old, old);
    const warm = await cut(['--oci', path.join(d, 'warm'), 'app_bins'], cache);
    expect(layerLines(warm.err)).toEqual([expect.stringMatching(/: from the layer cache$/)]);
    const r = await prune('--older-than', '1d');
    expect(r.removed).toBeGreaterThanOrEqual(1);
    // the zstd layer (meta and blob) went; the gzip one the build used stayed
    expect(existsSync(blob(zsLayer))).toBe(false);
    expect(readdirSync(path.join(cache, 'meta', 'layer'))).toEqual([`${gz.report.image.manifests[0].diffId.slice(7)}-gzip-6.json`]);
    expect(existsSync(blob(gzLayer))).toBe(true);
    expect((await info()).layers).toBe(1);
    expect(layerLines((await cut(['--oci', path.join(d, 'warm2'), 'app_bins'], cache)).err)).toEqual([
      expect.stringMatching(/: from the layer cache$/),
    ]);
    expect(layerLines((await cut(['--oci', path.join(d, 'zs2'), '--compression', 'zstd', 'app_bins'], cache)).err)).toEqual([
      expect.stringMatching(/: compressed$/),
    ]);

    // --max-size: least recently used first; 0 leaves no layer and no blob
    await prune('--max-size', '0');
    const empty = await info();
    expect(empty.layers).toBe(0);
    expect(empty.blobs).toBe(0);
    const again = await cut(['--oci', path.join(d, 'again'), 'app_bins'], cache);
    expect(layerLines(again.err)).toEqual([expect.stringMatching(/: compressed$/)]);
    expect(again.report.image.digest).toBe(gz.report.image.digest);
  });
});

describe('--layers set', () => {
  let cache: string;
  let d: string;
  beforeAll(async () => {
    cache = tempDir('chisel-ts-layers-cache-');
    d = tempDir('chisel-ts-layers-');
  });

  const layersOf = async (layout: string): Promise<Array<{ digest: string; diffId: string; createdBy: string; entries: LayerEntry[] }>> => {
    const [m] = manifestsOf(layout);
    return Promise.all(
      m!.manifest.layers.map(async (l: { digest: string; mediaType: string }, i: number) => ({
        digest: l.digest,
        diffId: m!.config.rootfs.diff_ids[i] as string,
        createdBy: m!.config.history[i].created_by as string,
        entries: await tarEntries(
          await decompressLayer(readFileSync(path.join(layout, 'blobs', 'sha256', l.digest.slice(7))), l.mediaType),
        ),
      })),
    );
  };

  it('one layer per set in dependency order, files on top; unpacked it is the single-layer tree', async () => {
    const common = ['--nonroot', '--tag', 'v1'];
    const single = await cut(['--oci', path.join(d, 'single'), ...common, 'app'], cache);
    const layered = await cut(['--oci', path.join(d, 'layered'), '--layers', 'set', ...common, 'app'], cache);
    expect(await checkLayout(path.join(d, 'layered'))).toEqual([]);
    expect(layered.report.image.manifests[0].layers).toHaveLength(4);
    const layers = await layersOf(path.join(d, 'layered'));
    expect(layers.map((l) => l.createdBy)).toEqual([
      'chisel-ts layer: set static',
      'chisel-ts layer: set base',
      'chisel-ts layer: set app',
      'chisel-ts layer: files',
    ]);
    const files = (i: number) => layers[i]!.entries.filter((e) => e.type !== 'directory').map((e) => e.name);
    expect(files(0)).toEqual([
      'etc/os-release',
      'usr/share/base/big',
      'var/lib/dpkg/status.d/basefiles',
      'var/lib/dpkg/status.d/basefiles.md5sums',
    ]);
    expect(files(1)).toEqual([
      'usr/lib/libfoo.so',
      'usr/lib/libfoo.so.1',
      'var/lib/dpkg/status.d/libfoo',
      'var/lib/dpkg/status.d/libfoo.md5sums',
    ]);
    expect(files(2)).toEqual([
      'usr/bin/app',
      'usr/bin/app2',
      'usr/lib/app.conf',
      'var/lib/dpkg/status.d/app',
      'var/lib/dpkg/status.d/app.md5sums',
    ]);
    expect(layers[3]!.entries.map((e) => e.name)).toEqual(['home/', 'home/nonroot/']);
    // a path is in exactly one layer; a directory in several has the same header in each
    const seen = new Map<string, string>();
    for (const l of layers)
      for (const e of l.entries) {
        const header = JSON.stringify({ ...e, content: undefined });
        if (e.type !== 'directory') expect(seen.has(e.name)).toBe(false);
        else if (seen.has(e.name)) expect(header).toBe(seen.get(e.name));
        seen.set(e.name, header);
      }
    // the lock's rootfs of a layered image is the ChainID of its layers
    expect(layered.report.image.manifests[0].diffId).not.toBe(single.report.image.manifests[0].diffId);

    const unpack = (name: string) => {
      const bundle = path.join(d, `${name}-bundle`);
      tool('umoci', ['unpack', '--image', `${path.join(d, name)}:v1`, bundle]);
      return describeTree(path.join(bundle, 'rootfs'), { owners: true });
    };
    const want = unpack('single');
    expect(Object.keys(want)).toContain('/usr/bin/app2');
    expect(unpack('layered')).toEqual(want);
  });

  it.skipIf(!hasPodman())('podman loads the layered image; its container holds exactly the single-layer tree', async () => {
    const podman = isolatedPodman();
    const archive = path.join(d, 'podman.oci.tar');
    const tarball = path.join(d, 'podman-single.tar');
    await cut(['--oci-archive', archive, '--layers', 'set', '--nonroot', '--tag', 'layers/app:v1', 'app'], cache);
    await cut(['--tar', tarball, '--nonroot', 'app'], cache);
    const loaded = /Loaded image: (\S+)/.exec(podman(['load', '-i', archive]).out)![1]!;
    const id = podman(['create', loaded, '/usr/bin/app']).out.trim();
    const exported = path.join(d, 'podman-export.tar');
    podman(['export', '-o', exported, id]);
    // a hard-link group is compared by content: podman's export may pick another member as the file
    const keys = (entries: LayerEntry[]) => {
      const content = new Map(entries.filter((e) => e.type === 'file').map((e) => [e.name, e.content]));
      return entries.map((e) => {
        const type = e.type === 'link' ? 'file' : e.type;
        const data = e.type === 'link' ? content.get(e.linkname!)! : e.content;
        const link = e.type === 'symlink' ? e.linkname : '';
        return `${e.name.replace(/\/$/, '')} ${type} ${(e.mode & 0o7777).toString(8)} ${e.uid}:${e.gid} ${link} ${data.toString('base64')}`;
      });
    };
    const got = new Set(keys(await tarEntries(readFileSync(exported))));
    const want = keys(await tarEntries(readFileSync(tarball)));
    expect(want.filter((k) => !got.has(k))).toEqual([]);
  });

  it('two images that share a set have byte-identical layers for it', async () => {
    const fresh = tempDir('chisel-ts-layers-cache-');
    const base = await cut(['--oci', path.join(d, 'base'), '--layers', 'set', 'base'], fresh);
    const app = await cut(['--oci', path.join(d, 'app'), '--layers', 'set', '--env', 'A=1', 'app'], fresh);
    const b = base.report.image.manifests[0].layers;
    const a = app.report.image.manifests[0].layers;
    expect(b).toHaveLength(2);
    expect(a).toHaveLength(3);
    expect(a.slice(0, 2).map((l: { digest: string; diffId: string }) => [l.digest, l.diffId])).toEqual(
      b.map((l: { digest: string; diffId: string }) => [l.digest, l.diffId]),
    );
    // the second image took the shared layers from the layer cache
    expect(a.map((l: { cached: boolean }) => l.cached)).toEqual([true, true, false]);
    expect(app.report.image.digest).not.toBe(base.report.image.digest);
  });

  it('a second image pushed to the registry uploads only its own layers and config', async () => {
    registry = await startRegistry();
    const fresh = tempDir('chisel-ts-layers-cache-');
    const base = await cut(['--layers', 'set', '--push', `${registry.addr}/fleet/app:base`, 'base'], fresh);
    expect([base.report.push.uploadedBlobs, base.report.push.skippedBlobs]).toEqual([3, 0]);
    const app = await cut(['--layers', 'set', '--push', `${registry.addr}/fleet/app:v1`, 'app'], fresh);
    // the app layer and the config; static and base are there already
    expect([app.report.push.uploadedBlobs, app.report.push.skippedBlobs]).toEqual([2, 2]);
    const raw = JSON.parse(tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.addr}/fleet/app:v1`]));
    expect(raw.layers).toHaveLength(3);
    // another repository of the same registry: the blobs this cache pushed before are mounted, not uploaded
    const other = await cut(['--layers', 'set', '--push', `${registry.addr}/fleet/other:v1`, 'app'], fresh);
    expect([other.report.push.uploadedBlobs, other.report.push.mountedBlobs]).toEqual([0, 4]);
    expect(other.err).toMatch(/mounted from fleet\/app/);
    const copy = JSON.parse(tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.addr}/fleet/other:v1`]));
    expect(copy).toEqual(raw);
  });

  it('multi-arch: each arch layered alike; the arch-independent static layer is the same blob in both', async () => {
    const r = await cli(
      [
        'cut',
        '--release',
        release,
        '--cache-dir',
        cache,
        '--arch',
        'amd64,arm64',
        '--layers',
        'set',
        '--oci',
        path.join(d, 'multi'),
        '--json',
        'app',
      ],
      cache,
    );
    expect(r.code, r.err).toBe(0);
    const [amd, arm] = JSON.parse(r.out).image.manifests;
    expect([amd.arch, arm.arch]).toEqual(['amd64', 'arm64']);
    expect(amd.layers).toHaveLength(3);
    expect(arm.layers).toHaveLength(3);
    expect(arm.layers[0].digest).toBe(amd.layers[0].digest);
    expect(arm.layers[1].digest).not.toBe(amd.layers[1].digest);
    expect(await checkLayout(path.join(d, 'multi'))).toEqual([]);
  });

  it('the SBOM file records every layer (SPDX annotations, CycloneDX properties)', async () => {
    const r = await cut(['--oci', path.join(d, 'sbom'), '--layers', 'set', '--sbom', path.join(d, 'sbom.spdx.json'), 'app'], cache);
    const layers = r.report.image.manifests[0].layers as Array<{ digest: string; diffId: string }>;
    const spdx = JSON.parse(readFileSync(path.join(d, 'sbom.spdx.json'), 'utf8'));
    const validate = validatorWith(path.resolve(__dirname, '..', 'runtime-schema', 'spdx-2.3.schema.json'));
    expect(validate(spdx), JSON.stringify(validate.errors)).toBe(true);
    const image = spdx.packages.find((p: { SPDXID: string }) => p.SPDXID === 'SPDXRef-Image');
    expect(image.annotations.map((a: { comment: string }) => a.comment)).toEqual(
      layers.map((l, i) => `layer amd64 ${i + 1}/3 ${l.digest} diff_id ${l.diffId}`),
    );
    await cut(['--oci', path.join(d, 'sbom2'), '--layers', 'set', '--sbom', path.join(d, 'sbom.cdx.json'), 'app'], cache);
    const cdx = JSON.parse(readFileSync(path.join(d, 'sbom.cdx.json'), 'utf8'));
    const props = cdx.metadata.component.properties.filter((p: { name: string }) => p.name === 'chisel-ts:layer');
    expect(props.map((p: { value: string }) => p.value)).toEqual(
      layers.map((l, i) => `layer amd64 ${i + 1}/3 ${l.digest} diff_id ${l.diffId}`),
    );
  });

  it('the lock records every layer and the layering; a --locked cut gives the same layers', async () => {
    const lockfile = path.join(d, 'app.lock.json');
    const common = ['--release', release, '--cache-dir', cache, '--arch', 'amd64', '--lockfile', lockfile, '--layers', 'set'];
    const l = await cli(['lock', ...common, 'app'], cache);
    expect(l.code, l.err).toBe(0);
    const lock = JSON.parse(readFileSync(lockfile, 'utf8'));
    const validate = validatorWith(path.resolve(__dirname, '..', 'runtime-schema', 'lock.schema.json'));
    expect(validate(lock), JSON.stringify(validate.errors)).toBe(true);
    expect(lock.inputs.image.layers).toBe('set');
    const r = await cli(['cut', ...common, '--locked', '--oci', path.join(d, 'locked'), '--json', 'app'], cache);
    expect(r.code, r.err).toBe(0);
    const m = JSON.parse(r.out).image.manifests[0];
    expect(lock.outputs.archs.amd64.layers).toEqual(
      m.layers.map((x: { diffId: string; digest: string }) => ({ diffId: x.diffId, digest: x.digest })),
    );
    expect(lock.outputs.archs.amd64.rootfs).toBe(m.diffId);
    // the layering is an input: a single-layer cut does not match the lock
    const single = await cli(['cut', ...common.slice(0, -2), '--locked', '--oci', path.join(d, 'locked1'), 'app'], cache);
    expect(single.code).not.toBe(0);
    expect(single.err).toMatch(/layers/);
  });

  it('--layers package:N: the largest packages in their own layers, the rest grouped, at most N', async () => {
    const three = await cut(['--oci', path.join(d, 'pkg3'), '--layers', 'package:3', '--tag', 'v1', '--nonroot', 'app'], cache);
    const layers = await layersOf(path.join(d, 'pkg3'));
    // basefiles ships 100 kB, libfoo 35 kB, app a few bytes
    expect(layers.map((l) => l.createdBy)).toEqual([
      'chisel-ts layer: package basefiles',
      'chisel-ts layer: packages app libfoo',
      'chisel-ts layer: files',
    ]);
    expect(layers[1]!.entries.filter((e) => e.type !== 'directory').map((e) => e.name)).toContain('var/lib/dpkg/status.d/app');
    expect(three.report.image.manifests[0].layers).toHaveLength(3);
    const all = await cut(['--oci', path.join(d, 'pkg'), '--layers', 'package', '--tag', 'v1', '--nonroot', 'app'], cache);
    expect((await layersOf(path.join(d, 'pkg'))).map((l) => l.createdBy)).toEqual([
      // in the cut's package order
      'chisel-ts layer: package app',
      'chisel-ts layer: package basefiles',
      'chisel-ts layer: package libfoo',
      'chisel-ts layer: files',
    ]);
    // basefiles' layer is the same bytes under both budgets
    expect(all.report.image.manifests[0].layers[1].digest).toBe(three.report.image.manifests[0].layers[0].digest);
    const bundle = path.join(d, 'pkg-bundle');
    tool('umoci', ['unpack', '--image', `${path.join(d, 'pkg3')}:v1`, bundle]);
    const single = await cut(['--root', path.join(d, 'pkg-root'), '--nonroot', 'app'], cache);
    expect(single.report.archs[0].files).toBeGreaterThan(0);
    const tree = describeTree(path.join(bundle, 'rootfs'));
    expect(tree['/usr/bin/app2']).toBe(describeTree(path.join(d, 'pkg-root'))['/usr/bin/app2']);
  });

  it('the image file field and a bad strategy', async () => {
    const bad = await cli(
      ['cut', '--release', release, '--cache-dir', cache, '--oci', path.join(d, 'bad'), '--layers', 'apk', 'app'],
      cache,
    );
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--layers "apk": expected one of single, set, package, package:N/);
    const file = path.join(d, 'image.yaml');
    writeFileSync(file, `release: ${release}\narchs: [amd64]\nslices: [app]\nlayers: set\noutputs:\n  oci: out\n`);
    const r = await cli(['build', file, '--cache-dir', cache, '--json'], cache);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).image.manifests[0].layers).toHaveLength(3);
  });
});

describe('the layer limit', () => {
  it(`more than ${MAX_LAYERS} layers is refused with a clear error, before anything is compressed`, async () => {
    const dir = (n: number) => ({ path: `/d${n}`, type: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 0 });
    const layers = Array.from({ length: MAX_LAYERS + 1 }, (_, i) => ({ tree: { entries: [dir(i)] }, createdBy: `layer ${i}` }));
    const blobs = tempDir('chisel-ts-layers-blobs-');
    const store = new ContentStore(tempDir('chisel-ts-layers-store-'));
    const opts = { compression: 'gzip' as const, config: {}, epoch: 0 };
    const tree = { entries: layers.map((l) => l.tree.entries[0]!) };
    await expect(makeImage([{ arch: 'amd64', tree, layers }], store, blobs, opts)).rejects.toThrow(
      /the amd64 image would have 128 layers; containerd accepts at most 127/,
    );
    expect(readdirSync(blobs)).toEqual([]);
    const ok = await makeImage([{ arch: 'amd64', tree, layers: layers.slice(0, MAX_LAYERS) }], store, blobs, opts);
    expect(ok.images[0]!.layers).toHaveLength(MAX_LAYERS);
  });
});
