// Credentials of a pro archive, found as Chisel and APT find them: in the
// netrc-style files of /etc/apt/auth.conf.d (or the directory in
// CHISEL_AUTH_DIR), `machine HOST[:PORT][/PATH] login USER password PASS`.
// The files (not hidden; no extension or `.conf`; regular) are read in name
// order and the first whose matching `machine` gives a login or password
// wins. A machine matches a URL when its scheme (if written) equals the
// URL's, its host is the URL's host, its port (if written) the URL's port,
// and its path a prefix of the URL's path; a machine without a scheme
// matches only https URLs. Credentials written in the URL itself
// (`https://user:pass@host/...`) come first.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ChiselError, ExitCode } from '../util/errors.js';

export interface ArchiveCredentials {
  username: string;
  password: string;
}

export const DEFAULT_AUTH_DIR = '/etc/apt/auth.conf.d';
export const AUTH_DIR_ENV = 'CHISEL_AUTH_DIR';

/** The directory searched: $CHISEL_AUTH_DIR when set and not empty, else /etc/apt/auth.conf.d. */
export function authDir(env: NodeJS.ProcessEnv = process.env): string {
  return env[AUTH_DIR_ENV] || DEFAULT_AUTH_DIR;
}

interface Query {
  scheme: string;
  host: string;
  port: string;
  path: string;
  needScheme: boolean;
}

/** A URL without its user info, and the credentials it carried (if any). */
export function splitUserInfo(url: string): { url: string; credentials?: ArchiveCredentials } {
  const u = new URL(url);
  if (!u.username && !u.password) return { url };
  const credentials = { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  u.username = '';
  u.password = '';
  return { url: u.href.replace(/\/+$/, ''), credentials };
}

function queryOf(url: string): Query {
  const u = new URL(url);
  const scheme = u.protocol.replace(/:$/, '');
  // The host as written (IPv6 in brackets), without the port.
  const host = u.port ? u.host.slice(0, u.host.length - u.port.length - 1) : u.host;
  return { scheme, host, port: u.port, path: u.pathname, needScheme: scheme !== 'https' && scheme !== 'tor+https' };
}

function machineMatches(token: string, q: Query): boolean {
  let rest = token;
  const sep = rest.indexOf('://');
  if (sep >= 0) {
    if (rest.slice(0, sep) !== q.scheme) return false;
    rest = rest.slice(sep + 3);
  } else if (q.needScheme) return false;
  if (!rest.startsWith(q.host)) return false;
  rest = rest.slice(q.host.length);
  if (rest.startsWith(':')) {
    if (!q.port || !rest.slice(1).startsWith(q.port)) return false;
    rest = rest.slice(1 + q.port.length);
  }
  return q.path.startsWith(rest);
}

/** The login and password of the first machine of `text` that matches; tokens are whitespace-separated words. */
export function credentialsInNetrc(text: string, url: string, file = 'auth.conf'): ArchiveCredentials | undefined {
  const q = queryOf(url);
  const words = text.split(/\s+/).filter(Boolean);
  const value = (i: number, what: string): string => {
    const w = words[i];
    if (w === undefined)
      throw new ChiselError(`credentials file ${file}: syntax error: the file ends where ${what} was expected`, {
        code: 'credentials-syntax',
        exitCode: ExitCode.ARCHIVE,
        hint: 'each entry reads: machine HOST[/PATH] login USER password PASSWORD',
      });
    return w;
  };
  for (let i = 0; i < words.length; i++) {
    if (words[i] !== 'machine') continue;
    i++;
    if (!machineMatches(value(i, 'a machine'), q)) continue;
    const found = { username: '', password: '' };
    for (i++; i < words.length && words[i] !== 'machine'; i++) {
      if (words[i] === 'login') found.username = value(++i, 'a login');
      else if (words[i] === 'password') found.password = value(++i, 'a password');
    }
    return found.username || found.password ? found : undefined;
  }
  return undefined;
}

/** Credentials for `url`: from its user info, else from the auth directory (missing directory: none). */
export async function findCredentials(url: string, dir: string = authDir()): Promise<ArchiveCredentials | undefined> {
  const inUrl = splitUserInfo(url);
  if (inUrl.credentials) return inUrl.credentials;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ChiselError(`cannot open the credentials directory ${dir}: ${(e as Error).message}`, {
      code: 'credentials-dir',
      exitCode: ExitCode.ARCHIVE,
      hint: `make it readable, or point ${AUTH_DIR_ENV} at another directory`,
    });
  }
  const files = names.filter((n) => !n.startsWith('.') && (path.extname(n) === '' || path.extname(n) === '.conf')).sort();
  for (const name of files) {
    const file = path.join(dir, name);
    const st = await fs.lstat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    const found = credentialsInNetrc(await fs.readFile(file, 'utf8'), url, file);
    if (found) return found;
  }
  return undefined;
}

/** The Authorization header value for Basic auth. */
export function basicAuthorization(c: ArchiveCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
