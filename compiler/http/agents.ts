// Keep-alive connection pools, one per protocol, and a request on them with
// an idle timeout (no answer, or no body bytes, for that long).

import http from 'node:http';
import https from 'node:https';

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
  const req = (isHttps ? https : http).request(u, { method: spec.method, headers: spec.headers, agent }, onResponse);
  req.setTimeout(spec.timeoutMs, () => req.destroy(spec.timeoutError()));
  return req;
}
