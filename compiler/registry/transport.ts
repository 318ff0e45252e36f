// One exchange with a registry: a request on keep-alive connections, its
// answer read into memory (at most 1 MiB), retried on broken connections,
// 429 and 5xx. Authentication is the caller's (it hands in the header).

import type http from 'node:http';
import type { Readable } from 'node:stream';
import { type Agents, closeAgents, keepAliveAgents, startRequest } from '../http/agents.js';
import { DEFAULT_RETRY, isRetryableNetworkError, isRetryableStatus, retryAfterMs, withRetries } from '../http/retry.js';
import { ChiselError } from '../util/errors.js';
import { networkError, type Target } from './errors.js';

export interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A body in memory, or a file to stream (opened once per attempt). */
export type Body = Buffer | { open: () => Readable; length: number };

export interface ReqSpec {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  url: URL;
  /** What is being done, for error messages ("uploading blob sha256:..."). */
  what: string;
  headers?: Record<string, string>;
  body?: Body;
  /** Retry transient failures inside this call (default true). */
  retry?: boolean;
}

const SOCKET_TIMEOUT_MS = 60_000;
const MAX_RESPONSE_BODY = 1024 * 1024;

export class Transport {
  private readonly agents: Agents = keepAliveAgents();

  constructor(
    readonly target: Target,
    readonly log: (msg: string) => void,
  ) {}

  close(): void {
    closeAgents(this.agents);
  }

  /** One request with transient retries (network errors, 5xx, 429); `auth` gives the Authorization header per attempt. */
  async exchange(spec: ReqSpec, auth: () => Promise<string | undefined>): Promise<Resp> {
    const retries = spec.retry !== false ? DEFAULT_RETRY.retries : 0;
    try {
      return await withRetries<Resp>(
        {
          retries,
          backoffMs: DEFAULT_RETRY.backoffMs,
          retryable: (o) =>
            o.ok ? isRetryableStatus(o.value.status) : !(o.error instanceof ChiselError) && isRetryableNetworkError(o.error),
          delayFor: (o) => (o.ok ? retryAfterMs(o.value.headers['retry-after']) : undefined),
          onRetry: (o) => this.log(`${spec.what}: ${o.ok ? `HTTP ${o.value.status}` : (o.error as Error).message}; retrying`),
        },
        async () => send(spec, await auth(), this.agents),
      );
    } catch (e) {
      if (e instanceof ChiselError) throw e;
      throw networkError(this.target, spec.what, spec.url, e);
    }
  }
}

function send(spec: ReqSpec, auth: string | undefined, agents: Agents): Promise<Resp> {
  return new Promise<Resp>((resolve, reject) => {
    const headers: Record<string, string> = { 'User-Agent': 'chisel-ts', ...spec.headers };
    if (auth) headers.Authorization = auth;
    const body = spec.body;
    if (body !== undefined) headers['Content-Length'] = String(body.length);
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
    const timeoutError = () => Object.assign(new Error(`no answer for ${SOCKET_TIMEOUT_MS / 1000}s`), { code: 'ETIMEDOUT' });
    const req = startRequest(spec.url, { method: spec.method, headers, agents, timeoutMs: SOCKET_TIMEOUT_MS, timeoutError }, (res) => {
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
