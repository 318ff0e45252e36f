// HTTP for the archive client: node:http(s) with keep-alive (lighter than
// fetch: no WHATWG streams, nothing to load on first use), an idle
// timeout that also catches servers that stall mid-body, retries with
// exponential backoff on transient failures (5xx, 408, 429, resets, timeouts,
// truncated bodies) and none on definitive answers (401, 403, 404, ...).
// The agents, the idle timer and the retry loop are compiler/http's.

import type http from 'node:http';
import { isHttpUrl, keepAliveAgents, startRequest } from '../http/agents.js';
import { DEFAULT_RETRY, isRetryableStatus, withRetries as retrying } from '../http/retry.js';

export class HttpStatusError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
  ) {
    super(`${url}: ${status} ${statusText || STATUS_TEXT[status] || ''}`.trimEnd());
    this.name = 'HttpStatusError';
  }
  get transient(): boolean {
    return isRetryableStatus(this.status) || this.status === 408;
  }
}

/** A network-level failure: reset, refused, stall/timeout, truncated body. */
export class HttpTransportError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly kind: 'timeout' | 'truncated' | 'network',
    cause?: unknown,
  ) {
    super(`${url}: ${reason}`, cause !== undefined ? { cause } : undefined);
    this.name = 'HttpTransportError';
  }
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export interface HttpOptions {
  /** Idle timeout: no response headers or no body bytes for this long (default 30 s). */
  timeoutMs?: number;
  /** Extra attempts after the first on transient failures (default 3). */
  retries?: number;
  /** First backoff delay; doubles per attempt, with jitter (default 250 ms). */
  backoffMs?: number;
  onRetry?: (url: string, attempt: number, err: Error) => void;
  /** An Authorization header (a pro archive's Basic auth), sent only to the origin of the URL asked for, not across a redirect to another. */
  authorization?: string;
}

export function isTransient(e: unknown): boolean {
  if (e instanceof HttpStatusError) return e.transient;
  return e instanceof HttpTransportError;
}

function describeNetworkError(e: unknown): string {
  const err = e as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  const msg = err.cause?.message ?? err.message ?? String(e);
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return `connection reset (${msg})`;
  if (code === 'ECONNREFUSED') return `connection refused (${msg})`;
  return code ? `${code}: ${msg}` : msg;
}

const AGENTS = keepAliveAgents();
const MAX_REDIRECTS = 5;

/** Sends a GET; resolves with the response once its headers arrived. The idle timeout (socket inactivity) covers the wait for headers and every gap in the body. */
function get(url: string, timeoutMs: number, onTimeout: () => void, authorization?: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (!isHttpUrl(u)) {
      reject(new HttpTransportError(url, `unsupported protocol ${u.protocol}`, 'network'));
      return;
    }
    const timeoutError = (): Error => {
      onTimeout();
      return new Error(`timed out after ${timeoutMs} ms`);
    };
    const req = startRequest(
      u,
      {
        method: 'GET',
        headers: { 'accept-encoding': 'identity', ...(authorization ? { authorization } : {}) },
        agents: AGENTS,
        timeoutMs,
        timeoutError,
      },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * One GET, its body as an async iterable of chunks (node:http, keep-alive;
 * redirects followed). The idle timer covers the wait for headers and every
 * gap between body chunks. A body shorter than its Content-Length raises
 * HttpTransportError('truncated').
 */
export async function httpGetOnce(
  url: string,
  timeoutMs: number,
  authorization?: string,
): Promise<{ size?: number; body: AsyncGenerator<Uint8Array> }> {
  let timedOut = false;
  const onTimeout = (): void => {
    timedOut = true;
  };
  let res: http.IncomingMessage;
  const origin = new URL(url).origin;
  for (let where = url, hops = 0; ; hops++) {
    try {
      res = await get(where, timeoutMs, onTimeout, new URL(where).origin === origin ? authorization : undefined);
    } catch (e) {
      if (e instanceof HttpTransportError) throw e;
      if (timedOut) throw new HttpTransportError(url, `no response within ${timeoutMs} ms (timed out)`, 'timeout', e);
      throw new HttpTransportError(url, describeNetworkError(e), 'network', e);
    }
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location && hops < MAX_REDIRECTS) {
      res.resume();
      where = new URL(location, where).href;
      continue;
    }
    if (status < 200 || status >= 300) {
      res.resume();
      throw new HttpStatusError(url, status, res.statusMessage ?? '');
    }
    break;
  }
  const lenHeader = res.headers['content-length'];
  const expected = lenHeader !== undefined && /^[0-9]+$/.test(lenHeader) ? Number(lenHeader) : undefined;
  const response = res;
  async function* body(): AsyncGenerator<Uint8Array> {
    let got = 0;
    let done = false;
    try {
      try {
        for await (const chunk of response as AsyncIterable<Buffer>) {
          got += chunk.length;
          yield chunk;
        }
      } catch (e) {
        if (timedOut)
          throw new HttpTransportError(url, `stalled: no data for ${timeoutMs} ms after ${got} bytes (timed out)`, 'timeout', e);
        if (expected !== undefined && got < expected)
          throw new HttpTransportError(
            url,
            `truncated body: connection closed after ${got} of ${expected} bytes (${describeNetworkError(e)})`,
            'truncated',
            e,
          );
        throw new HttpTransportError(url, describeNetworkError(e), 'network', e);
      }
      if (timedOut) throw new HttpTransportError(url, `stalled: no data for ${timeoutMs} ms after ${got} bytes (timed out)`, 'timeout');
      done = true;
      if (expected !== undefined && got !== expected)
        throw new HttpTransportError(url, `truncated body: got ${got} of ${expected} bytes`, 'truncated');
    } finally {
      if (!done) response.destroy();
    }
  }
  return { ...(expected !== undefined ? { size: expected } : {}), body: body() };
}

/** Run `attempt` with retries on transient failures. */
export function withRetries<T>(url: string, opts: HttpOptions, attempt: (n: number) => Promise<T>): Promise<T> {
  return retrying(
    {
      retries: opts.retries ?? DEFAULT_RETRY.retries,
      backoffMs: opts.backoffMs ?? DEFAULT_RETRY.backoffMs,
      jitter: true,
      retryable: (o) => !o.ok && isTransient(o.error),
      onRetry: (o, n) => opts.onRetry?.(url, n + 1, (o as { error: Error }).error),
    },
    attempt,
  );
}

/** GET a whole (small) body into memory, with retries. */
export async function httpGetBuffer(url: string, opts: HttpOptions = {}): Promise<Buffer> {
  return withRetries(url, opts, async () => {
    const { body } = await httpGetOnce(url, opts.timeoutMs ?? 30_000, opts.authorization);
    const chunks: Uint8Array[] = [];
    for await (const c of body) chunks.push(c);
    return Buffer.concat(chunks);
  });
}
