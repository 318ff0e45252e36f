// Tarballs and OCI images from the hermetic test archive, through the CLI as a
// user runs it, proved with the real consumers: oci-image-tool, umoci, skopeo,
// docker-registry, diffoscope; reproducibility across TZ, umask, locale, cwd
// and cache state; multi-arch indexes; image files; failures leave nothing.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLayout } from '../compiler/output/oci.js';
import { VERSION } from '../compiler/version.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { blob, decompressLayer, manifestsOf, tarEntries } from './support/oci.js';
import { runAsync, type Run } from './support/proc.js';
import { fakeCredentialHelper, REGISTRY_PASSWORD, REGISTRY_USER, startRegistry, tool, type Registry } from './support/registry.js';
import { TestArchive } from './support/testarchive.js';
import { unsealJson } from '../compiler/cache/store.js';

const BIN = path.resolve(__dirname, '..', 'bin', 'chisel-ts.js');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let archive: TestArchive;
let release: string;
let registry: Registry;

const hello = (arch: string) => ({
  name: 'hello',
  version: '1.0',
  arch,
  files: [
    { path: '/usr/bin/hello', content: `#!/bin/sh\necho hello from ${arch}\n`, mode: 0o755 },
    { path: '/usr/bin/hello-again', type: 'hardlink' as const, link: '/usr/bin/hello' },
    { path: '/usr/bin/su-helper', content: 'setuid\n', mode: 0o4755 },
    { path: '/etc/hello.conf', content: `arch=${arch}\n` },
  ],
});

beforeAll(async () => {
  archive = await TestArchive.create({
    archs: ['amd64', 'arm64'],
    suites: {
      stable: {
        main: [
          hello('amd64'),
          hello('arm64'),
          {
            name: 'data',
            version: '2.0',
            arch: 'all',
            files: [
              { path: '/usr/share/data/a.txt', content: 'A\n' },
              { path: '/usr/share/data/b', type: 'symlink', link: 'a.txt' },
            ],
          },
        ],
      },
    },
  });
  release = writeRelease(archive, {
    hello:
      'package: hello\nessential: [data_files]\nslices:\n  bins:\n    contents:\n      /usr/bin/hello:\n      /usr/bin/hello-again:\n      /usr/bin/su-helper: {mode: 04755}\n      /etc/hello.conf:\n',
    data: 'package: data\nslices:\n  files:\n    contents:\n      /usr/share/data/a.txt:\n      /usr/share/data/b:\n      /srv/app/: {make: true, mode: 0750, uid: 1000, gid: 1000}\n',
  });
  registry = await startRegistry();
});

afterAll(async () => {
  await archive?.close();
  await registry?.stop();
});

