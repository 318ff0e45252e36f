// Registry authentication as the registry's challenges ask: none, HTTP
// Basic with the docker config credentials, or a Bearer token from the
// realm of a WWW-Authenticate challenge (credentials or an identity token
// exchanged for it; cached per scope until shortly before it expires).

import { ChiselError } from '../util/errors.js';
import { basicAuth, type Credentials } from './credentials.js';
import { httpError } from './errors.js';
import { isLocalHost } from './reference.js';
import type { ReqSpec, Resp, Transport } from './transport.js';

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

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** The Authorization header for a registry's requests, learnt from its 401 answers. */
export class Authenticator {
  private mode: 'none' | 'basic' | 'bearer' = 'none';
  private bearer?: { realm: string; service?: string };
  private readonly tokens = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly transport: Transport,
    /** The registry's origin: credentials go nowhere else. */
    private readonly base: URL,
    /** The token scope, e.g. repository:my/image:pull,push. */
    private readonly scope: string,
    private readonly creds: Credentials | undefined,
    private readonly insecure: boolean,
  ) {}

  private sameOrigin(u: URL): boolean {
    return u.protocol === this.base.protocol && u.host === this.base.host;
  }

  async authorization(u: URL): Promise<string | undefined> {
    if (!this.sameOrigin(u)) return undefined;
    if (this.mode === 'basic' && this.creds?.username !== undefined) return basicAuth({ ...this.creds, username: this.creds.username });
    if (this.mode === 'bearer') return `Bearer ${await this.token()}`;
    return undefined;
  }

  /** true when the request is worth repeating with new credentials. */
  acceptChallenge(res: Resp): boolean {
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

  private realmUrl(realm: string): URL {
    const { registry } = this.transport.target;
    let u: URL;
    try {
      u = new URL(realm);
    } catch {
      throw new ChiselError(`registry ${registry} sent an invalid token realm "${realm}"`, {
        code: 'push-auth',
        hint: 'check the registry configuration',
      });
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      throw new ChiselError(`registry ${registry} sent a token realm with unsupported scheme "${realm}"`, { code: 'push-auth' });
    }
    if (u.protocol === 'http:' && !this.insecure && !isLocalHost(u.host)) {
      throw new ChiselError(
        `registry ${registry} asks for a token from plain-HTTP realm ${realm}; refusing to send credentials without TLS`,
        {
          code: 'push-insecure',
          hint: 'use --insecure to allow plain HTTP',
        },
      );
    }
    return u;
  }

  private async fetchToken(): Promise<CachedToken> {
    const { realm, service } = this.bearer!;
    const u = this.realmUrl(realm);
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
      if (creds?.username !== undefined) auth = basicAuth({ ...creds, username: creds.username });
    }
    this.transport.log(`${spec.what} for ${this.scope}${auth || creds?.identityToken ? '' : ' (anonymous)'}`);
    const res = await this.transport.exchange(spec, async () => auth);
    const target = this.transport.target;
    if (res.status !== 200) throw httpError(target, spec.what, res);
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(res.body.toString('utf8')) as typeof doc;
    } catch {
      throw httpError(target, `${spec.what}: the answer is not JSON`, res);
    }
    const token =
      typeof doc.token === 'string' && doc.token
        ? doc.token
        : typeof doc.access_token === 'string' && doc.access_token
          ? doc.access_token
          : undefined;
    if (!token) throw httpError(target, `${spec.what}: the answer has no "token" or "access_token"`, res);
    const ttl = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    return { token, expiresAt: Date.now() + Math.max(ttl - 10, ttl / 2) * 1000 };
  }
}
