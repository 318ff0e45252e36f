// pushLayout: OCI layouts built in the test, pushed to a real docker-registry
// (distribution) on 127.0.0.1 and read back with skopeo; an in-test proxy in
// front of it adds Bearer/Basic auth, rewrites upload locations and injects
// faults. Nothing outside 127.0.0.0/8 is contacted.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PushOptions, pushLayout } from '../compiler/registry/push.js';
import { parseReference } from '../compiler/registry/reference.js';
import { ChiselError } from '../compiler/util/errors.js';
import { fakeCredentialHelper } from './support/registry.js';

const MT_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MT_INDEX = 'application/vnd.oci.image.index.v1+json';
const MT_CONFIG = 'application/vnd.oci.image.config.v1+json';
const MT_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const REGISTRY_BIN = '/usr/bin/docker-registry';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'chisel-push-test-'));
const emptyDockerConfig = path.join(tmp, 'empty-docker-config.json');
writeFileSync(emptyDockerConfig, '{"auths":{}}');
/** Options that never read the user's ~/.docker/config.json. */
const isolated: PushOptions = { dockerConfigPath: emptyDockerConfig };

// ---------------------------------------------------------------------------
// OCI layout construction

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function writeBlob(layout: string, mediaType: string, data: Buffer): Desc {
  const hex = sha256(data);
  mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(layout, 'blobs', 'sha256', hex), data);
  return { mediaType, digest: `sha256:${hex}`, size: data.length };
}

/** A one-file ustar archive. */
function tarOneFile(name: string, content: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([h, content, pad, Buffer.alloc(1024)]);
}

function pseudoRandom(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Writes config + layers + manifest blobs; returns the manifest descriptor. */
function addImage(layout: string, arch: string, files: Array<[string, Buffer]>): Desc {
  const layers: Desc[] = [];
  const diffIds: string[] = [];
  for (const [name, content] of files) {
    const tar = tarOneFile(name, content);
    diffIds.push(`sha256:${sha256(tar)}`);
    layers.push(writeBlob(layout, MT_LAYER, gzipSync(tar)));
  }
  const config = {
    created: '1970-01-01T00:00:00Z',
    architecture: arch,
    os: 'linux',
    config: { Env: ['PATH=/usr/bin:/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  const configDesc = writeBlob(layout, MT_CONFIG, Buffer.from(JSON.stringify(config)));
  const manifest = { schemaVersion: 2, mediaType: MT_MANIFEST, config: configDesc, layers };
  return {
    ...writeBlob(layout, MT_MANIFEST, Buffer.from(JSON.stringify(manifest, null, 2))),
    platform: { architecture: arch, os: 'linux' },
  };
}

function writeIndexJson(layout: string, manifests: Desc[]): void {
  writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MT_INDEX, manifests }));
}

let layoutN = 0;
function newLayoutDir(): string {
  const d = path.join(tmp, `layout-${layoutN++}`);
  mkdirSync(d, { recursive: true });
  return d;
}

/** A single-platform image: one small layer and one 2 MiB layer. */
function singleImageLayout(seed = 1): { dir: string; manifest: Desc } {
  const dir = newLayoutDir();
  const manifest = addImage(dir, 'amd64', [
    ['etc/hello.txt', Buffer.from(`hello ${seed}\n`)],
    ['usr/lib/big.bin', pseudoRandom(2 * 1024 * 1024, seed)],
  ]);
  const { platform: _p, ...top } = manifest;
  writeIndexJson(dir, [top]);
  return { dir, manifest };
}

/** An image index with two platforms (sharing one layer). */
function multiPlatformLayout(): { dir: string; index: Desc; children: Desc[]; indexBytes: Buffer } {
  const dir = newLayoutDir();
  const shared: [string, Buffer] = ['etc/shared.txt', Buffer.from('shared\n')];
  const children = [
    addImage(dir, 'amd64', [shared, ['usr/bin/tool', Buffer.from('amd64 tool\n')]]),
    addImage(dir, 'arm64', [shared, ['usr/bin/tool', Buffer.from('arm64 tool\n')]]),
  ];
  const indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT_INDEX, manifests: children }));
  const index = writeBlob(dir, MT_INDEX, indexBytes);
  writeIndexJson(dir, [index]);
  return { dir, index, children, indexBytes };
}