// Asynchronous on purpose: the test archive is served from this process, so a
// synchronous spawn would block it.
function cli(args: string[], opts: { env?: Record<string, string>; cwd?: string; cache?: string; umask?: string } = {}): Promise<Run> {
  const cache = opts.cache ?? tempDir('chisel-ts-img-cache-');
  const env = { ...process.env, CI: 'true', XDG_CACHE_HOME: path.join(cache, 'xdg'), ...opts.env };
  const cmd = ['node', BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return runAsync('sh', ['-c', `umask ${opts.umask ?? '022'} && exec ${cmd}`], { env, cwd: opts.cwd ?? process.cwd() });
}

async function cut(args: string[], opts: Parameters<typeof cli>[1] = {}): Promise<any> {
  const cache = opts.cache ?? tempDir('chisel-ts-img-cache-');
  const r = await cli(['cut', '--release', release, '--cache-dir', cache, '--json', ...args], { ...opts, cache });
  if (r.code !== 0) throw new Error(`cut failed (${r.code}): ${r.err}`);
  return JSON.parse(r.out);
}

describe('OCI layout and tarball of one cut', () => {
  let dir: string;
  let report: any;
  beforeAll(async () => {
    dir = tempDir('chisel-ts-img-');
    report = await cut([
      '--arch',
      'amd64',
      '--oci',
      path.join(dir, 'layout'),
      '--tar',
      path.join(dir, 'rootfs.tar'),
      '--oci-archive',
      path.join(dir, 'image.oci.tar'),
      '--tag',
      'example/hello:v1',
      '--nonroot',
      '--entrypoint',
      '["/usr/bin/hello"]',
      '--cmd',
      '--greet',
      '--env',
      'GREETING=hi',
      '--label',
      'org.example.team=infra',
      '--annotation',
      'org.opencontainers.image.source=https://example.invalid/repo',
      '--port',
      '8080',
      'hello_bins',
    ]);
  });

  it('is accepted by oci-image-tool, umoci and skopeo, and by our own checker', async () => {
    const layout = path.join(dir, 'layout');
    expect(await checkLayout(layout)).toEqual([]);
    expect(tool('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=v1', layout])).toMatch(/Validation succeeded|OK/);
    const bundle = path.join(dir, 'bundle');
    tool('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');
    expect(readFileSync(path.join(rootfs, 'usr/bin/hello'), 'utf8')).toContain('hello from amd64');
    expect(statSync(path.join(rootfs, 'home/nonroot')).uid).toBe(65532);
    expect(statSync(path.join(rootfs, 'srv/app')).uid).toBe(1000);
    expect(statSync(path.join(rootfs, 'usr/bin/su-helper')).mode & 0o7777).toBe(0o4755);
    expect(statSync(path.join(rootfs, 'usr/bin/hello-again')).ino).toBe(statSync(path.join(rootfs, 'usr/bin/hello')).ino);
    const runtime = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    expect(runtime.process.user).toMatchObject({ uid: 65532, gid: 65532 });
    expect(runtime.process.cwd).toBe('/home/nonroot');
    expect(runtime.process.args).toEqual(['/usr/bin/hello', '--greet']);
    expect(runtime.process.env).toContain('GREETING=hi');

    const inspected = JSON.parse(tool('skopeo', ['inspect', `oci:${layout}:v1`]));
    expect(inspected.Digest).toBe(report.image.digest);
    expect(inspected.Labels).toEqual({ 'org.example.team': 'infra' });
    for (const dest of [
      `oci-archive:${path.join(dir, 'copy.oci.tar')}`,
      `docker-archive:${path.join(dir, 'copy.docker.tar')}:example/hello:v1`,
    ]) {
      tool('skopeo', ['copy', '--quiet', `oci:${layout}:v1`, dest]);
    }
    expect(JSON.parse(tool('skopeo', ['inspect', `docker-archive:${path.join(dir, 'copy.docker.tar')}`])).Architecture).toBe('amd64');
  });

  it('writes the config the flags ask for', async () => {
    const [m] = manifestsOf(path.join(dir, 'layout'));
    expect(m!.config.config).toEqual({
      User: '65532:65532',
      ExposedPorts: { '8080/tcp': {} },
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hi'],
      Entrypoint: ['/usr/bin/hello'],
      Cmd: ['--greet'],
      WorkingDir: '/home/nonroot',
      Labels: { 'org.example.team': 'infra' },
    });
    expect(m!.config.created).toBe('1970-01-01T00:00:00Z');
    expect(m!.manifest.annotations).toEqual({ 'org.opencontainers.image.source': 'https://example.invalid/repo' });
  });

  it('the tarball is the layer, uncompressed: same entries, numeric owners, fixed mtimes', async () => {
    const tar = readFileSync(path.join(dir, 'rootfs.tar'));
    const [m] = manifestsOf(path.join(dir, 'layout'));
    expect(`sha256:${sha256(tar)}`).toBe(m!.config.rootfs.diff_ids[0]);
    expect(report.tar.diffId).toBe(sha256(tar));
    const layer = await decompressLayer(blob(path.join(dir, 'layout'), m!.manifest.layers[0].digest), m!.manifest.layers[0].mediaType);
    expect(layer.equals(tar)).toBe(true);
    const entries = await tarEntries(tar);
    const names = entries.map((e) => e.name);
    expect(names).toEqual(
      [...names].sort((a, b) => (a.replace(/\/$/, '').split('/').join('\0') < b.replace(/\/$/, '').split('/').join('\0') ? -1 : 1)),
    );
    expect(new Set(entries.map((e) => e.mtime))).toEqual(new Set([0]));
    const by = new Map(entries.map((e) => [e.name, e]));
    expect(by.get('home/nonroot/')).toMatchObject({ type: 'directory', uid: 65532, gid: 65532, mode: 0o700 });
    expect(by.get('usr/bin/hello-again')).toMatchObject({ type: 'link', linkname: 'usr/bin/hello' });
    expect(by.get('usr/share/data/b')).toMatchObject({ type: 'symlink', linkname: 'a.txt' });
    expect(by.get('usr/bin/su-helper')!.mode).toBe(0o4755);
    const listing = tool('tar', ['-tvf', path.join(dir, 'rootfs.tar'), '--numeric-owner']);
    expect(listing).toMatch(/drwx------ 65532\/65532 .* home\/nonroot\//);
  });

  it('the OCI archive loads in skopeo and carries a docker manifest.json', async () => {
    const archivePath = path.join(dir, 'image.oci.tar');
    const inspected = JSON.parse(tool('skopeo', ['inspect', `oci-archive:${archivePath}:v1`]));
    expect(inspected.Digest).toBe(report.image.digest);
    const entries = await tarEntries(readFileSync(archivePath));
    const manifestJson = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.content.toString());
    expect(manifestJson[0].RepoTags).toEqual(['example/hello:v1']);
    expect(JSON.parse(tool('skopeo', ['inspect', `docker-archive:${archivePath}`])).Architecture).toBe('amd64');
  });
});

