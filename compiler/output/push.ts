// Push an OCI image layout directory (oci-layout, index.json, blobs/<alg>/<hex>)
// to a registry that speaks the OCI distribution API.
//
// Order of work: read and verify every manifest of the layout first (nothing
// is sent for a broken layout), then the blobs (config + layers; HEAD, and a
// monolithic upload only when missing, three at a time), then the manifests
// children first (by digest) and the top one last under the tag, so the tag
// never points at something incomplete.
//
// Transport: https by default; plain http only for localhost / 127.0.0.1 /
// [::1] or when `insecure` is set. Auth: docker config.json credentials, used
// on a `Basic` challenge directly, or to obtain a token on a `Bearer`
// challenge (token cached per scope).

import http from 'node:http';
import https from 'node:https';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { sha256Hex } from '../cache/store.js';
import { ChiselError } from '../util/errors.js';

export interface PushOptions {
  /** Allow plain HTTP for non-localhost hosts. */
  insecure?: boolean;
  /** Default: $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
  dockerConfigPath?: string;
  log?: (msg: string) => void;
  /** Artifacts (an SBOM, ...) to attach to the pushed image as OCI referrers. */
  referrers?: Artifact[];
  /** annotations.org.opencontainers.image.created of the referrer manifests. */
  created?: string;
}

/** One file pushed as an OCI artifact whose subject is the pushed image. */
export interface Artifact {
  artifactType: string;
  bytes: Buffer;
  /** File name (org.opencontainers.image.title). */
  title: string;
}

export interface PushResult {
  reference: string;
  digest: string;
  mediaType: string;
  uploadedBlobs: number;
  skippedBlobs: number;
  referrers?: Array<{ digest: string; artifactType: string; via: 'referrers-api' | 'tag-schema' }>;
}

const MT_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MT_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const MT_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const MT_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const MANIFEST_TYPES = new Set([MT_OCI_MANIFEST, MT_DOCKER_MANIFEST]);
const INDEX_TYPES = new Set([MT_OCI_INDEX, MT_DOCKER_LIST]);
const REF_NAME = 'org.opencontainers.image.ref.name';
const MT_EMPTY = 'application/vnd.oci.empty.v1+json';

const UPLOAD_CONCURRENCY = 3;
const RETRIES = 3;
const BACKOFF_MS = 250;
const SOCKET_TIMEOUT_MS = 60_000;
const MAX_RESPONSE_BODY = 1024 * 1024;
const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;

// ---------------------------------------------------------------------------
// References

