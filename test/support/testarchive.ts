// A hermetic APT archive for tests: real .deb files, Packages indexes (plain,
// gz, xz), a cleartext-signed InRelease made with a key generated for the
// test, served over HTTP on 127.0.0.1, with by-hash copies and fault
// injection for failure tests.

import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import * as openpgp from 'openpgp';
import { buildDeb, compress, type DebCompression, type DebFile } from './debbuild.js';

export interface TestPackage {
  name: string;
  version: string;
  arch?: string;
  files: DebFile[];
  compression?: DebCompression;
  control?: Record<string, string>;
  /** Names written verbatim, no implicit parents (hostile packages). */
  rawNames?: boolean;
}

/** 'redirect': a 302 to /moved/<path>, which serves the file; '500': every time, '500-once': the first time only. */
export type Fault = '404' | '401' | '500' | '500-once' | 'reset' | 'stall' | 'truncate' | 'tamper' | 'redirect';

interface Key {
  armoredPublicKey: string;
  privateKey: openpgp.PrivateKey;
  keyId: string;
}

/** An ed25519 key; or RSA 2048 without subkeys ('rsa'), the only kind Chisel reads (one public key per armor, no EdDSA). */
export async function generateKey(name = 'chisel-ts test archive', type: 'ecc' | 'rsa' = 'ecc'): Promise<Key> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    ...(type === 'rsa' ? { type: 'rsa' as const, rsaBits: 2048, subkeys: [] } : { type: 'ecc' as const, curve: 'ed25519Legacy' as const }),
    userIDs: [{ name }],
    format: 'object',
  });
  return { armoredPublicKey: publicKey.armor(), privateKey, keyId: publicKey.getKeyID().toHex().toUpperCase() };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export class TestArchive {
  readonly files = new Map<string, Buffer>();
  readonly requests: string[] = [];
  private readonly faults: Array<{ re: RegExp; kind: Fault; used: boolean }> = [];
  private readonly suites = new Map<string, Map<string, TestPackage[]>>();
  private server!: http.Server;
  url = '';
  key!: Key;
  /** Sign with this key instead (an unknown key, for failure tests). */
  signingKey?: Key;
  validUntil?: Date;
  /** The InRelease Date field (default 2026-01-01). */
  date = new Date(Date.UTC(2026, 0, 1));
  /** The InRelease Label field, when set (Chisel reads only a section labelled "Ubuntu"). */
  label?: string;
  byHash = true;
  arch = 'amd64';
  /** Architectures the archive serves (default: just `arch`); packages of arch "all" are listed in each. */
  archs: string[] = [];
  /** Basic auth required on every request (a pro archive): others get 401. */
  auth?: { username: string; password: string };
  /** Send the first half of each .deb at once and the rest this many milliseconds later (progress tests watch a download under way). */
  debDelayMs = 0;
  /** The Authorization header of each request (undefined when none was sent). */
  readonly authorizations: Array<string | undefined> = [];
  /** Awaited before a request for `path` is answered (a test holds an answer back). */
  hold?: (path: string) => Promise<void> | undefined;

  static async create(
    opts: {
      suites?: Record<string, Record<string, TestPackage[]>>;
      arch?: string;
      archs?: string[];
      byHash?: boolean;
      key?: Key;
      /** Serve https with this key and certificate chain (PEM). */
      tls?: { key: string; cert: string };
    } = {},
  ): Promise<TestArchive> {
    const a = new TestArchive();
    a.key = opts.key ?? (await generateKey());
    if (opts.arch) a.arch = opts.arch;
    a.archs = opts.archs ?? [a.arch];
    if (opts.byHash !== undefined) a.byHash = opts.byHash;
    for (const [suite, comps] of Object.entries(opts.suites ?? {})) {
      for (const [comp, pkgs] of Object.entries(comps)) for (const p of pkgs) a.add(suite, comp, p);
    }
    await a.rebuild();
    await a.listen(opts.tls);
    return a;
  }

  get armoredPublicKey(): string {
    return this.key.armoredPublicKey;
  }
  get keyId(): string {
    return this.key.keyId;
  }

  private add(suite: string, comp: string, p: TestPackage): void {
    const comps = this.suites.get(suite) ?? new Map<string, TestPackage[]>();
    const list = (comps.get(comp) ?? []).filter((x) => !(x.name === p.name && (x.arch ?? this.arch) === (p.arch ?? this.arch)));
    list.push(p);
    comps.set(comp, list);
    this.suites.set(suite, comps);
  }

  /** Add or replace a package and re-sign the archive. Old pool files stay unless `dropOld`. */
  async publish(suite: string, comp: string, p: TestPackage, opts: { dropOld?: boolean } = {}): Promise<void> {
    if (opts.dropOld) {
      for (const k of [...this.files.keys()]) if (k.startsWith(`pool/${comp}/`) && k.includes(`/${p.name}_`)) this.files.delete(k);
    }
    this.add(suite, comp, p);
    await this.rebuild();
  }

  /** Remove a pool file (e.g. a superseded version). */
  removeFile(pathPrefix: string): void {
    for (const k of [...this.files.keys()]) if (k.startsWith(pathPrefix)) this.files.delete(k);
  }

  fault(pattern: RegExp, kind: Fault): void {
    this.faults.push({ re: pattern, kind, used: false });
  }
  clearFaults(): void {
    this.faults.length = 0;
  }

  async rebuild(): Promise<void> {
    for (const [suite, comps] of this.suites) {
      const listed: Array<[string, Buffer]> = [];
      for (const [comp, pkgs] of comps) {
        const stanzas = new Map<string, string[]>(this.archs.map((a) => [a, []]));
        for (const p of [...pkgs].sort((a, b) => (a.name < b.name ? -1 : 1))) {
          const arch = p.arch ?? this.arch;
          const deb = await buildDeb({
            package: p.name,
            version: p.version,
            arch,
            files: p.files,
            compression: p.compression ?? 'gz',
            ...(p.control ? { control: p.control } : {}),
            ...(p.rawNames ? { rawNames: true } : {}),
          });
          const filename = `pool/${comp}/${p.name[0]}/${p.name}/${p.name}_${p.version.replace(/^\d+:/, '')}_${arch}.deb`;
          this.files.set(filename, deb);
          const stanza = [
            `Package: ${p.name}`,
            `Version: ${p.version}`,
            `Architecture: ${arch}`,
            `Maintainer: Test <test@example.invalid>`,
            `Filename: ${filename}`,
            `Size: ${deb.length}`,
            `SHA256: ${sha256(deb)}`,
            `Description: test package ${p.name}`,
          ].join('\n');
          for (const a of this.archs) if (arch === a || arch === 'all') stanzas.get(a)!.push(stanza);
        }
        for (const a of this.archs) {
          const text = Buffer.from(`${stanzas.get(a)!.join('\n\n')}\n`);
          const base = `${comp}/binary-${a}/Packages`;
          listed.push([base, text], [`${base}.gz`, zlib.gzipSync(text)], [`${base}.xz`, await compress(text, 'xz')]);
        }
      }
      const lines = [
        'Origin: chisel-ts-test',
        ...(this.label ? [`Label: ${this.label}`] : []),
        `Suite: ${suite}`,
        `Codename: ${suite}`,
        `Date: ${this.date.toUTCString()}`,
        ...(this.validUntil ? [`Valid-Until: ${this.validUntil.toUTCString()}`] : []),
        `Architectures: ${this.archs.join(' ')}`,
        `Components: ${[...comps.keys()].join(' ')}`,
        `Acquire-By-Hash: ${this.byHash ? 'yes' : 'no'}`,
        'SHA256:',
        ...listed.map(([p, b]) => ` ${sha256(b)} ${String(b.length).padStart(8)} ${p}`),
      ];
      for (const [p, b] of listed) {
        this.files.set(`dists/${suite}/${p}`, b);
        if (this.byHash) this.files.set(`dists/${suite}/${p.slice(0, p.lastIndexOf('/'))}/by-hash/SHA256/${sha256(b)}`, b);
      }
      const message = await openpgp.createCleartextMessage({ text: `${lines.join('\n')}\n` });
      const signed = await openpgp.sign({ message, signingKeys: (this.signingKey ?? this.key).privateKey });
      this.files.set(`dists/${suite}/InRelease`, Buffer.from(signed as string));
    }
  }

  private listen(tls?: { key: string; cert: string }): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const p = decodeURIComponent((req.url ?? '/').replace(/^\/+/, '').split('?')[0]!);
      const held = this.hold?.(p);
      if (held) {
        void held.then(() => answer(p, req, res));
        return;
      }
      answer(p, req, res);
    };
    const answer = (p: string, req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.requests.push(p);
      this.authorizations.push(req.headers.authorization);
      if (this.auth) {
        const want = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64')}`;
        if (req.headers.authorization !== want) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end('unauthorized');
          return;
        }
      }
      const f = p.startsWith('moved/') ? undefined : this.faults.find((x) => x.re.test(p) && !(x.kind === '500-once' && x.used));
      const body = this.files.get(p.startsWith('moved/') ? p.slice('moved/'.length) : p);
      if (f) {
        f.used = true;
        switch (f.kind) {
          case '404':
            res.writeHead(404).end('not found');
            return;
          case '401':
            res.writeHead(401).end('unauthorized');
            return;
          case '500':
          case '500-once':
            res.writeHead(500).end('boom');
            return;
          case 'reset':
            req.socket.destroy();
            return;
          case 'stall':
            res.writeHead(200, { 'content-length': String(body?.length ?? 10) });
            res.write(body?.subarray(0, 1) ?? 'x');
            return; // never ends
          case 'truncate':
            res.writeHead(200, { 'content-length': String(body?.length ?? 10) });
            res.write(body?.subarray(0, Math.floor((body?.length ?? 10) / 2)) ?? 'x');
            res.socket?.destroy();
            return;
          case 'redirect':
            res.writeHead(302, { location: `/moved/${p}` }).end();
            return;
          case 'tamper': {
            if (!body) break;
            const t = Buffer.from(body);
            t[t.length >> 1] = t[t.length >> 1]! ^ 0xff;
            res.writeHead(200, { 'content-length': String(t.length) }).end(t);
            return;
          }
        }
      }
      if (!body) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-length': String(body.length) });
      if (this.debDelayMs && p.endsWith('.deb')) {
        const half = body.length >> 1;
        res.write(body.subarray(0, half));
        setTimeout(() => res.end(body.subarray(half)), this.debDelayMs);
      } else res.end(body);
    };
    this.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    return new Promise((resolve) => {
      this.server.listen(0, '127.0.0.1', () => {
        this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