// ---------------------------------------------------------------------------
// Real registry

async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
  });
}

let registry: ChildProcess | undefined;
let registryLog = '';
let REG = ''; // 127.0.0.1:PORT

beforeAll(async () => {
  const port = await freePort();
  const root = path.join(tmp, 'registry-storage');
  mkdirSync(root);
  const config = path.join(tmp, 'registry.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${root}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  registry = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (c: Buffer) => {
    if (registryLog.length < 100_000) registryLog += c.toString();
  };
  registry.stdout?.on('data', collect);
  registry.stderr?.on('data', collect);
  REG = `127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while ((await get(`http://${REG}/v2/`)) !== 200) {
    if (registry.exitCode !== null || Date.now() > deadline) throw new Error(`docker-registry did not start:\n${registryLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  if (registry && registry.exitCode === null) {
    const exited = new Promise((r) => registry!.once('exit', r));
    registry.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (registry.exitCode === null) registry.kill('SIGKILL');
  }
  rmSync(tmp, { recursive: true, force: true });
});

function skopeo(...args: string[]): Buffer {
  return execFileSync('skopeo', args, { timeout: 30_000, env: { ...process.env, REGISTRY_AUTH_FILE: emptyDockerConfig } });
}

// ---------------------------------------------------------------------------
// Fake registry front: auth, location rewriting, faults

interface Fault {
  method: string;
  match: RegExp;
  status: number;
  times: number;
}

interface ProxyOptions {
  host?: string;
  auth?: 'none' | 'bearer' | 'basic';
  /** access_token instead of token in the token answer. */
  accessToken?: boolean;
  /** absolute (as the registry makes them), relative, or query-less paths. */
  location?: 'absolute' | 'relative' | 'noquery';
  /** Upload locations on this other origin (http://HOST:PORT) instead. */
  uploadsTo?: string;
  faults?: Fault[];
  /** Manifest PUT answers report this digest. */
  lieAboutDigest?: string;
}

interface Proxy {
  host: string;
  tokenRequests: Array<{ method: string; service: string | null; scopes: string[]; authorization?: string; grant?: string }>;
  requests: Array<{ method: string; path: string; authorization?: string }>;
  /** Most blob uploads (PUT) in flight at once. */
  maxUploads: number;
  close(): Promise<void>;
}

const USER = 'alice';
const PASS = 's3cret:with:colons';
const REFRESH_TOKEN = 'refresh-0123';

async function startProxy(opts: ProxyOptions = {}): Promise<Proxy> {
  const host = opts.host ?? '127.0.0.1';
  const port = await freePort(host);
  const origin = `http://${host}:${port}`;
  const issued = new Set<string>();
  const basicOk = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
  const faults = (opts.faults ?? []).map((f) => ({ ...f }));
  const proxy: Proxy = { host: `${host}:${port}`, tokenRequests: [], requests: [], maxUploads: 0, close: async () => {} };
  let uploads = 0;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const authorization = req.headers.authorization;
    if (url.pathname === '/token' && req.method === 'POST') {
      // OAuth2 refresh-token grant (docker config "identitytoken").
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        proxy.tokenRequests.push({
          method: 'POST',
          service: form.get('service'),
          scopes: form.getAll('scope'),
          grant: form.get('grant_type') ?? '',
        });
        if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== REFRESH_TOKEN) {
          res.writeHead(401, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error: 'invalid_grant' }));
          return;
        }
        const token = `tok-${issued.size + 1}`;
        issued.add(token);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ access_token: token, expires_in: 300 }));
      });
      return;
    }
    if (url.pathname === '/token') {
      proxy.tokenRequests.push({
        method: 'GET',
        service: url.searchParams.get('service'),
        scopes: url.searchParams.getAll('scope'),
        ...(authorization ? { authorization } : {}),
      });
      if (authorization !== basicOk) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      const token = `tok-${issued.size + 1}`;
      issued.add(token);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(opts.accessToken ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }));
      return;
    }
    proxy.requests.push({ method: req.method ?? '', path: url.pathname, ...(authorization ? { authorization } : {}) });

    const mode = opts.auth ?? 'none';
    const bearerOk = mode === 'bearer' && authorization?.startsWith('Bearer ') && issued.has(authorization.slice(7));
    if ((mode === 'bearer' && !bearerOk) || (mode === 'basic' && authorization !== basicOk)) {
      const repo = /^\/v2\/(.+?)\/(?:blobs|manifests)\//.exec(url.pathname)?.[1];
      const challenge =
        mode === 'basic'
          ? 'Basic realm="fake registry"'
          : `Bearer realm="${origin}/token",service="fake-registry"${repo ? `,scope="repository:${repo}:pull"` : ''}`;
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': challenge, 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }));
      return;
    }

    const fault = faults.find((f) => f.times > 0 && f.method === req.method && f.match.test(url.pathname));
    if (fault) {
      fault.times--;
      req.resume();
      res.writeHead(fault.status, { 'Content-Type': 'text/plain' });
      res.end('injected failure');
      return;
    }

    // Query-less upload locations: /upload/<base64url of the real path+query>.
    let upstreamPath = `${url.pathname}${url.search}`;
    if (url.pathname.startsWith('/upload/')) {
      const real = Buffer.from(url.pathname.slice('/upload/'.length), 'base64url').toString('utf8');
      upstreamPath = `${real}${url.search ? `&${url.search.slice(1)}` : ''}`;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const isUpload = req.method === 'PUT' && !url.pathname.includes('/manifests/');
    if (isUpload) proxy.maxUploads = Math.max(proxy.maxUploads, ++uploads);
    res.on('close', () => {
      if (isUpload) uploads--;
    });
    const up = http.request(
      { host: '127.0.0.1', port: Number(REG.split(':')[1]), method: req.method, path: upstreamPath, headers },
      (ures) => {
        const outHeaders = { ...ures.headers };
        const loc = ures.headers.location;
        if (loc) {
          const l = new URL(loc, origin);
          if (opts.uploadsTo) outHeaders.location = `${opts.uploadsTo}${l.pathname}${l.search}`;
          else if (opts.location === 'relative') outHeaders.location = `${l.pathname}${l.search}`;
          else if (opts.location === 'noquery')
            outHeaders.location = `${origin}/upload/${Buffer.from(`${l.pathname}${l.search}`).toString('base64url')}`;
        }
        if (opts.lieAboutDigest && req.method === 'PUT' && url.pathname.includes('/manifests/'))
          outHeaders['docker-content-digest'] = opts.lieAboutDigest;
        res.writeHead(ures.statusCode ?? 502, outHeaders);
        ures.pipe(res);
      },
    );
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  proxy.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return proxy;
}

