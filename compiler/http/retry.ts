// Retries with exponential backoff: which failures are worth another
// attempt, and how long to wait before it.

import { setTimeout as sleep } from 'node:timers/promises';

/** What one attempt came to. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface RetryPolicy<T> {
  /** Extra attempts after the first. */
  retries: number;
  /** First backoff delay; doubles per attempt, at most 10 s. */
  backoffMs: number;
  /** Spread each delay by ±25 % (many clients retrying do not march in step). */
  jitter?: boolean;
  /** Whether this outcome deserves another attempt (asked only while attempts remain). */
  retryable: (o: Outcome<T>) => boolean;
  /** A delay the server asked for (Retry-After), instead of the backoff. */
  delayFor?: (o: Outcome<T>) => number | undefined;
  /** Told before each retry; `attempt` counts from 0 (the attempt that failed). */
  onRetry?: (o: Outcome<T>, attempt: number) => void;
}

const MAX_DELAY_MS = 10_000;

/** Three retries, 250 ms then 500 ms then 1 s apart: what the archive and the registry clients do unless told otherwise. */
export const DEFAULT_RETRY = { retries: 3, backoffMs: 250 } as const;

/** Runs `attempt` until it gives an outcome not worth retrying or the retries run out; then returns its value or throws its error. */
export async function withRetries<T>(policy: RetryPolicy<T>, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    let o: Outcome<T>;
    try {
      o = { ok: true, value: await attempt(n) };
    } catch (error) {
      o = { ok: false, error };
    }
    if (n >= policy.retries || !policy.retryable(o)) {
      if (o.ok) return o.value;
      throw o.error;
    }
    policy.onRetry?.(o, n);
    await sleep(policy.delayFor?.(o) ?? backoffDelay(policy, n));
  }
}

function backoffDelay(policy: Pick<RetryPolicy<unknown>, 'backoffMs' | 'jitter'>, n: number): number {
  const delay = Math.min(policy.backoffMs * 2 ** n, MAX_DELAY_MS);
  return policy.jitter ? delay * (0.75 + Math.random() * 0.5) : delay;
}

/** A Retry-After header in seconds, as a delay (at most 10 s); undefined for none or an HTTP date. */
export function retryAfterMs(header: string | string[] | undefined): number | undefined {
  return typeof header === 'string' && /^\d+$/.test(header) ? Math.min(Number(header) * 1000, MAX_DELAY_MS) : undefined;
}

/** Overload and server failures: 429 and 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

const RETRYABLE_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'ENETRESET', 'UND_ERR_SOCKET']);

/** A connection that broke or stalled (not one that was refused, or a name that does not resolve). */
export function isRetryableNetworkError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && RETRYABLE_CODES.has(code);
}