const REPO_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const REPO_RE = new RegExp(`^${REPO_COMPONENT}(?:/${REPO_COMPONENT})*$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;
const REF_HINT = 'write the reference as REGISTRY/REPOSITORY[:TAG], e.g. localhost:5000/my/image:v1';

function splitScheme(ref: string): { scheme?: 'http' | 'https'; rest: string } {
  const m = /^(https?):\/\//i.exec(ref);
  if (!m) return { rest: ref };
  return { scheme: m[1]!.toLowerCase() as 'http' | 'https', rest: ref.slice(m[0].length) };
}

function refError(ref: string, why: string): ChiselError {
  return new ChiselError(`invalid image reference "${ref}": ${why}`, { code: 'push-reference', hint: REF_HINT });
}

/** `REGISTRY/REPO[/MORE][:TAG]` (an optional http:// or https:// prefix is accepted and ignored). */
export function parseReference(ref: string): { registry: string; repository: string; tag: string } {
  const { rest } = splitScheme(ref.trim());
  if (rest.includes('@')) throw refError(ref, 'digest references cannot be pushed to; give a tag');
  const slash = rest.indexOf('/');
  if (slash <= 0) throw refError(ref, 'no registry host (the part before the first "/")');
  const registry = rest.slice(0, slash);
  if (!(registry.includes('.') || registry.includes(':') || registry === 'localhost')) {
    throw refError(
      ref,
      `"${registry}" is not a registry host (a host must contain "." or ":" or be "localhost"; there is no default registry)`,
    );
  }
  if (!HOST_RE.test(registry)) throw refError(ref, `"${registry}" is not a valid registry host[:port]`);
  let repository = rest.slice(slash + 1);
  let tag = 'latest';
  const colon = repository.lastIndexOf(':');
  if (colon > repository.lastIndexOf('/')) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
  }
  if (!REPO_RE.test(repository)) {
    throw refError(ref, `"${repository}" is not a valid repository name (lowercase letters, digits, and . _ - / separators)`);
  }
  if (!TAG_RE.test(tag)) throw refError(ref, `"${tag}" is not a valid tag (up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)`);
  return { registry, repository, tag };
}

function isLocalHost(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.split(':')[0]!;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

// ---------------------------------------------------------------------------
// Credentials (docker config.json)

interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
}

export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG ? path.join(env.DOCKER_CONFIG, 'config.json') : path.join(os.homedir(), '.docker', 'config.json');
}

function normalizeAuthKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, '');
  const slash = k.indexOf('/');
  if (slash >= 0) k = k.slice(0, slash);
  return k.toLowerCase();
}

async function loadCredentials(registry: string, configPath: string, explicit: boolean): Promise<Credentials | undefined> {
  let text: string;
  try {
    text = await fs.readFile(configPath, 'utf8');
  } catch (e) {
    if (!explicit && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ChiselError(`cannot read docker config ${configPath}: ${(e as Error).message}`, {
      code: 'push-auth',
      hint: 'give an existing config.json, or leave the option out to use ~/.docker/config.json',
      cause: e,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ChiselError(`docker config ${configPath} is not valid JSON: ${(e as Error).message}`, {
      code: 'push-auth',
      hint: 'fix or remove the file',
      cause: e,
    });
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (!auths || typeof auths !== 'object') return undefined;
  const want = registry.toLowerCase();
  for (const [key, raw] of Object.entries(auths as Record<string, unknown>)) {
    if (normalizeAuthKey(key) !== want || !raw || typeof raw !== 'object') continue;
    const entry = raw as Record<string, unknown>;
    const creds: Credentials = {};
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i < 0) {
        throw new ChiselError(`docker config ${configPath}: "auth" for ${key} is not base64 of "user:password"`, {
          code: 'push-auth',
          hint: `run \`docker login ${registry}\` again`,
        });
      }
      creds.username = decoded.slice(0, i);
      creds.password = decoded.slice(i + 1);
    } else if (typeof entry.username === 'string' && entry.username !== '') {
      creds.username = entry.username;
      creds.password = typeof entry.password === 'string' ? entry.password : '';
    }
    if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') creds.identityToken = entry.identitytoken;
    if (creds.username !== undefined || creds.identityToken !== undefined) return creds;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// WWW-Authenticate

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Scheme k="v", k2=v2, Scheme2 ...` into challenges. */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = () => {
    while (i < n && /[\s,]/.test(header[i]!)) i++;
  };
  const token = () => {
    const s = i;
    while (i < n && /[^\s,=]/.test(header[i]!)) i++;
    return header.slice(s, i);
  };
  let cur: Challenge | undefined;
  while (true) {
    skipWs();
    if (i >= n) break;
    const start = i;
    const t = token();
    if (!t) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && header[j] === ' ') j++;
    if (header[j] === '=' && cur) {
      i = j + 1;
      while (i < n && header[i] === ' ') i++;
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const s = i;
        while (i < n && header[i] !== ',') i++;
        value = header.slice(s, i).trim();
      }
      cur.params[t.toLowerCase()] = value;
    } else if (header[j] === '=' && !cur) {
      i = start + t.length + 1;
    } else {
      cur = { scheme: t.toLowerCase(), params: {} };
      out.push(cur);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// HTTP

interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

type Body = Buffer | { open: () => Readable; length: number };

interface ReqSpec {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  url: URL;
  /** What is being done, for error messages ("uploading blob sha256:..."). */
  what: string;
  headers?: Record<string, string>;
  body?: Body;
  /** Retry transient failures inside this call (default true). */
  retry?: boolean;
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'ENETRESET', 'UND_ERR_SOCKET']);

function isTransientError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function backoff(attempt: number, res?: Resp): number {
  const ra = res?.headers['retry-after'];
  if (typeof ra === 'string' && /^\d+$/.test(ra)) return Math.min(Number(ra) * 1000, 10_000);
  return BACKOFF_MS * 2 ** attempt;
}

function bodySnippet(body: Buffer): string {
  if (body.length === 0) return '';
  const text = body.subarray(0, 4096).toString('utf8');
  try {
    const doc = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown; detail?: unknown }> };
    if (Array.isArray(doc.errors) && doc.errors.length > 0) {
      const parts = doc.errors.map((e) => {
        let s = [e.code, e.message].filter((x) => typeof x === 'string' && x !== '').join(': ');
        if (e.detail !== undefined && e.detail !== null) s += ` (${JSON.stringify(e.detail)})`;
        return s;
      });
      return clip(parts.join('; '));
    }
  } catch {
    // not JSON: raw text
  }
  return clip(text);
}

function clip(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 300 ? `${t.slice(0, 300)}...` : t;
}

function send(spec: ReqSpec, auth: string | undefined, agents: Agents): Promise<Resp> {
  return new Promise<Resp>((resolve, reject) => {
    const isHttps = spec.url.protocol === 'https:';
    const mod = isHttps ? https : http;
    const headers: Record<string, string> = { 'User-Agent': 'chisel-ts', ...spec.headers };
    if (auth) headers.Authorization = auth;
    const body = spec.body;
    if (body !== undefined) headers['Content-Length'] = String(Buffer.isBuffer(body) ? body.length : body.length);
    else if (spec.method === 'POST' || spec.method === 'PUT') headers['Content-Length'] = '0';
    let settled = false;
    let requestDone = false;
    let source: Readable | undefined;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      source?.destroy();
      reject(e);
    };
    const req = mod.request(spec.url, { method: spec.method, headers, agent: isHttps ? agents.https : agents.http }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_RESPONSE_BODY) chunks.push(c);
        size += c.length;
      });
      res.on('error', fail);
      res.on('aborted', () => fail(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        // The server answered before taking the whole body (e.g. 401): drop the socket.
        if (!requestDone) {
          source?.destroy();
          req.destroy();
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    req.setTimeout(SOCKET_TIMEOUT_MS, () =>
      req.destroy(Object.assign(new Error(`no answer for ${SOCKET_TIMEOUT_MS / 1000}s`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', fail);
    req.on('finish', () => {
      requestDone = true;
    });
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      source = body.open();
      source.on('error', (e) => {
        req.destroy(e);
        fail(e);
      });
      source.pipe(req);
    }
  });
}

interface Agents {
  http: http.Agent;
  https: https.Agent;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

class RegistryClient {
  readonly base: URL;
  readonly scope: string;
  private mode: 'none' | 'basic' | 'bearer' = 'none';
  private bearer?: { realm: string; service?: string };
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  readonly agents: Agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 8 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 8 }),
  };

  constructor(
    readonly registry: string,
    readonly repository: string,
    scheme: 'http' | 'https',
    private readonly creds: Credentials | undefined,
    private readonly configPath: string,
    private readonly insecure: boolean,
    private readonly log: (msg: string) => void,
  ) {
    this.base = new URL(`${scheme}://${registry}/`);
    this.scope = `repository:${repository}:pull,push`;
  }

  get where(): string {
    return `${this.registry}/${this.repository}`;
  }

  url(p: string): URL {
    return new URL(p, this.base);
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  loginHint(): string {
    return `run \`docker login ${this.registry}\` or add credentials for ${this.registry} to ${this.configPath}`;
  }

  /** One request with transient retries (network errors, 5xx, 429); no auth handling. */
  async sendRetrying(spec: ReqSpec, auth: () => Promise<string | undefined>): Promise<Resp> {
    const retry = spec.retry !== false;
    for (let attempt = 0; ; attempt++) {
      let res: Resp;
      try {
        res = await send(spec, await auth(), this.agents);
      } catch (e) {
        if (e instanceof ChiselError) throw e;
        if (retry && attempt < RETRIES && isTransientError(e)) {
          this.log(`${spec.what}: ${(e as Error).message}; retrying`);
          await sleep(backoff(attempt));
          continue;
        }
        throw this.networkError(spec, e);
      }
      if (retry && attempt < RETRIES && isTransientStatus(res.status)) {
        this.log(`${spec.what}: HTTP ${res.status}; retrying`);
        await sleep(backoff(attempt, res));
        continue;
      }
      return res;
    }
  }

  /** A request to the registry, authenticated as its challenges ask. */
  async request(spec: ReqSpec): Promise<Resp> {
    let challenged = false;
    while (true) {
      const res = await this.sendRetrying(spec, () => this.authorization(spec.url));
      if (res.status !== 401 || challenged) return res;
      challenged = true;
      if (!(await this.acceptChallenge(res))) return res;
    }
  }

  private sameOrigin(u: URL): boolean {
    return u.protocol === this.base.protocol && u.host === this.base.host;
  }

  private async authorization(u: URL): Promise<string | undefined> {
    if (!this.sameOrigin(u)) return undefined;
    if (this.mode === 'basic' && this.creds?.username !== undefined) {
      return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password ?? ''}`).toString('base64')}`;
    }
    if (this.mode === 'bearer') return `Bearer ${await this.token()}`;
    return undefined;
  }

  /** true when the request is worth repeating with new credentials. */
  private async acceptChallenge(res: Resp): Promise<boolean> {
    const header = res.headers['www-authenticate'];
    const challenges = parseWwwAuthenticate(Array.isArray(header) ? header.join(', ') : (header ?? ''));
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      const realm = bearer.params.realm!;
      const service = bearer.params.service;
      const wasBearer = this.mode === 'bearer';
      this.mode = 'bearer';
      this.bearer = service !== undefined ? { realm, service } : { realm };
      // A 401 with a token in hand: it expired or was refused; get a fresh one.
      if (wasBearer) this.tokens.delete(this.tokenKey());
      return true;
    }
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (basic && this.creds?.username !== undefined && this.mode !== 'basic') {
      this.mode = 'basic';
      return true;
    }
    return false;
  }

  private tokenKey(): string {
    return `${this.bearer?.realm ?? ''} ${this.bearer?.service ?? ''} ${this.scope}`;
  }

  private async token(): Promise<string> {
    const key = this.tokenKey();
    let p = this.tokens.get(key);
    if (p) {
      const t = await p.catch(() => undefined);
      if (t && t.expiresAt > Date.now()) return t.token;
      if (this.tokens.get(key) === p) this.tokens.delete(key);
    }
    p = this.tokens.get(key);
    if (!p) {
      p = this.fetchToken();
      this.tokens.set(key, p);
      p.catch(() => {
        if (this.tokens.get(key) === p) this.tokens.delete(key);
      });
    }
    return (await p).token;
  }

  private async fetchToken(): Promise<CachedToken> {
    const { realm, service } = this.bearer!;
    let u: URL;
    try {
      u = new URL(realm);
    } catch {
      throw new ChiselError(`registry ${this.registry} sent an invalid token realm "${realm}"`, {
        code: 'push-auth',
        hint: 'check the registry configuration',
      });
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      throw new ChiselError(`registry ${this.registry} sent a token realm with unsupported scheme "${realm}"`, { code: 'push-auth' });
    }
    if (u.protocol === 'http:' && !this.insecure && !isLocalHost(u.host)) {
      throw new ChiselError(
        `registry ${this.registry} asks for a token from plain-HTTP realm ${realm}; refusing to send credentials without TLS`,
        {
          code: 'push-insecure',
          hint: 'use --insecure to allow plain HTTP',
        },
      );
    }
    const creds = this.creds;
    let spec: ReqSpec;
    let auth: string | undefined;
    if (creds?.identityToken !== undefined) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.identityToken,
        client_id: 'chisel-ts',
        scope: this.scope,
      });
      if (service !== undefined) form.set('service', service);
      spec = {
        method: 'POST',
        url: u,
        what: `requesting a token from ${u.origin}${u.pathname}`,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
      };
    } else {
      if (service !== undefined) u.searchParams.set('service', service);
      u.searchParams.append('scope', this.scope);
      spec = { method: 'GET', url: u, what: `requesting a token from ${u.origin}${u.pathname}` };
      if (creds?.username !== undefined) auth = `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
    }
    this.log(`${spec.what} for ${this.scope}${auth || creds?.identityToken ? '' : ' (anonymous)'}`);
    const res = await this.sendRetrying(spec, async () => auth);
    if (res.status !== 200) throw this.httpError(spec.what, res);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(res.body.toString('utf8')) as typeof doc;
    } catch {
      throw this.httpError(`${spec.what}: the answer is not JSON`, res);
    }
    const token =
      typeof doc.token === 'string' && doc.token
        ? doc.token
        : typeof doc.access_token === 'string' && doc.access_token
          ? doc.access_token
          : undefined;
    if (!token) throw this.httpError(`${spec.what}: the answer has no "token" or "access_token"`, res);
    const ttl = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    return { token, expiresAt: Date.now() + Math.max(ttl - 10, ttl / 2) * 1000 };
  }

  httpError(what: string, res: Resp, hint?: string): ChiselError {
    const snippet = bodySnippet(res.body);
    const statusText = http.STATUS_CODES[res.status];
    const msg = `${what} for ${this.where} failed: HTTP ${res.status}${statusText ? ` ${statusText}` : ''}${snippet ? `: ${snippet}` : ''}`;
    let h = hint;
    if (h === undefined) {
      if (res.status === 401 || res.status === 403) h = this.loginHint();
      else if (res.status === 404) h = `check the repository name, and that ${this.registry} serves the OCI distribution API under /v2/`;
      else if (res.status === 413) h = 'the registry refused the size of the upload; check its upload size limits';
      else if (isTransientStatus(res.status)) h = 'the registry is failing or throttling requests; try again later';
      else if (res.status === 400) h = 'the registry rejected the content; check that the image layout is complete and valid';
    }
    return new ChiselError(msg, { code: 'push', ...(h !== undefined ? { hint: h } : {}) });
  }

  networkError(spec: ReqSpec, e: unknown): ChiselError {
    const err = e as NodeJS.ErrnoException;
    const code = err?.code ?? '';
    const text = `${code} ${err?.message ?? String(e)}`;
    let hint: string;
    if (/wrong version number|packet length too long|http request|EPROTO/i.test(text) && spec.url.protocol === 'https:') {
      hint = `${spec.url.host} does not seem to speak HTTPS; if it is a plain-HTTP registry, use --insecure to allow it`;
    } else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/i.test(code)) {
      hint = `the TLS certificate of ${spec.url.host} is not trusted; add its CA with NODE_EXTRA_CA_CERTS`;
    } else if (code === 'ECONNREFUSED') {
      hint = `is the registry running at ${spec.url.host}?`;
    } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      hint = `check the host name ${spec.url.hostname}`;
    } else {
      hint = 'check the network connection to the registry, then try again';
    }
    let detail = (err?.message ?? String(e)).trim();
    const ssl = /SSL routines:[^:]*:([^:]+)/.exec(detail);
    if (ssl) detail = `TLS handshake failed: ${ssl[1]}`;
    if (code && !detail.includes(code)) detail += ` (${code})`;
    return new ChiselError(`${spec.what} for ${this.where} failed: ${detail}`, {
      code: 'push',
      hint,
      cause: e,
    });
  }
}

// ---------------------------------------------------------------------------
// Layout

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  urls?: string[];
}

interface PlannedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

function layoutError(dir: string, what: string, hint = 'rebuild the image layout'): ChiselError {
  return new ChiselError(`OCI layout ${dir}: ${what}`, { code: 'push-layout', hint });
}

function checkDescriptor(dir: string, d: unknown, where: string): Descriptor {
  const desc = d as Partial<Descriptor> | null;
  if (!desc || typeof desc !== 'object') throw layoutError(dir, `${where}: descriptor is not an object`);
  if (typeof desc.digest !== 'string' || !DIGEST_RE.test(desc.digest))
    throw layoutError(dir, `${where}: bad digest ${JSON.stringify(desc.digest)}`);
  if (typeof desc.size !== 'number' || !Number.isSafeInteger(desc.size) || desc.size < 0)
    throw layoutError(dir, `${where}: bad size for ${desc.digest}`);
  if (desc.mediaType !== undefined && typeof desc.mediaType !== 'string')
    throw layoutError(dir, `${where}: bad mediaType for ${desc.digest}`);
  return { ...desc, mediaType: desc.mediaType ?? '' } as Descriptor;
}

function blobPath(dir: string, digest: string): string {
  const [alg, hex] = digest.split(':') as [string, string];
  return path.join(dir, 'blobs', alg, hex);
}

async function readJsonFile(dir: string, name: string): Promise<unknown> {
  const p = path.join(dir, name);
  let text: string;
  try {
    text = await fs.readFile(p, 'utf8');
  } catch (e) {
    throw layoutError(
      dir,
      `cannot read ${name}: ${(e as Error).message}`,
      'give the directory of an OCI image layout (with oci-layout, index.json and blobs/)',
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw layoutError(dir, `${name} is not valid JSON: ${(e as Error).message}`);
  }
}

async function readManifestBlob(dir: string, desc: Descriptor): Promise<Buffer> {
  if (desc.size > MAX_MANIFEST_SIZE) throw layoutError(dir, `manifest ${desc.digest} is too large (${desc.size} bytes)`);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(blobPath(dir, desc.digest));
  } catch (e) {
    throw layoutError(dir, `missing manifest blob ${desc.digest}: ${(e as Error).message}`);
  }
  const [alg] = desc.digest.split(':') as [string];
  const actual = `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
  if (actual !== desc.digest) throw layoutError(dir, `blob ${desc.digest} has digest ${actual} (corrupted layout)`);
  if (bytes.length !== desc.size) throw layoutError(dir, `blob ${desc.digest} is ${bytes.length} bytes, descriptor says ${desc.size}`);
  return bytes;
}