describe('reproducibility', () => {
  it('the same build with another TZ, umask, locale, cwd and cache state gives the same bytes', async () => {
    const a = tempDir('chisel-ts-repro-a-');
    const b = tempDir('chisel-ts-repro-b-');
    const warm = tempDir('chisel-ts-img-cache-');
    await cut(['--arch', 'amd64', '--tar', path.join(warm, 'prime.tar'), 'hello_bins'], { cache: warm }); // warm the cache
    const args = (d: string) => [
      '--arch',
      'amd64',
      '--oci',
      path.join(d, 'layout'),
      '--tar',
      path.join(d, 'rootfs.tar.gz'),
      '--nonroot',
      'hello_bins',
    ];
    const ra = await cut(args(a), { env: { TZ: 'UTC', LANG: 'C', LC_ALL: 'C' }, umask: '022', cwd: '/', cache: warm });
    const rb = await cut(args(b), { env: { TZ: 'Pacific/Kiritimati', LANG: 'de_DE.UTF-8', LC_ALL: 'tr_TR.UTF-8' }, umask: '077', cwd: b });
    expect(rb.image.digest).toBe(ra.image.digest);
    expect(readFileSync(path.join(b, 'rootfs.tar.gz')).equals(readFileSync(path.join(a, 'rootfs.tar.gz')))).toBe(true);
    const d = spawnSync('diffoscope', ['--no-progress', path.join(a, 'rootfs.tar.gz'), path.join(b, 'rootfs.tar.gz')], {
      encoding: 'utf8',
    });
    expect(d.status, d.stdout).toBe(0);
  });

  it('SOURCE_DATE_EPOCH sets every time, and changes the digest', async () => {
    const a = tempDir('chisel-ts-repro-');
    const r0 = await cut(['--arch', 'amd64', '--oci', path.join(a, 'l0'), 'hello_bins']);
    const r1 = await cut(['--arch', 'amd64', '--oci', path.join(a, 'l1'), '--tar', path.join(a, 'r1.tar'), 'hello_bins'], {
      env: { SOURCE_DATE_EPOCH: '1700000000' },
    });
    expect(r1.image.digest).not.toBe(r0.image.digest);
    expect(manifestsOf(path.join(a, 'l1'))[0]!.config.created).toBe('2023-11-14T22:13:20Z');
    expect(new Set((await tarEntries(readFileSync(path.join(a, 'r1.tar')))).map((e) => e.mtime))).toEqual(new Set([1700000000]));
    // a diffoscope that finds the difference proves the comparison above can fail
    const d = spawnSync('diffoscope', ['--no-progress', path.join(a, 'r1.tar'), path.join(a, 'r1.tar')], { encoding: 'utf8' });
    expect(d.status).toBe(0);
  });
});

describe('multi-arch', () => {
  it('one index, a manifest per platform, each with its own binaries', async () => {
    const d = tempDir('chisel-ts-multi-');
    const layout = path.join(d, 'layout');
    const r = await cut(['--arch', 'amd64,arm64', '--oci', layout, '--tag', 'multi', 'hello_bins']);
    expect(r.archs.map((a: any) => a.arch)).toEqual(['amd64', 'arm64']);
    const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(await checkLayout(layout)).toEqual([]);
    tool('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=multi', layout]);
    const ms = manifestsOf(layout);
    expect(ms.map((m) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);
    for (const m of ms) {
      expect(m.config.architecture).toBe(m.platform!.architecture);
      const layer = await decompressLayer(blob(layout, m.manifest.layers[0].digest), m.manifest.layers[0].mediaType);
      const byName = new Map((await tarEntries(layer)).map((e) => [e.name, e]));
      const arch = m.platform!.architecture;
      expect(byName.get('usr/bin/hello')!.content.toString()).toContain(`hello from ${arch}`);
      expect(byName.get('usr/share/data/a.txt')!.content.toString()).toBe('A\n'); // arch "all" in both
    }
    const raw = JSON.parse(tool('skopeo', ['inspect', '--raw', `oci:${layout}:multi`]));
    expect(raw.manifests).toHaveLength(2);
  });

  it('--root and --tar refuse more than one arch (usage error, nothing written)', async () => {
    const d = tempDir('chisel-ts-multi-');
    const r = await cli(['cut', '--release', release, '--arch', 'amd64,arm64', '--tar', path.join(d, 'x.tar'), 'hello_bins']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--root and --tar hold one architecture/);
    expect(readdirSync(d)).toEqual([]);
  });
});

