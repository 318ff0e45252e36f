// Registry credentials found as `docker login` and `podman login` store them:
// the auth files of podman / skopeo and docker (authFiles), and in each
// `credHelpers` / `credsStore` (a docker-credential-<name> program) or
// `auths` (base64 "user:password", username/password, or an identity token).
// Credentials are returned to the caller only: never logged or put in errors.

import { spawn } from 'node:child_process';
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

/** Where a registry's credentials were looked for, and those found. */
export interface FoundCredentials {
  creds?: Credentials;
  /** The file they came from (or, when none were found, where `docker login` writes). */
  configPath: string;
}

/**
 * The auth files searched, as podman / skopeo and docker do: $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, then $DOCKER_CONFIG/config.json or ~/.docker/config.json.
 */
export function authFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(path.resolve(env.REGISTRY_AUTH_FILE));
  if (env.XDG_RUNTIME_DIR) files.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(defaultDockerConfigPath(env));
  return [...new Set(files)];
}

/** The credentials for `registry`: from `configPath` only when given, else from the first of authFiles() that has some. */
export async function findCredentials(
  registry: string,
  opts: { configPath?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<FoundCredentials> {
  const env = opts.env ?? process.env;
  if (opts.configPath !== undefined) {
    const creds = await loadCredentials(registry, opts.configPath, true, env);
    return { ...(creds ? { creds } : {}), configPath: opts.configPath };
  }
  for (const file of authFiles(env)) {
    const creds = await loadCredentials(registry, file, false, env);
    if (creds) return { creds, configPath: file };
  }
  return { configPath: defaultDockerConfigPath(env) };
}

/**
 * The credentials for `registry` in the config at `configPath`: its `credHelpers` entry, else its
 * `credsStore`, else `auths` (as docker does). A missing file is no credentials unless it was `explicit`ly given.
 */
export async function loadCredentials(
  registry: string,
  configPath: string,
  explicit: boolean,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials | undefined> {
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
  const want = registry.toLowerCase();
  const config = (doc && typeof doc === 'object' ? doc : {}) as { auths?: unknown; credHelpers?: unknown; credsStore?: unknown };
  const helpers = config.credHelpers && typeof config.credHelpers === 'object' ? (config.credHelpers as Record<string, unknown>) : {};
  const helper = Object.entries(helpers).find(([key, name]) => normalizeAuthKey(key) === want && typeof name === 'string' && name)?.[1];
  const store = typeof config.credsStore === 'string' && config.credsStore ? config.credsStore : undefined;
  if (typeof helper === 'string' || store) {
    // A credsStore that is not installed (a config copied from another machine) is skipped; a credHelpers entry is not.
    const found = await helperCredentials((helper as string | undefined) ?? store!, registry, configPath, env, typeof helper !== 'string');
    if (found || typeof helper === 'string') return found;
  }
  const auths = config.auths;
  if (!auths || typeof auths !== 'object') return undefined;
  for (const [key, raw] of Object.entries(auths as Record<string, unknown>)) {
    if (normalizeAuthKey(key) !== want || !raw || typeof raw !== 'object') continue;
    const creds = entryCredentials(raw as Record<string, unknown>, key, registry, configPath);
    if (creds.username !== undefined || creds.identityToken !== undefined) return creds;
  }
  return undefined;
}

const HELPER_TIMEOUT_MS = 60_000;

/**
 * `docker-credential-<name> get` with the registry on stdin, as docker runs it: JSON
 * {ServerURL, Username, Secret} (Username "<token>": Secret is an identity token), or
 * "credentials not found" (none). Its output never goes into an error message.
 */
async function helperCredentials(
  name: string,
  registry: string,
  configPath: string,
  env: NodeJS.ProcessEnv,
  skipMissing: boolean,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  const fail = (why: string) =>
    new ChiselError(`credential helper ${program} (from ${configPath}) ${why}`, {
      code: 'push-auth',
      hint: `check that ${program} is on PATH and works: \`echo ${registry} | ${program} get\`; or remove it from ${configPath}`,
    });
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw fail('has a name that is not a program name');
  const r = await new Promise<{ code: number | null; stdout: string } | undefined>((resolve, reject) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'ignore'], timeout: HELPER_TIMEOUT_MS });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => {
      if (out.length < 1 << 20) out += c;
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' && skipMissing) resolve(undefined);
      else reject(fail(e.code === 'ENOENT' ? 'is not on PATH' : `could not be run: ${e.code ?? e.message}`));
    });
    child.on('close', (c) => resolve({ code: c, stdout: out }));
    child.stdin.on('error', () => {});
    child.stdin.end(registry);
  });
  if (!r) return undefined;
  const { code, stdout } = r;
  if (code !== 0) {
    if (/credentials not found/i.test(stdout)) return undefined;
    throw fail(`failed (exit ${code ?? 'by a signal'})`);
  }
  let doc: { Username?: unknown; Secret?: unknown };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch {
    throw fail('answered something that is not JSON');
  }
  if (typeof doc.Secret !== 'string' || doc.Secret === '') return undefined;
  if (doc.Username === '<token>') return { identityToken: doc.Secret };
  return { username: typeof doc.Username === 'string' ? doc.Username : '', password: doc.Secret };
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
