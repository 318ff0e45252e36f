// HTTP for the archive client: Node's fetch (undici, keep-alive), an idle
// timeout that also catches servers that stall mid-body, retries with
// exponential backoff on transient failures (5xx, 408, 429, resets, timeouts,
// truncated bodies) and none on definitive answers (401, 403, 404, ...).

import { setTimeout as sleep } from 'node:timers/promises';

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
    return this.status >= 500 || this.status === 408 || this.status === 429;
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

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

export interface HttpOptions {
  /** Idle timeout: no response headers or no body bytes for this long (default 30 s). */
  timeoutMs?: number;
  /** Extra attempts after the first on transient failures (default 3). */
  retries?: number;
  /** First backoff delay; doubles per attempt, with jitter (default 250 ms). */
  backoffMs?: number;
  onRetry?: (url: string, attempt: number, err: Error) => void;
}

export function isTransient(e: unknown): boolean {
  if (e instanceof HttpStatusError) return e.transient;
  return e instanceof HttpTransportError;
}

function describeNetworkError(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code;
  const msg = err.cause?.message ?? err.message ?? String(e);
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return `connection reset (${msg})`;
  if (code === 'ECONNREFUSED') return `connection refused (${msg})`;
  return code ? `${code}: ${msg}` : msg;
}

/**
 * One GET, its body as an async iterable of chunks. The idle timer covers
 * the wait for headers and every gap between body chunks. A body shorter
 * than its Content-Length raises HttpTransportError('truncated').
 */
export async function httpGetOnce(url: string, timeoutMs: number): Promise<{ size?: number; body: AsyncGenerator<Uint8Array> }> {
  const ac = new AbortController();
  let timedOut = false;
  let timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutMs);
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, timeoutMs);
  };
  let res: Response;
  try {
    res = await fetch(url, { signal: ac.signal, redirect: 'follow' });
  } catch (e) {
    clearTimeout(timer);
    if (timedOut) throw new HttpTransportError(url, `no response within ${timeoutMs} ms (timed out)`, 'timeout', e);
    throw new HttpTransportError(url, describeNetworkError(e), 'network', e);
  }
  if (!res.ok) {
    clearTimeout(timer);
    await res.body?.cancel().catch(() => undefined);
    throw new HttpStatusError(url, res.status, res.statusText);
  }
  const lenHeader = res.headers.get('content-length');
  const expected = lenHeader !== null && /^[0-9]+$/.test(lenHeader) ? Number(lenHeader) : undefined;
  const reader = res.body!.getReader();
  async function* body(): AsyncGenerator<Uint8Array> {
    let got = 0;
    let done = false;
    try {
      for (;;) {
        arm();
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          if (timedOut) throw new HttpTransportError(url, `stalled: no data for ${timeoutMs} ms after ${got} bytes (timed out)`, 'timeout', e);
          if (expected !== undefined && got < expected) throw new HttpTransportError(url, `truncated body: connection closed after ${got} of ${expected} bytes (${describeNetworkError(e)})`, 'truncated', e);
          throw new HttpTransportError(url, describeNetworkError(e), 'network', e);
        }
        if (r.done) break;
        got += r.value.byteLength;
        yield r.value;
      }
      done = true;
      if (expected !== undefined && got !== expected) throw new HttpTransportError(url, `truncated body: got ${got} of ${expected} bytes`, 'truncated');
    } finally {
      clearTimeout(timer);
      if (!done) await reader.cancel().catch(() => undefined);
    }
  }
  return { ...(expected !== undefined ? { size: expected } : {}), body: body() };
}

/** Run `attempt` with retries on transient failures. */
export async function withRetries<T>(url: string, opts: HttpOptions, attempt: (n: number) => Promise<T>): Promise<T> {
  const retries = opts.retries ?? 3;
  const base = opts.backoffMs ?? 250;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (n >= retries || !isTransient(e)) throw e;
      opts.onRetry?.(url, n + 1, e as Error);
      const delay = Math.min(base * 2 ** n, 10_000) * (0.75 + Math.random() * 0.5);
      await sleep(delay);
    }
  }
}

/** GET a whole (small) body into memory, with retries. */
export async function httpGetBuffer(url: string, opts: HttpOptions = {}): Promise<Buffer> {
  return withRetries(url, opts, async () => {
    const { body } = await httpGetOnce(url, opts.timeoutMs ?? 30_000);
    const chunks: Uint8Array[] = [];
    for await (const c of body) chunks.push(c);
    return Buffer.concat(chunks);
  });
}
