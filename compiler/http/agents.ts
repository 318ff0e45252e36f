// Keep-alive connection pools, one per protocol, and a request on them with
// an idle timeout (no answer, or no body bytes, for that long).

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

/** One keep-alive agent per protocol, keyed as URL.protocol spells it. */
export interface Agents {
  'http:': http.Agent;
  'https:': https.Agent;
}

export function keepAliveAgents(maxSockets = 8): Agents {
  return {
    'http:': new http.Agent({ keepAlive: true, maxSockets }),
    'https:': new https.Agent({ keepAlive: true, maxSockets }),
  };
}

export function closeAgents(agents: Agents): void {
  agents['http:'].destroy();
  agents['https:'].destroy();
}

export function isHttpUrl(u: URL): boolean {
  return u.protocol === 'http:' || u.protocol === 'https:';
}

export interface RequestSpec {
  method: string;
  headers: Record<string, string>;
  agents: Agents;
  /** Socket inactivity that aborts the request: the wait for headers and every gap in the body. */
  timeoutMs: number;
  /** The error the request is destroyed with when the idle timeout fires. */
  timeoutError: () => Error;
}

/** Starts a request (https: for an https: URL, else http:); the caller writes the body and ends it. */
export function startRequest(u: URL, spec: RequestSpec, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
  const isHttps = u.protocol === 'https:';
  const agent = isHttps ? spec.agents['https:'] : spec.agents['http:'];
  const secureContext = isHttps ? extraCaContext() : undefined;
  const req = (isHttps ? https : http).request(
    u,
    { method: spec.method, headers: spec.headers, agent, ...(secureContext ? { secureContext } : {}) },
    onResponse,
  );
  req.setTimeout(spec.timeoutMs, () => req.destroy(spec.timeoutError()));
  return req;
}

/**
 * The CA file of NODE_EXTRA_CA_CERTS, which bin/chisel-ts.js hands over as
 * CHISEL_TS_EXTRA_CA_CERTS (Node would load it at start-up): Node's default
 * roots and that file's certificates, as Node would trust them, built at the
 * first HTTPS request. A file that cannot be read is warned about and left
 * out, as Node does.
 */
let extraCa: tls.SecureContext | null | undefined;
export function extraCaContext(env: NodeJS.ProcessEnv = process.env): tls.SecureContext | undefined {
  if (extraCa !== undefined) return extraCa ?? undefined;
  const file = env.CHISEL_TS_EXTRA_CA_CERTS;
  extraCa = null;
  if (!file) return undefined;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    process.stderr.write(`warning: ignoring extra certs from ${file} (NODE_EXTRA_CA_CERTS): ${(e as Error).message}\n`);
    return undefined;
  }
  try {
    extraCa = tls.createSecureContext({ ca: [...tls.rootCertificates, pem] });
  } catch (e) {
    process.stderr.write(`warning: ignoring extra certs from ${file} (NODE_EXTRA_CA_CERTS): ${(e as Error).message}\n`);
    return undefined;
  }
  return extraCa;
}