function dockerConfig(name: string, auths: Record<string, unknown>): string {
  const p = path.join(tmp, `${name}.json`);
  writeFileSync(p, JSON.stringify({ auths }));
  return p;
}

async function pushError(p: Promise<unknown>): Promise<ChiselError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ChiselError);
    return e as ChiselError;
  }
  throw new Error('push succeeded, expected an error');
}

// ---------------------------------------------------------------------------

describe('parseReference', () => {
  it('splits registry, repository and tag', () => {
    expect(parseReference('localhost:5000/a/b:v1')).toEqual({ registry: 'localhost:5000', repository: 'a/b', tag: 'v1' });
    expect(parseReference('localhost/a')).toEqual({ registry: 'localhost', repository: 'a', tag: 'latest' });
    expect(parseReference('registry.test.invalid/x/y/z')).toEqual({
      registry: 'registry.test.invalid',
      repository: 'x/y/z',
      tag: 'latest',
    });
    expect(parseReference('[::1]:5000/img:1.0_rc-2')).toEqual({ registry: '[::1]:5000', repository: 'img', tag: '1.0_rc-2' });
    expect(parseReference('http://127.0.0.1:5000/img:t')).toEqual({ registry: '127.0.0.1:5000', repository: 'img', tag: 't' });
  });

  it('rejects references without a registry host or with bad names', () => {
    for (const bad of [
      'ubuntu:22.04',
      'library/ubuntu',
      'img',
      'localhost:5000/UPPER:v1',
      'localhost:5000/a:-bad',
      'localhost:5000/a@sha256:00',
      'localhost:5000/',
      'localhost:5000/a//b',
    ]) {
      expect(() => parseReference(bad), bad).toThrow(ChiselError);
    }
  });
});