describe('compression', () => {
  it.each(['zstd', 'none'] as const)('%s layers decompress to the diff_id', async (c) => {
    const d = tempDir('chisel-ts-comp-');
    const layout = path.join(d, 'layout');
    await cut(['--arch', 'amd64', '--oci', layout, '--compression', c, 'hello_bins']);
    const [m] = manifestsOf(layout);
    const l = m!.manifest.layers[0];
    expect(l.mediaType).toBe(c === 'zstd' ? 'application/vnd.oci.image.layer.v1.tar+zstd' : 'application/vnd.oci.image.layer.v1.tar');
    const raw = await decompressLayer(blob(layout, l.digest), l.mediaType);
    expect(`sha256:${sha256(raw)}`).toBe(m!.config.rootfs.diff_ids[0]);
    if (c === 'zstd')
      expect(
        sha256(
          Buffer.from(
            tool('sh', ['-c', `zstd -dc < ${path.join(layout, 'blobs/sha256', l.digest.slice(7))} | sha256sum`]).split(' ')[0]!,
            'hex',
          ),
        ),
      ).toBe(sha256(Buffer.from(sha256(raw), 'hex')));
    expect(JSON.parse(tool('skopeo', ['inspect', `oci:${layout}:latest`])).Digest).toBe(m!.digest);
  });
});