function selectTop(dir: string, index: unknown, tag: string, fullRef: string): Descriptor {
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests) || manifests.length === 0) throw layoutError(dir, 'index.json lists no manifests');
  const descs = manifests.map((m, i) => checkDescriptor(dir, m, `index.json manifests[${i}]`));
  if (descs.length === 1) return descs[0]!;
  const matching = descs.filter((d) => {
    const name = d.annotations?.[REF_NAME];
    return name === tag || name === fullRef;
  });
  if (matching.length === 1) return matching[0]!;
  const names = descs.map((d) => d.annotations?.[REF_NAME] ?? '(unnamed)').join(', ');
  throw layoutError(
    dir,
    matching.length === 0
      ? `index.json lists ${descs.length} manifests and none is annotated ${REF_NAME}=${tag} (names: ${names})`
      : `index.json lists ${matching.length} manifests annotated ${REF_NAME}=${tag}`,
    'push with the tag of the manifest to push, or write a layout with a single manifest',
  );
}

interface Plan {
  blobs: Map<string, Descriptor>;
  /** Children before parents; the last one is the top. */
  manifests: PlannedManifest[];
}

async function planManifest(dir: string, desc: Descriptor, plan: Plan, seen: Set<string>, depth: number): Promise<PlannedManifest> {
  if (depth > MAX_INDEX_DEPTH) throw layoutError(dir, `image indexes nested more than ${MAX_INDEX_DEPTH} deep`);
  const bytes = await readManifestBlob(dir, desc);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw layoutError(dir, `manifest ${desc.digest} is not valid JSON: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object') throw layoutError(dir, `manifest ${desc.digest} is not a JSON object`);
  const mediaType = typeof doc.mediaType === 'string' && doc.mediaType ? doc.mediaType : desc.mediaType;
  const planned: PlannedManifest = { digest: desc.digest, mediaType, bytes };
  if (INDEX_TYPES.has(mediaType)) {
    const children = doc.manifests;
    if (!Array.isArray(children)) throw layoutError(dir, `image index ${desc.digest} has no "manifests" list`);
    for (const [i, c] of children.entries()) {
      const child = checkDescriptor(dir, c, `image index ${desc.digest} manifests[${i}]`);
      if (seen.has(child.digest)) continue;
      seen.add(child.digest);
      plan.manifests.push(await planManifest(dir, child, plan, seen, depth + 1));
    }
  } else if (MANIFEST_TYPES.has(mediaType)) {
    const config = checkDescriptor(dir, doc.config, `manifest ${desc.digest} config`);
    const layers = doc.layers;
    if (!Array.isArray(layers)) throw layoutError(dir, `manifest ${desc.digest} has no "layers" list`);
    plan.blobs.set(config.digest, config);
    for (const [i, l] of layers.entries()) {
      const layer = checkDescriptor(dir, l, `manifest ${desc.digest} layers[${i}]`);
      if (!plan.blobs.has(layer.digest)) plan.blobs.set(layer.digest, layer);
    }
  } else {
    throw layoutError(
      dir,
      `manifest ${desc.digest} has unsupported media type "${mediaType || '(none)'}"`,
      `only ${MT_OCI_MANIFEST} and ${MT_OCI_INDEX} (or their Docker v2 equivalents) can be pushed`,
    );
  }
  return planned;
}

// ---------------------------------------------------------------------------
// Push

async function runPool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(n, items.length) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

function uploadUrl(client: RegistryClient, location: string, digest: string): URL {
  let u: URL;
  try {
    u = new URL(location, client.base);
  } catch {
    throw new ChiselError(`registry ${client.registry} returned an invalid upload location "${location}"`, { code: 'push' });
  }
  // Append to the query as given (it may carry opaque state that must not be re-encoded).
  const href = u.href.replace(/#.*$/, '');
  const sep = !href.includes('?') ? '?' : href.endsWith('?') || href.endsWith('&') ? '' : '&';
  return new URL(`${href}${sep}digest=${encodeURIComponent(digest)}`);
}

async function pushBlob(
  client: RegistryClient,
  dir: string,
  desc: Descriptor,
  log: (m: string) => void,
  data?: Buffer,
): Promise<'uploaded' | 'skipped'> {
  const file = blobPath(dir, desc.digest);
  let size: number;
  try {
    size = data ? data.length : (await fs.stat(file)).size;
  } catch (e) {
    if (desc.urls && desc.urls.length > 0) {
      log(`blob ${desc.digest} is not in the layout and has external URLs; not uploading it`);
      return 'skipped';
    }
    throw layoutError(dir, `missing blob ${desc.digest}: ${(e as Error).message}`);
  }
  if (size !== desc.size) throw layoutError(dir, `blob ${desc.digest} is ${size} bytes, its descriptor says ${desc.size}`);
  const blobUrl = client.url(`/v2/${client.repository}/blobs/${desc.digest}`);
  const head = await client.request({ method: 'HEAD', url: blobUrl, what: `checking blob ${desc.digest}` });
  if (head.status === 200) {
    log(`blob ${desc.digest} already present`);
    return 'skipped';
  }
  if (head.status !== 404) throw client.httpError(`checking blob ${desc.digest}`, head);

  const what = `uploading blob ${desc.digest}`;
  for (let attempt = 0; ; attempt++) {
    const start = await client.request({
      method: 'POST',
      url: client.url(`/v2/${client.repository}/blobs/uploads/`),
      what: `starting upload of ${desc.digest}`,
    });
    if (start.status !== 202) throw client.httpError(`starting upload of ${desc.digest}`, start);
    const location = start.headers.location;
    if (!location)
      throw client.httpError(
        `starting upload of ${desc.digest}: no Location header in the answer`,
        start,
        'the registry does not follow the OCI distribution API',
      );
    const url = uploadUrl(client, location, desc.digest);
    log(`${what} (${size} bytes)`);
    let res: Resp;
    try {
      res = await client.request({
        method: 'PUT',
        url,
        what,
        headers: { 'Content-Type': 'application/octet-stream' },
        body: data ?? { open: () => createReadStream(file), length: size },
        retry: false, // the whole upload session is retried here
      });
    } catch (e) {
      if (attempt < RETRIES && e instanceof ChiselError && isTransientError(e.cause)) {
        log(`${what}: ${(e.cause as Error).message}; retrying`);
        await sleep(backoff(attempt));
        continue;
      }
      throw e;
    }
    if (isTransientStatus(res.status) && attempt < RETRIES) {
      log(`${what}: HTTP ${res.status}; retrying`);
      await sleep(backoff(attempt, res));
      continue;
    }
    if (res.status !== 201 && res.status !== 200 && res.status !== 204) throw client.httpError(what, res);
    const got = res.headers['docker-content-digest'];
    if (typeof got === 'string' && got !== '' && got !== desc.digest) {
      throw new ChiselError(`${what} for ${client.where}: the registry stored it as ${got}`, {
        code: 'push',
        hint: 'the blob file in the layout may be corrupted; rebuild the layout',
      });
    }
    return 'uploaded';
  }
}

async function pushManifest(client: RegistryClient, m: PlannedManifest, reference: string, log: (m: string) => void): Promise<Resp> {
  const what = `pushing manifest ${m.digest}${reference !== m.digest ? ` as ${reference}` : ''}`;
  log(what);
  const res = await client.request({
    method: 'PUT',
    url: client.url(`/v2/${client.repository}/manifests/${reference}`),
    what,
    headers: { 'Content-Type': m.mediaType },
    body: m.bytes,
  });
  if (res.status !== 201 && res.status !== 200 && res.status !== 202 && res.status !== 204) throw client.httpError(what, res);
  const got = res.headers['docker-content-digest'];
  if (typeof got === 'string' && got !== '' && got !== m.digest) {
    throw new ChiselError(`${what} for ${client.where}: the registry reports digest ${got}, expected ${m.digest}`, {
      code: 'push',
      hint: 'the registry changed the manifest (it may not support this media type); the pushed image is not the one in the layout',
    });
  }
  return res;
}

const sha256Of = (bytes: Buffer): string => `sha256:${sha256Hex(bytes)}`;

/**
 * Push `a` as an artifact manifest whose subject is `subject`. A registry with
 * the referrers API answers with an OCI-Subject header; for one without it
 * the artifact is listed in the index tagged `sha256-<hex>` (the referrers
 * tag schema of the distribution spec), which `oras discover` also reads.
 */
async function pushReferrer(
  client: RegistryClient,
  subject: PlannedManifest,
  a: Artifact,
  created: string | undefined,
  log: (m: string) => void,
): Promise<{ digest: string; artifactType: string; via: 'referrers-api' | 'tag-schema' }> {
  const empty = Buffer.from('{}');
  const config: Descriptor = { mediaType: MT_EMPTY, digest: sha256Of(empty), size: empty.length };
  const layer: Descriptor = { mediaType: a.artifactType, digest: sha256Of(a.bytes), size: a.bytes.length };
  await pushBlob(client, '', config, log, empty);
  await pushBlob(client, '', layer, log, a.bytes);
  const annotations = created ? { 'org.opencontainers.image.created': created } : undefined;
  const manifest = {
    schemaVersion: 2,
    mediaType: MT_OCI_MANIFEST,
    artifactType: a.artifactType,
    config: { ...config, data: empty.toString('base64') },
    layers: [{ ...layer, annotations: { 'org.opencontainers.image.title': a.title } }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length },
    ...(annotations ? { annotations } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const planned: PlannedManifest = { digest: sha256Of(bytes), mediaType: MT_OCI_MANIFEST, bytes };
  const res = await pushManifest(client, planned, planned.digest, log);
  if (res.headers['oci-subject'] === subject.digest) return { digest: planned.digest, artifactType: a.artifactType, via: 'referrers-api' };

  const tag = subject.digest.replace(':', '-');
  const url = client.url(`/v2/${client.repository}/manifests/${tag}`);
  const got = await client.request({ method: 'GET', url, what: `reading the referrers index ${tag}`, headers: { Accept: MT_OCI_INDEX } });
  let index: { schemaVersion: number; mediaType: string; manifests: Array<Record<string, unknown>> } = {
    schemaVersion: 2,
    mediaType: MT_OCI_INDEX,
    manifests: [],
  };
  if (got.status === 200) {
    try {
      const doc = JSON.parse(got.body.toString('utf8')) as typeof index;
      if (doc.mediaType === MT_OCI_INDEX && Array.isArray(doc.manifests)) index = doc;
    } catch {
      // not an index: replace it, as the distribution spec says
    }
  } else if (got.status !== 404) {
    throw client.httpError(`reading the referrers index ${tag}`, got);
  }
  if (!index.manifests.some((m) => m.digest === planned.digest)) {
    index.manifests.push({
      mediaType: MT_OCI_MANIFEST,
      digest: planned.digest,
      size: bytes.length,
      artifactType: a.artifactType,
      ...(annotations ? { annotations } : {}),
    });
    const ib = Buffer.from(JSON.stringify(index));
    await pushManifest(client, { digest: sha256Of(ib), mediaType: MT_OCI_INDEX, bytes: ib }, tag, log);
  }
  return { digest: planned.digest, artifactType: a.artifactType, via: 'tag-schema' };
}

export async function pushLayout(layoutDir: string, ref: string, opts: PushOptions = {}): Promise<PushResult> {
  const log = opts.log ?? (() => {});
  const { scheme: explicitScheme } = splitScheme(ref.trim());
  const { registry, repository, tag } = parseReference(ref);
  const reference = `${registry}/${repository}:${tag}`;
  const local = isLocalHost(registry);
  if (explicitScheme === 'http' && !local && !opts.insecure) {
    throw new ChiselError(`refusing to push to ${registry}/${repository} over plain HTTP`, {
      code: 'push-insecure',
      hint: 'use --insecure to allow plain HTTP to a registry other than localhost',
    });
  }
  const scheme: 'http' | 'https' = explicitScheme ?? (local || opts.insecure ? 'http' : 'https');

  // Read and check the whole layout before talking to the registry.
  const dir = path.resolve(layoutDir);
  const marker = (await readJsonFile(dir, 'oci-layout')) as { imageLayoutVersion?: unknown } | null;
  if (!marker || typeof marker.imageLayoutVersion !== 'string') throw layoutError(dir, 'oci-layout has no imageLayoutVersion');
  const top = selectTop(dir, await readJsonFile(dir, 'index.json'), tag, reference);
  const plan: Plan = { blobs: new Map(), manifests: [] };
  const topManifest = await planManifest(dir, top, plan, new Set([top.digest]), 0);

  const explicitConfig = opts.dockerConfigPath !== undefined;
  const configPath = opts.dockerConfigPath ?? defaultDockerConfigPath();
  const creds = await loadCredentials(registry, configPath, explicitConfig);
  const client = new RegistryClient(registry, repository, scheme, creds, configPath, !!opts.insecure, log);
  try {
    const ping = await client.request({ method: 'GET', url: client.url('/v2/'), what: 'contacting the registry' });
    if (ping.status !== 200) throw client.httpError('contacting the registry (GET /v2/)', ping);

    let uploaded = 0;
    let skipped = 0;
    await runPool([...plan.blobs.values()], UPLOAD_CONCURRENCY, async (desc) => {
      if ((await pushBlob(client, dir, desc, log)) === 'uploaded') uploaded++;
      else skipped++;
    });
    for (const m of plan.manifests) await pushManifest(client, m, m.digest, log);
    await pushManifest(client, topManifest, tag, log);
    log(`pushed ${reference}@${topManifest.digest}`);
    const referrers = [];
    for (const a of opts.referrers ?? []) {
      const r = await pushReferrer(client, topManifest, a, opts.created, log);
      log(`attached ${a.title} (${a.artifactType}) as ${r.digest}`);
      referrers.push(r);
    }
    return {
      reference,
      digest: topManifest.digest,
      mediaType: topManifest.mediaType,
      uploadedBlobs: uploaded,
      skippedBlobs: skipped,
      ...(referrers.length ? { referrers } : {}),
    };
  } finally {
    client.close();
  }
}
