// How a failed registry exchange reads: what was done, for which
// repository, the registry's own error text, and what to do.

import http from 'node:http';
import { ChiselError } from '../util/errors.js';
import { isRetryableStatus } from '../http/retry.js';

/** The repository being talked to, and where its credentials come from. */
export interface Target {
  registry: string;
  repository: string;
  configPath: string;
}

export function where(t: Target): string {
  return `${t.registry}/${t.repository}`;
}

export function loginHint(t: Target): string {
  return `run \`docker login ${t.registry}\` or add credentials for ${t.registry} to ${t.configPath}`;
}

/** An answer that is not the one expected. */
export function httpError(t: Target, what: string, res: { status: number; body: Buffer }, hint?: string): ChiselError {
  const snippet = bodySnippet(res.body);
  const statusText = http.STATUS_CODES[res.status];
  const msg = `${what} for ${where(t)} failed: HTTP ${res.status}${statusText ? ` ${statusText}` : ''}${snippet ? `: ${snippet}` : ''}`;
  let h = hint;
  if (h === undefined) {
    if (res.status === 401 || res.status === 403) h = loginHint(t);
    else if (res.status === 404) h = `check the repository name, and that ${t.registry} serves the OCI distribution API under /v2/`;
    else if (res.status === 413) h = 'the registry refused the size of the upload; check its upload size limits';
    else if (isRetryableStatus(res.status)) h = 'the registry is failing or throttling requests; try again later';
    else if (res.status === 400) h = 'the registry rejected the content; check that the image layout is complete and valid';
  }
  return new ChiselError(msg, { code: 'push', ...(h !== undefined ? { hint: h } : {}) });
}

/** No answer at all: refused, reset, TLS, DNS, timeout. */
export function networkError(t: Target, what: string, url: URL, e: unknown): ChiselError {
  const err = e as NodeJS.ErrnoException;
  const code = err?.code ?? '';
  const text = `${code} ${err?.message ?? String(e)}`;
  let hint: string;
  if (/wrong version number|packet length too long|http request|EPROTO/i.test(text) && url.protocol === 'https:') {
    hint = `${url.host} does not seem to speak HTTPS; if it is a plain-HTTP registry, use --insecure to allow it`;
  } else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/i.test(code)) {
    hint = `the TLS certificate of ${url.host} is not trusted; add its CA with NODE_EXTRA_CA_CERTS`;
  } else if (code === 'ECONNREFUSED') {
    hint = `is the registry running at ${url.host}?`;
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    hint = `check the host name ${url.hostname}`;
  } else {
    hint = 'check the network connection to the registry, then try again';
  }
  let detail = (err?.message ?? String(e)).trim();
  const ssl = /SSL routines:[^:]*:([^:]+)/.exec(detail);
  if (ssl) detail = `TLS handshake failed: ${ssl[1]}`;
  if (code && !detail.includes(code)) detail += ` (${code})`;
  return new ChiselError(`${what} for ${where(t)} failed: ${detail}`, { code: 'push', hint, cause: e });
}

/** The registry's error list (distribution API `errors`), or the start of the body. */
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