describe('push', () => {
  it('pushes to a registry; skopeo reports the same digest; a second push uploads nothing', async () => {
    const d = tempDir('chisel-ts-push-');
    const ref = `${registry.addr}/chisel/hello:v1`;
    const r = await cut(['--arch', 'amd64', '--oci', path.join(d, 'layout'), '--tag', 'v1', '--push', ref, 'hello_bins']);
    expect(r.push.digest).toBe(r.image.digest);
    const raw = tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
    expect(`sha256:${sha256(Buffer.from(raw))}`).toBe(r.image.digest);
    expect(JSON.parse(tool('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`])).Digest).toBe(r.image.digest);
    const again = await cut(['--arch', 'amd64', '--push', ref, 'hello_bins']);
    expect(again.push.digest).toBe(r.image.digest);
    expect(again.push.uploadedBlobs).toBe(0);
  });

  it('--push without --oci writes no layout: the blobs are pushed from the build (seen from a proxy at the manifest PUT)', async () => {
    const tmp = tempDir('chisel-ts-push-tmp-');
    const seen: string[][] = [];
    // a plain forwarding proxy; at each manifest PUT it lists the cut's temporary directory
    const proxy = http.createServer((req, res) => {
      if (req.method === 'PUT' && req.url?.includes('/manifests/')) seen.push(readdirSync(tmp, { recursive: true }).map(String).sort());
      const up = http.request({
        host: '127.0.0.1',
        port: registry.addr.split(':')[1],
        path: req.url,
        method: req.method,
        headers: req.headers,
      });
      up.on('response', (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const port = (proxy.address() as { port: number }).port;
      const r = await cut(['--arch', 'amd64,arm64', '--push', `127.0.0.1:${port}/chisel/nolayout:v1`, 'hello_bins'], {
        env: { TMPDIR: tmp },
      });
      expect(seen).toHaveLength(3);
      expect(r.push.uploadedBlobs).toBe(4);
      // the build's blob directory with the two layers in it, and nothing else
      for (const files of seen) {
        expect(files).toHaveLength(3);
        expect(files[0]).toMatch(/^chisel-ts-blobs-[0-9a-f]{8}$/);
        for (const f of files.slice(1)) expect(f).toMatch(new RegExp(`^${files[0]}/[0-9a-f]{64}$`));
      }
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });

  it('pushes a two-arch index', async () => {
    const ref = `${registry.addr}/chisel/multi:v2`;
    const r = await cut(['--arch', 'amd64,arm64', '--push', ref, 'hello_bins']);
    const raw = tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
    expect(`sha256:${sha256(Buffer.from(raw))}`).toBe(r.push.digest);
    expect(JSON.parse(raw).manifests.map((m: any) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
  });

  it('--sbom with --push attaches the SBOM as a referrer of the image (referrers tag schema)', async () => {
    const d = tempDir('chisel-ts-push-sbom-');
    const ref = `${registry.addr}/chisel/sbom:v1`;
    const file = path.join(d, 'hello.spdx.json');
    const r = await cut(['--arch', 'amd64', '--push', ref, '--sbom', file, 'hello_bins']);
    expect(r.push.referrers).toHaveLength(1);
    const hex = r.push.digest.slice('sha256:'.length);
    // what `oras discover` reads from a registry without the referrers API
    const index = JSON.parse(
      tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.addr}/chisel/sbom:sha256-${hex}`]),
    );
    expect(index.manifests.map((m: any) => [m.digest, m.artifactType])).toEqual([[r.push.referrers[0].digest, 'application/spdx+json']]);
    const raw = tool('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${registry.addr}/chisel/sbom@${r.push.referrers[0].digest}`,
    ]);
    const artifact = JSON.parse(raw);
    expect(`sha256:${sha256(Buffer.from(raw))}`).toBe(r.push.referrers[0].digest);
    expect(artifact.subject.digest).toBe(r.push.digest);
    expect(artifact.config.mediaType).toBe('application/vnd.oci.empty.v1+json');
    const blob = await fetch(`http://${registry.addr}/v2/chisel/sbom/blobs/${artifact.layers[0].digest}`);
    expect(Buffer.from(await blob.arrayBuffer())).toEqual(readFileSync(file));
    expect(JSON.parse(readFileSync(file, 'utf8')).packages[0].versionInfo).toBe(r.push.digest);
    // pushing again lists it once
    await cut(['--arch', 'amd64', '--push', ref, '--sbom', file, 'hello_bins']);
    const again = JSON.parse(
      tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.addr}/chisel/sbom:sha256-${hex}`]),
    );
    expect(again.manifests).toHaveLength(1);
  });
});

describe('push with credentials from a credential helper (docker-registry with htpasswd)', () => {
  it('pushes with docker-credential-test on PATH; the secret is in no log, --json report, lockfile or error', async () => {
    const authed = await startRegistry({ basicAuth: true });
    try {
      const helper = fakeCredentialHelper({ [authed.addr]: { Username: REGISTRY_USER, Secret: REGISTRY_PASSWORD } });
      const docker = tempDir('chisel-ts-docker-config-');
      writeFileSync(path.join(docker, 'config.json'), JSON.stringify({ credHelpers: { [authed.addr]: 'test' } }));
      const env = { PATH: `${helper.bin}:${process.env.PATH}`, DOCKER_CONFIG: docker, REGISTRY_AUTH_FILE: path.join(docker, 'none.json') };
      const d = tempDir('chisel-ts-push-creds-');
      const ref = `${authed.addr}/chisel/creds:v1`;
      const cache = tempDir('chisel-ts-img-cache-');
      const common = ['--release', release, '--cache-dir', cache, '--arch', 'amd64', '--lockfile', path.join(d, 'lock.json')];
      const locked = await cli(['lock', ...common, 'hello_bins'], { env, cache });
      expect(locked.code, locked.err).toBe(0);
      const pushed = await cli(['cut', ...common, '--locked', '--push', ref, '--json', '--verbose', 'hello_bins'], { env, cache });
      expect(pushed.code, pushed.err).toBe(0);
      const report = JSON.parse(pushed.out);
      expect(readFileSync(helper.log, 'utf8')).toMatch(new RegExp(`^get ${authed.addr.replace(/\./g, '\\.')}\n`));
      const raw = tool('skopeo', [
        'inspect',
        '--raw',
        '--tls-verify=false',
        '--creds',
        `${REGISTRY_USER}:${REGISTRY_PASSWORD}`,
        `docker://${ref}`,
      ]);
      expect(`sha256:${sha256(Buffer.from(raw))}`).toBe(report.push.digest);
      // a wrong secret from the helper: refused, and the error does not show it
      const wrong = fakeCredentialHelper({ [authed.addr]: { Username: REGISTRY_USER, Secret: 'wrong-secret-42' } });
      const denied = await cli(['cut', ...common, '--push', ref, '--json', 'hello_bins'], {
        env: { ...env, PATH: `${wrong.bin}:${process.env.PATH}` },
        cache,
      });
      expect(denied.code).not.toBe(0);
      expect(denied.err).toMatch(/HTTP 401/);
      const basic = (p: string) => Buffer.from(`${REGISTRY_USER}:${p}`).toString('base64');
      const seen = [
        pushed.out,
        pushed.err,
        locked.out,
        locked.err,
        readFileSync(path.join(d, 'lock.json'), 'utf8'),
        denied.out,
        denied.err,
      ].join('\n');
      for (const secret of [REGISTRY_PASSWORD, basic(REGISTRY_PASSWORD), 'wrong-secret-42', basic('wrong-secret-42')])
        expect(seen).not.toContain(secret);
    } finally {
      await authed.stop();
    }
  });
});

describe('image file (chisel-ts build)', () => {
  it('builds what the file says, with outputs relative to it, equal to the same cut by flags', async () => {
    const d = tempDir('chisel-ts-build-');
    writeFileSync(
      path.join(d, 'image.yaml'),
      `release: ${release}\narchs: [amd64]\nslices: [hello_bins]\ntag: v1\nnonroot: true\nconfig:\n  entrypoint: [/usr/bin/hello]\n  env:\n    GREETING: hi\n  ports: [8080]\noutputs:\n  oci: out/layout\n`,
    );
    const r = await cli(['build', path.join(d, 'image.yaml'), '--cache-dir', tempDir(), '--json']);
    expect(r.code, r.err).toBe(0);
    const built = JSON.parse(r.out);
    expect(existsSync(path.join(d, 'out/layout/index.json'))).toBe(true);
    const byFlags = await cut([
      '--arch',
      'amd64',
      '--oci',
      path.join(d, 'flags'),
      '--tag',
      'v1',
      '--nonroot',
      '--entrypoint',
      '/usr/bin/hello',
      '--env',
      'GREETING=hi',
      '--port',
      '8080/tcp',
      'hello_bins',
    ]);
    expect(built.image.digest).toBe(byFlags.image.digest);
  });

  it('sbom: writes the SBOM next to the file, puts it in the image, and the format is checked', async () => {
    const d = tempDir('chisel-ts-build-sbom-');
    writeFileSync(
      path.join(d, 'image.yaml'),
      `release: ${release}\narchs: [amd64]\nslices: [hello_bins]\noutputs:\n  oci: out/layout\nsbom:\n  file: out/hello.cdx.json\n  in-image: true\n`,
    );
    const r = await cli(['build', path.join(d, 'image.yaml'), '--cache-dir', tempDir(), '--json']);
    expect(r.code, r.err).toBe(0);
    const built = JSON.parse(r.out);
    const bom = JSON.parse(readFileSync(path.join(d, 'out/hello.cdx.json'), 'utf8'));
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.metadata.component.version).toBe(built.image.digest);
    const [m] = manifestsOf(path.join(d, 'out/layout'));
    const layer = await decompressLayer(blob(path.join(d, 'out/layout'), m!.manifest.layers[0].digest), m!.manifest.layers[0].mediaType);
    const inside = (await tarEntries(layer)).find((e) => e.name === 'usr/share/sbom/chisel-ts.cyclonedx.json');
    expect(JSON.parse(inside!.content.toString()).components.map((c: any) => c.name)).toEqual(bom.components.map((c: any) => c.name));
    writeFileSync(path.join(d, 'bad.yaml'), `release: ${release}\nslices: [hello_bins]\nsbom:\n  format: swid\n`);
    const bad = await cli(['build', path.join(d, 'bad.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad\.yaml:4:11: sbom\.format: must be one of "spdx", "cyclonedx"/);
  });

  it('files: read only the build context: host files refused at file:line:column, .chiselignore honoured, --context', async () => {
    const d = tempDir('chisel-ts-build-context-');
    for (const [src, re] of [
      ['../../etc/shadow', /image\.yaml:5:10: files: source "\.\.\/\.\.\/etc\/shadow" climbs out of the build context/],
      ['/root/.bashrc', /image\.yaml:5:10: files: source "\/root\/\.bashrc" is absolute/],
      ['/proc/self/environ', /image\.yaml:5:10: files: source "\/proc\/self\/environ" is absolute/],
    ] as const) {
      writeFileSync(
        path.join(d, 'image.yaml'),
        `release: ${release}\narchs: [amd64]\nslices: [hello_bins]\nfiles:\n  - src: ${src}\n    dest: /x\n`,
      );
      const r = await cli(['build', path.join(d, 'image.yaml'), '--oci', path.join(d, 'out')]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(re);
      expect(existsSync(path.join(d, 'out'))).toBe(false);
    }
    mkdirSync(path.join(d, 'app/.git'), { recursive: true });
    writeFileSync(path.join(d, 'app/main.sh'), 'echo hi\n');
    writeFileSync(path.join(d, 'app/.git/config'), '[core]\n');
    writeFileSync(path.join(d, 'app/.env'), 'TOKEN=secret\n');
    writeFileSync(path.join(d, '.chiselignore'), '**/.git\n**/.env\n');
    mkdirSync(path.join(d, 'deploy'));
    writeFileSync(
      path.join(d, 'deploy/image.yaml'),
      `release: ${release}\narchs: [amd64]\nslices: [hello_bins]\nfiles:\n  - src: app\n    dest: /app\noutputs:\n  tar: out.tar\n`,
    );
    const r = await cli(['build', path.join(d, 'deploy/image.yaml'), '--context', d, '--cache-dir', tempDir()]);
    expect(r.code, r.err).toBe(0);
    const names = (await tarEntries(readFileSync(path.join(d, 'deploy/out.tar')))).map((e) => e.name.replace(/\/$/, ''));
    expect(names).toContain('app/main.sh');
    expect(names.filter((n) => n.startsWith('app/'))).toEqual(['app/main.sh']);
  });

  it('a YAML error and a schema error name file:line:column', async () => {
    const d = tempDir('chisel-ts-build-');
    writeFileSync(path.join(d, 'bad.yaml'), 'slices: [hello_bins\n');
    const y = await cli(['build', path.join(d, 'bad.yaml')]);
    expect(y.code).toBe(1);
    expect(y.err).toMatch(/bad\.yaml:\d+:\d+: YAML syntax error/);
    writeFileSync(path.join(d, 'schema.yaml'), 'slices: [hello_bins]\ncompression: brotli\nconfig:\n  workdir: relative\n');
    const s = await cli(['build', path.join(d, 'schema.yaml')]);
    expect(s.code).toBe(1);
    expect(s.err).toMatch(/schema\.yaml:2:14: compression: must be one of "gzip", "zstd", "none"/);
    expect(s.err).toMatch(/schema\.yaml:4:12: config\.workdir: /);
  });

  // The minimum chisel-ts version a file declares: checked first (a newer file's unknown keys are not reported), at file:line:column.
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const unmet = (range: string) => [
    `image\\.yaml:1:12: this file needs chisel-ts ${esc(range)}, but this is chisel-ts ${esc(VERSION)}\nhint: upgrade chisel-ts`,
  ];
  it.each([
    { range: '">=0.1"', code: 0, err: [] },
    { range: "'^0.1.0 || >=1'", code: 0, err: [] },
    { range: `"${VERSION}"`, code: 0, err: [] },
    { range: '">=99"', extra: 'layers: [base]\n', code: 1, err: unmet('>=99') },
    { range: '"<0.1"', code: 1, err: unmet('<0.1') },
    { range: '"^0.1.0-0 <0.1.0"', code: 1, err: unmet('^0.1.0-0 <0.1.0') },
    {
      range: 'banana',
      code: 1,
      err: ['image\\.yaml:1:12: chisel-ts: "banana" is not a semver range of chisel-ts versions; write one like ">=0\\.2"'],
    },
    { range: '">= 0.1 &&"', code: 1, err: ['image\\.yaml:1:12: chisel-ts: ">= 0\\.1 &&" is not a semver range'] },
    { range: '0.2', code: 1, err: ['image\\.yaml:1:12: chisel-ts: must be string \\(schema image\\.schema\\.json\\)'] },
    { range: '""', code: 1, err: ['image\\.yaml:1:12: chisel-ts: must NOT have fewer than 1 characters'] },
  ])('chisel-ts: $range → exit $code', async ({ range, extra, code, err }) => {
    const d = tempDir('chisel-ts-build-version-');
    writeFileSync(
      path.join(d, 'image.yaml'),
      `chisel-ts: ${range}\nrelease: ${release}\narchs: [amd64]\nslices: [hello_bins]\n${extra ?? ''}outputs:\n  tar: out/root.tar\n`,
    );
    const r = await cli(['build', path.join(d, 'image.yaml'), '--cache-dir', tempDir()]);
    expect(r.code, r.err).toBe(code);
    for (const e of err) expect(r.err).toMatch(new RegExp(e));
    if (code === 0) expect(existsSync(path.join(d, 'out/root.tar'))).toBe(true);
    else {
      expect(r.err.match(/^error: /gm)).toHaveLength(1);
      expect(readdirSync(d)).toEqual(['image.yaml']);
    }
  });
});

describe('failures leave nothing behind', () => {
  it('a tampered package: no layout, no tarball, no temp files', async () => {
    archive.fault(/hello_1\.0_amd64\.deb$/, 'tamper');
    try {
      const d = tempDir('chisel-ts-fail-');
      const r = await cli([
        'cut',
        '--release',
        release,
        '--arch',
        'amd64',
        '--oci',
        path.join(d, 'layout'),
        '--tar',
        path.join(d, 'r.tar'),
        '--oci-archive',
        path.join(d, 'a.tar'),
        'hello_bins',
      ]);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/sha256 mismatch/);
      expect(readdirSync(d)).toEqual([]);
    } finally {
      archive.clearFaults();
    }
  });

  it('refuses an output path that is a device or a FIFO (a rename would replace it); --json puts the error on stdout', async () => {
    const d = tempDir('chisel-ts-fail-');
    execFileSync('mkfifo', [path.join(d, 'fifo')]);
    for (const [flag, target, kind] of [
      ['--tar', '/dev/null', 'a character device'],
      ['--root', '/dev/null', 'a character device'],
      ['--oci-archive', path.join(d, 'fifo'), 'a FIFO'],
    ] as const) {
      const r = await cli(['cut', '--release', release, '--arch', 'amd64', '--json', flag, target, 'hello_bins']);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${flag} ${target}: exists and is ${kind}`);
      expect(JSON.parse(r.out)).toMatchObject({ error: { code: 'usage', exitCode: 2 }, exitCode: 2 });
      expect(lstatSync(target).isFile()).toBe(false);
    }
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('refuses to write an OCI layout into a non-empty directory', async () => {
    const d = tempDir('chisel-ts-fail-');
    writeFileSync(path.join(d, 'keep'), 'x');
    const r = await cli(['cut', '--release', release, '--arch', 'amd64', '--oci', d, 'hello_bins']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/exists and is not empty/);
    expect(readdirSync(d)).toEqual(['keep']);
  });
});

describe('the index worker (the CLI parses Packages indexes on another thread)', () => {
  const tables = (cache: string): Array<{ v: number; name: string[] }> => {
    const dir = path.join(cache, 'meta', 'packages-table');
    return existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.json'))
          .map((f) => unsealJson<{ v: number; name: string[] }>(readFileSync(path.join(dir, f), 'utf8'))!)
      : [];
  };

  it('stores the parsed index before the process exits; a later cut answers from it', async () => {
    const cache = tempDir('chisel-ts-img-cache-');
    const d = tempDir('chisel-ts-idx-');
    const first = archive.requests.length;
    await cut(['--arch', 'amd64', '--root', path.join(d, 'a'), 'hello_bins'], { cache });
    // The InRelease download starts while the slice files parse, and the archive takes it: one request.
    expect(archive.requests.slice(first).filter((r) => r.endsWith('InRelease'))).toEqual(['dists/stable/InRelease']);
    expect(tables(cache).map((t) => [t.v, [...t.name].sort()])).toEqual([[2, ['data', 'hello']]]);
    // Without the per-name answers and the index file itself, only the stored table can answer.
    const [table] = readdirSync(path.join(cache, 'meta', 'packages-table'));
    rmSync(path.join(cache, 'blobs', 'sha256', table!.replace(/\.json$/, '')));
    rmSync(path.join(cache, 'meta', 'package-lookup'), { recursive: true });
    const before = archive.requests.length;
    const r = await cut(['--arch', 'amd64', '--offline', '--root', path.join(d, 'b'), 'data_files'], { cache });
    expect(r.archs[0].packages.map((p: { name: string }) => p.name)).toEqual(['data']);
    expect(readFileSync(path.join(d, 'b', 'usr/share/data/a.txt'), 'utf8')).toBe('A\n');
    expect(archive.requests.length).toBe(before);
  });

  it('a tampered index: the error crosses from the worker with its message and exit code', async () => {
    archive.fault(/by-hash|Packages/, 'tamper');
    try {
      const cache = tempDir('chisel-ts-img-cache-');
      const r = await cli([
        'cut',
        '--release',
        release,
        '--arch',
        'amd64',
        '--cache-dir',
        cache,
        '--root',
        path.join(tempDir('chisel-ts-idx-'), 'r'),
        'hello_bins',
      ]);
      expect(r.code).toBe(3);
      expect(r.err).toMatch(/archive \S+ stable\/main\/binary-amd64\/Packages\S*: sha256 mismatch/);
      expect(tables(cache)).toEqual([]);
    } finally {
      archive.clearFaults();
    }
  });
});

describe('without root', () => {
  it('an unprivileged user gets the owners and modes of the slices in the tarball', async () => {
    const d = tempDir('chisel-ts-nobody-');
    chmodSync(d, 0o777);
    chmodSync(release, 0o755); // mkdtemp made it 0700
    const cache = path.join(d, 'cache');
    mkdirSync(cache, { mode: 0o777 });
    chmodSync(cache, 0o777);
    const args = [
      'node',
      BIN,
      'cut',
      '--release',
      release,
      '--arch',
      'amd64',
      '--cache-dir',
      cache,
      '--tar',
      path.join(d, 'r.tar'),
      '--nonroot',
      'hello_bins',
    ];
    // As nobody when nobody can read this checkout; else as uid 0 stripped of every capability (no chown, no DAC override).
    const nobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
    const asNobody =
      spawnSync('setpriv', [...nobody, '--', 'test', '-r', BIN]).status === 0 &&
      spawnSync('setpriv', [...nobody, '--', 'test', '-r', path.join(path.dirname(BIN), '..', 'node_modules', 'yaml', 'package.json')])
        .status === 0;
    const who = asNobody ? nobody : ['--bounding-set=-all', '--inh-caps=-all'];
    const r = await runAsync('setpriv', [...who, '--', ...args], { env: { ...process.env, HOME: d, XDG_CACHE_HOME: cache, CI: 'true' } });
    expect(r.code, r.err).toBe(0);
    expect(statSync(path.join(d, 'r.tar')).uid).toBe(asNobody ? 65534 : 0);
    if (!asNobody) expect(tool('setpriv', [...who, '--', 'sh', '-c', 'grep CapEff /proc/self/status'])).toMatch(/CapEff:\s+0+$/m);
    const by = new Map((await tarEntries(readFileSync(path.join(d, 'r.tar')))).map((e) => [e.name, e]));
    expect(by.get('home/nonroot/')).toMatchObject({ uid: 65532, gid: 65532, mode: 0o700 });
    expect(by.get('srv/app/')).toMatchObject({ uid: 1000, gid: 1000, mode: 0o750 });
    expect(by.get('usr/bin/su-helper')).toMatchObject({ uid: 0, gid: 0, mode: 0o4755 });
  });
});