describe('pushLayout to docker-registry', () => {
  it('pushes an image manifest that skopeo reads back, and skips blobs on the second push', async () => {
    const { dir, manifest } = singleImageLayout(1);
    const logs: string[] = [];
    const r = await pushLayout(dir, `${REG}/test/img:v1`, { ...isolated, log: (m) => logs.push(m) });
    expect(r).toEqual({
      reference: `${REG}/test/img:v1`,
      digest: manifest.digest,
      mediaType: MT_MANIFEST,
      uploadedBlobs: 3,
      skippedBlobs: 0,
      mountedBlobs: 0,
    });

    const raw = skopeo('inspect', '--raw', '--tls-verify=false', `docker://${REG}/test/img:v1`);
    expect(`sha256:${sha256(raw)}`).toBe(r.digest);
    const info = JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${REG}/test/img:v1`).toString()) as Record<string, unknown>;
    expect(info.Digest).toBe(r.digest);
    expect(info.Architecture).toBe('amd64');
    expect(info.Os).toBe('linux');
    expect((info.Layers as string[]).length).toBe(2);

    const again = await pushLayout(dir, `${REG}/test/img:v1`, isolated);
    expect(again.uploadedBlobs).toBe(0);
    expect(again.skippedBlobs).toBe(3);
    expect(again.digest).toBe(r.digest);
  });

  it('pushes a two-platform image index (children by digest, index under the tag)', async () => {
    const { dir, index, children, indexBytes } = multiPlatformLayout();
    const r = await pushLayout(dir, `${REG}/test/multi:v1`, isolated);
    expect(r.digest).toBe(index.digest);
    expect(r.mediaType).toBe(MT_INDEX);
    expect(r.uploadedBlobs).toBe(5); // 2 configs + shared layer + 2 tool layers
    const raw = skopeo('inspect', '--raw', '--tls-verify=false', `docker://${REG}/test/multi:v1`);
    expect(raw.equals(indexBytes)).toBe(true);
    const doc = JSON.parse(raw.toString()) as { mediaType: string; manifests: Desc[] };
    expect(doc.mediaType).toBe(MT_INDEX);
    expect(doc.manifests.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
    for (const child of children) {
      const c = skopeo('inspect', '--raw', '--tls-verify=false', `docker://${REG}/test/multi@${child.digest}`);
      expect(`sha256:${sha256(c)}`).toBe(child.digest);
    }
  });

  it('picks the manifest annotated with the tag when index.json lists several', async () => {
    const dir = newLayoutDir();
    const a = addImage(dir, 'amd64', [['a', Buffer.from('a')]]);
    const b = addImage(dir, 'amd64', [['b', Buffer.from('b')]]);
    writeIndexJson(dir, [
      { ...a, annotations: { 'org.opencontainers.image.ref.name': 'one' } },
      { ...b, annotations: { 'org.opencontainers.image.ref.name': 'two' } },
    ]);
    const r = await pushLayout(dir, `${REG}/test/pick:two`, isolated);
    expect(r.digest).toBe(b.digest);
    const e = await pushError(pushLayout(dir, `${REG}/test/pick:three`, isolated));
    expect(e.message).toMatch(/2 manifests and none is annotated/);
  });

  it('refuses a corrupted layout before contacting the registry', async () => {
    const { dir, manifest } = singleImageLayout(7);
    writeFileSync(path.join(dir, 'blobs', 'sha256', manifest.digest.slice(7)), '{"tampered":true}');
    const e = await pushError(pushLayout(dir, '127.0.0.1:1/never/contacted:v1', isolated));
    expect(e.message).toMatch(/corrupted layout/);
    const e2 = await pushError(pushLayout(`${tmp}/does-not-exist`, `${REG}/x:v1`, isolated));
    expect(e2.message).toMatch(/cannot read oci-layout/);
  });
});

describe('pushLayout through a fake registry front', () => {
  it('gets a Bearer token with the docker config credentials, caches it, and uses it', async () => {
    const proxy = await startProxy({ auth: 'bearer' });
    try {
      const cfg = dockerConfig('bearer', { [`https://${proxy.host}/v1/`]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } });
      const { dir, manifest } = singleImageLayout(2);
      const r = await pushLayout(dir, `${proxy.host}/test/auth:v1`, { dockerConfigPath: cfg });
      expect(r.digest).toBe(manifest.digest);
      expect(r.uploadedBlobs).toBe(3);
      expect(proxy.tokenRequests).toHaveLength(1);
      expect(proxy.tokenRequests[0]).toMatchObject({ service: 'fake-registry', scopes: ['repository:test/auth:pull,push'] });
      // Every registry request after the challenge carried the token.
      expect(proxy.requests.filter((q) => q.authorization === 'Bearer tok-1').length).toBeGreaterThan(5);
      const raw = skopeo('inspect', '--raw', '--tls-verify=false', `docker://${REG}/test/auth:v1`);
      expect(`sha256:${sha256(raw)}`).toBe(manifest.digest);
    } finally {
      await proxy.close();
    }
  });

  it('accepts access_token, username/password entries, relative and query-less upload locations', async () => {
    for (const location of ['relative', 'noquery'] as const) {
      const proxy = await startProxy({ auth: 'bearer', accessToken: true, location });
      try {
        const cfg = dockerConfig(`userpass-${location}`, { [proxy.host]: { username: USER, password: PASS } });
        const { dir, manifest } = singleImageLayout(location === 'relative' ? 3 : 4);
        const r = await pushLayout(dir, `${proxy.host}/test/loc-${location}:v1`, { dockerConfigPath: cfg });
        expect(r.digest).toBe(manifest.digest);
        expect(r.uploadedBlobs).toBe(3);
        expect(
          proxy.requests.some(
            (q) => q.method === 'PUT' && (location === 'noquery' ? q.path.startsWith('/upload/') : q.path.includes('/blobs/uploads/')),
          ),
        ).toBe(true);
        const raw = skopeo('inspect', '--raw', '--tls-verify=false', `docker://${REG}/test/loc-${location}:v1`);
        expect(`sha256:${sha256(raw)}`).toBe(manifest.digest);
      } finally {
        await proxy.close();
      }
    }
  });

  it('answers a Basic challenge with the credentials', async () => {
    const proxy = await startProxy({ auth: 'basic' });
    try {
      const cfg = dockerConfig('basic', { [`http://${proxy.host}`]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } });
      const { dir, manifest } = singleImageLayout(5);
      const r = await pushLayout(dir, `${proxy.host}/test/basic:v1`, { dockerConfigPath: cfg });
      expect(r.digest).toBe(manifest.digest);
      expect(proxy.tokenRequests).toHaveLength(0);

      // Without dockerConfigPath: $DOCKER_CONFIG/config.json.
      const dockerDir = path.join(tmp, 'docker-config-dir');
      mkdirSync(dockerDir);
      writeFileSync(path.join(dockerDir, 'config.json'), JSON.stringify({ auths: { [proxy.host]: { username: USER, password: PASS } } }));
      const saved = process.env.DOCKER_CONFIG;
      process.env.DOCKER_CONFIG = dockerDir;
      try {
        const again = await pushLayout(dir, `${proxy.host}/test/basic:v2`);
        expect(again.digest).toBe(manifest.digest);
        expect(again.uploadedBlobs).toBe(0);
      } finally {
        if (saved === undefined) delete process.env.DOCKER_CONFIG;
        else process.env.DOCKER_CONFIG = saved;
      }
    } finally {
      await proxy.close();
    }
  });

  it('exchanges an identitytoken for a Bearer token (refresh_token grant)', async () => {
    const proxy = await startProxy({ auth: 'bearer' });
    try {
      const cfg = dockerConfig('identity', { [proxy.host]: { auth: '', identitytoken: REFRESH_TOKEN } });
      const { dir, manifest } = singleImageLayout(12);
      const r = await pushLayout(dir, `${proxy.host}/test/identity:v1`, { dockerConfigPath: cfg });
      expect(r.digest).toBe(manifest.digest);
      expect(proxy.tokenRequests).toEqual([
        { method: 'POST', service: 'fake-registry', scopes: ['repository:test/identity:pull,push'], grant: 'refresh_token' },
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('uploads at most three blobs at a time', async () => {
    const proxy = await startProxy();
    try {
      const dir = newLayoutDir();
      const files: Array<[string, Buffer]> = Array.from({ length: 8 }, (_, i) => [`f${i}`, pseudoRandom(512 * 1024, 100 + i)]);
      const manifest = addImage(dir, 'amd64', files);
      writeIndexJson(dir, [manifest]);
      const r = await pushLayout(dir, `${proxy.host}/test/many:v1`, isolated);
      expect(r.digest).toBe(manifest.digest);
      expect(r.uploadedBlobs).toBe(9);
      expect(proxy.maxUploads).toBeLessThanOrEqual(3);
      expect(proxy.maxUploads).toBeGreaterThanOrEqual(2);
    } finally {
      await proxy.close();
    }
  });

  it('fails with 401 and a docker login hint without credentials or with wrong ones', async () => {
    const proxy = await startProxy({ auth: 'bearer' });
    try {
      const { dir } = singleImageLayout(6);
      const e = await pushError(pushLayout(dir, `${proxy.host}/test/denied:v1`, isolated));
      expect(e.message).toMatch(/401/);
      expect(e.message).toContain(proxy.host);
      expect(e.hint).toContain(`docker login ${proxy.host}`);
      expect(proxy.tokenRequests[0]?.authorization).toBeUndefined();

      const wrong = dockerConfig('wrong', { [proxy.host]: { username: USER, password: 'nope' } });
      const e2 = await pushError(pushLayout(dir, `${proxy.host}/test/denied:v1`, { dockerConfigPath: wrong }));
      expect(e2.message).toMatch(/HTTP 401 Unauthorized: .*incorrect username or password/);
      expect(e2.hint).toMatch(/docker login/);
    } finally {
      await proxy.close();
    }
    const basic = await startProxy({ auth: 'basic' });
    try {
      const { dir } = singleImageLayout(6);
      const e = await pushError(pushLayout(dir, `${basic.host}/test/denied:v1`, isolated));
      expect(e.message).toMatch(/HTTP 401.*UNAUTHORIZED: authentication required/);
      expect(e.hint).toMatch(/docker login/);
    } finally {
      await basic.close();
    }
  });

  it('retries 5xx and 429 answers', async () => {
    const proxy = await startProxy({
      faults: [
        { method: 'HEAD', match: /\/blobs\//, status: 503, times: 2 },
        { method: 'PUT', match: /\/blobs\/uploads\//, status: 500, times: 1 },
        { method: 'PUT', match: /\/manifests\//, status: 429, times: 1 },
      ],
    });
    try {
      const { dir, manifest } = singleImageLayout(8);
      const logs: string[] = [];
      const r = await pushLayout(dir, `${proxy.host}/test/flaky:v1`, { ...isolated, log: (m) => logs.push(m) });
      expect(r.digest).toBe(manifest.digest);
      expect(r.uploadedBlobs).toBe(3);
      expect(logs.filter((l) => l.includes('retrying'))).toHaveLength(4);
    } finally {
      await proxy.close();
    }
    const broken = await startProxy({ faults: [{ method: 'PUT', match: /\/manifests\//, status: 502, times: 100 }] });
    try {
      const { dir } = singleImageLayout(8);
      const e = await pushError(pushLayout(dir, `${broken.host}/test/flaky:v1`, isolated));
      expect(e.message).toMatch(/pushing manifest .* failed: HTTP 502 Bad Gateway: injected failure/);
      expect(broken.requests.filter((q) => q.method === 'PUT' && q.path.includes('/manifests/'))).toHaveLength(4);
    } finally {
      await broken.close();
    }
  });

  it('fails when the registry reports another manifest digest', async () => {
    const proxy = await startProxy({ lieAboutDigest: `sha256:${'0'.repeat(64)}` });
    try {
      const { dir } = singleImageLayout(9);
      const e = await pushError(pushLayout(dir, `${proxy.host}/test/liar:v1`, isolated));
      expect(e.message).toMatch(/reports digest sha256:0{64}/);
    } finally {
      await proxy.close();
    }
  });
});

/** Runs `f` with these environment variables set (undefined: unset), then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  set(vars);
  try {
    return await f();
  } finally {
    set(saved);
  }
}

/** A proxy for the length of `f`. */
async function withProxy<T>(opts: ProxyOptions, f: (proxy: Proxy) => Promise<T>): Promise<T> {
  const proxy = await startProxy(opts);
  try {
    return await f(proxy);
  } finally {
    await proxy.close();
  }
}

describe('credentials as docker and podman find them', () => {
  const basicOk = Buffer.from(`${USER}:${PASS}`).toString('base64');

  it('credHelpers and credsStore: docker-credential-<name> get with the registry on stdin, against a Basic registry', async () => {
    await withProxy({ auth: 'basic' }, async (proxy) => {
      const helper = fakeCredentialHelper({ [proxy.host]: { Username: USER, Secret: PASS } });
      const { dir, manifest } = singleImageLayout(20);
      await withEnv({ PATH: `${helper.bin}:${process.env.PATH}` }, async () => {
        const helpers = dockerConfig('helpers', {});
        writeFileSync(helpers, JSON.stringify({ auths: {}, credHelpers: { [proxy.host]: 'test' } }));
        const logs: string[] = [];
        const r = await pushLayout(dir, `${proxy.host}/test/helper:v1`, { dockerConfigPath: helpers, log: (m) => logs.push(m) });
        expect(r.digest).toBe(manifest.digest);
        expect(readFileSync(helper.log, 'utf8')).toBe(`get ${proxy.host}\n`);
        expect(proxy.requests.some((q) => q.authorization === `Basic ${basicOk}`)).toBe(true);
        // never in the log or the result
        for (const text of [...logs, JSON.stringify(r)]) {
          expect(text).not.toContain(PASS);
          expect(text).not.toContain(basicOk);
        }
        // credsStore: the same helper for every registry
        const store = dockerConfig('store', {});
        writeFileSync(store, JSON.stringify({ auths: { [proxy.host]: {} }, credsStore: 'test' }));
        const again = await pushLayout(dir, `${proxy.host}/test/helper:v2`, { dockerConfigPath: store });
        expect(again.uploadedBlobs).toBe(0);
        // the helper has nothing for this registry: no credentials, a 401 with a login hint
        const other = dockerConfig('other', {});
        writeFileSync(other, JSON.stringify({ credHelpers: { [proxy.host]: 'test' } }));
        const wrongHost = fakeCredentialHelper({ 'elsewhere.test': { Username: USER, Secret: PASS } });
        await withEnv({ PATH: `${wrongHost.bin}:${process.env.PATH}` }, async () => {
          const e = await pushError(pushLayout(dir, `${proxy.host}/test/helper:v3`, { dockerConfigPath: other }));
          expect(e.message).toMatch(/HTTP 401/);
        });
      });
    });
  });

  it('a helper answering <token> gives an identity token; a failing or missing helper is an error without its output', async () => {
    await withProxy({ auth: 'bearer' }, async (proxy) => {
      const helper = fakeCredentialHelper({ [proxy.host]: { Username: '<token>', Secret: REFRESH_TOKEN } });
      writeFileSync(path.join(helper.bin, 'docker-credential-broken'), `#!/bin/sh\necho '${PASS}'\nexit 3\n`, { mode: 0o755 });
      const { dir, manifest } = singleImageLayout(21);
      const cfg = (helperName: string) => {
        const p = dockerConfig(`token-${helperName.replace(/\W/g, '_')}`, {});
        writeFileSync(p, JSON.stringify({ credHelpers: { [proxy.host]: helperName } }));
        return p;
      };
      await withEnv({ PATH: `${helper.bin}:${process.env.PATH}` }, async () => {
        const r = await pushLayout(dir, `${proxy.host}/test/token:v1`, { dockerConfigPath: cfg('test') });
        expect(r.digest).toBe(manifest.digest);
        expect(proxy.tokenRequests[0]).toMatchObject({ method: 'POST', grant: 'refresh_token' });
        const broken = await pushError(pushLayout(dir, `${proxy.host}/test/token:v2`, { dockerConfigPath: cfg('broken') }));
        expect(broken.message).toMatch(/credential helper docker-credential-broken .* failed \(exit 3\)/);
        expect(`${broken.message} ${broken.hint}`).not.toContain(PASS);
        const missing = await pushError(pushLayout(dir, `${proxy.host}/test/token:v2`, { dockerConfigPath: cfg('absent') }));
        expect(missing.message).toMatch(/docker-credential-absent .* is not on PATH/);
        const evil = await pushError(pushLayout(dir, `${proxy.host}/test/token:v2`, { dockerConfigPath: cfg('../../bin/sh') }));
        expect(evil.message).toMatch(/has a name that is not a program name/);
      });
    });
  });

  it('REGISTRY_AUTH_FILE, then $XDG_RUNTIME_DIR/containers/auth.json, then the docker config', async () => {
    await withProxy({ auth: 'basic' }, async (proxy) => {
      const { dir } = singleImageLayout(22);
      const good = { auths: { [proxy.host]: { auth: basicOk } } };
      const bad = { auths: { [proxy.host]: { username: USER, password: 'nope' } } };
      const home = mkdtempSync(path.join(tmp, 'authfiles-'));
      const runtime = path.join(home, 'run');
      mkdirSync(path.join(runtime, 'containers'), { recursive: true });
      mkdirSync(path.join(home, 'docker'));
      const env = { REGISTRY_AUTH_FILE: path.join(home, 'auth.json'), XDG_RUNTIME_DIR: runtime, DOCKER_CONFIG: path.join(home, 'docker') };
      writeFileSync(path.join(home, 'docker/config.json'), JSON.stringify(bad));
      writeFileSync(path.join(runtime, 'containers/auth.json'), JSON.stringify(good));
      await withEnv(env, async () => {
        // auth.json of podman before the docker config
        expect((await pushLayout(dir, `${proxy.host}/test/authfile:v1`)).uploadedBlobs).toBe(3);
        // REGISTRY_AUTH_FILE before both
        writeFileSync(path.join(runtime, 'containers/auth.json'), JSON.stringify(bad));
        writeFileSync(path.join(home, 'auth.json'), JSON.stringify(good));
        expect((await pushLayout(dir, `${proxy.host}/test/authfile:v2`)).uploadedBlobs).toBe(0);
        // only the docker config has some: used; its wrong password is refused, and the error does not show it
        rmSync(path.join(home, 'auth.json'));
        rmSync(path.join(runtime, 'containers/auth.json'));
        const e = await pushError(pushLayout(dir, `${proxy.host}/test/authfile:v3`));
        expect(e.message).toMatch(/HTTP 401/);
        expect(e.hint).toContain(path.join(home, 'docker/config.json'));
        expect(`${e.message} ${e.hint}`).not.toContain('nope');
      });
    });
  });

  it('credentials are never sent to another origin (uploads elsewhere get no Authorization)', async () => {
    const elsewhere = await startProxy();
    const proxy = await startProxy({ auth: 'basic', uploadsTo: `http://${elsewhere.host}` });
    try {
      const cfg = dockerConfig('origin', { [proxy.host]: { auth: basicOk } });
      const { dir, manifest } = singleImageLayout(23);
      const r = await pushLayout(dir, `${proxy.host}/test/origin:v1`, { dockerConfigPath: cfg });
      expect(r.digest).toBe(manifest.digest);
      expect(elsewhere.requests.filter((q) => q.method === 'PUT').length).toBe(3);
      expect(elsewhere.requests.filter((q) => q.authorization !== undefined)).toEqual([]);
      expect(proxy.requests.some((q) => q.authorization === `Basic ${basicOk}`)).toBe(true);
    } finally {
      await proxy.close();
      await elsewhere.close();
    }
  });
});

describe('pushLayout transport security', () => {
  it('refuses plain HTTP to a non-localhost registry without insecure', async () => {
    const { dir } = singleImageLayout(10);
    const e = await pushError(pushLayout(dir, 'http://registry.test.invalid:5000/test/img:v1', isolated));
    expect(e.message).toMatch(/plain HTTP/);
    expect(e.hint).toMatch(/--insecure/);
  });

  it('uses https for other hosts, explains a plain-HTTP answer, and uses http with insecure', async () => {
    // 127.0.0.2 is loopback on Linux but not one of the hosts allowed plain HTTP by default.
    const proxy = await startProxy({ host: '127.0.0.2' });
    try {
      const { dir, manifest } = singleImageLayout(11);
      const e = await pushError(pushLayout(dir, `${proxy.host}/test/insecure:v1`, isolated));
      expect(e.message).toMatch(/TLS handshake failed/);
      expect(e.hint).toMatch(/--insecure/);
      expect(proxy.requests).toHaveLength(0);
      const r = await pushLayout(dir, `${proxy.host}/test/insecure:v1`, { ...isolated, insecure: true });
      expect(r.digest).toBe(manifest.digest);
    } finally {
      await proxy.close();
    }
  });
});
