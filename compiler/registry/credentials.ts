// Registry credentials from a docker config.json (`auths`: base64
// "user:password", username/password, or an identity token).

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChiselError } from '../util/errors.js';

export interface Credentials {
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

/** The credentials for `registry` in the config at `configPath`; a missing file is no credentials unless it was `explicit`ly given. */
export async function loadCredentials(registry: string, configPath: string, explicit: boolean): Promise<Credentials | undefined> {
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
    const creds = entryCredentials(raw as Record<string, unknown>, key, registry, configPath);
    if (creds.username !== undefined || creds.identityToken !== undefined) return creds;
  }
  return undefined;
}

function entryCredentials(entry: Record<string, unknown>, key: string, registry: string, configPath: string): Credentials {
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
  return creds;
}

/** The Authorization header value for HTTP Basic with these credentials. */
export function basicAuth(creds: Credentials & { username: string }): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
}
