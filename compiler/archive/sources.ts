// Where an archive lives. The release may carry a URL (chisel-ts extension);
// an override (`--archive-url NAME=URL`, env CHISEL_TS_ARCHIVE_URL_<NAME>)
// replaces it; otherwise the machine's APT sources are probed: the first
// configured mirror that serves dists/<first suite>/InRelease signed by the
// archive's keys wins (so a bookworm host finds the mirror for trixie, and
// .../debian-security for trixie-security). Discoveries are cached in the
// store's meta. A pro archive (`pro:` in chisel.yaml) is used only with
// credentials (credentials.ts) for its URL: it is probed only at the mirrors
// the credentials name, and without any it is skipped, as Chisel skips it.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ContentStore } from '../cache/store.js';
import { sha256Hex } from '../cache/store.js';
import type { ArchiveDef, PublicKeyDef } from '../release/model.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import { authDir, basicAuthorization, findCredentials, splitUserInfo, type ArchiveCredentials } from './credentials.js';
import { httpGetBuffer, HttpStatusError, type HttpOptions } from './http.js';
import { verifyInRelease, type InReleaseInfo } from './inrelease.js';

export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  options: Record<string, string>;
  enabled: boolean;
  file: string;
  line: number;
}

/** One-line format: `deb [opt=v ...] URI suite [component ...]`. */
export function parseSourcesList(text: string, file = 'sources.list'): AptSource[] {
  const out: AptSource[] = [];
  text.split('\n').forEach((raw, i) => {
    const hash = raw.indexOf('#');
    let line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (!line) return;
    const m = /^(\S+)\s*/.exec(line);
    if (!m) return;
    const type = m[1]!;
    if (type !== 'deb' && type !== 'deb-src') return;
    line = line.slice(m[0].length);
    const options: Record<string, string> = {};
    if (line.startsWith('[')) {
      const close = line.indexOf(']');
      if (close < 0) return;
      for (const o of line.slice(1, close).trim().split(/\s+/).filter(Boolean)) {
        const eq = o.indexOf('=');
        if (eq > 0) options[o.slice(0, eq)] = o.slice(eq + 1);
      }
      line = line.slice(close + 1).trim();
    }
    const [uri, suite, ...components] = line.split(/\s+/);
    if (!uri || !suite) return;
    out.push({ types: [type], uris: [uri], suites: [suite], components, options, enabled: true, file, line: i + 1 });
  });
  return out;
}

/** deb822 format (`.sources`): stanzas of Types/URIs/Suites/Components, `Enabled: no`. */
export function parseDeb822Sources(text: string, file = 'x.sources'): AptSource[] {
  const out: AptSource[] = [];
  let fields = new Map<string, string>();
  let cur: string | undefined;
  let startLine = 0;
  const flush = (): void => {
    if (fields.size === 0) return;
    const get = (k: string): string[] => (fields.get(k.toLowerCase()) ?? '').split(/\s+/).filter(Boolean);
    const options: Record<string, string> = {};
    for (const [k, v] of fields) if (!['types', 'uris', 'suites', 'components', 'enabled'].includes(k)) options[k] = v;
    out.push({
      types: get('Types'),
      uris: get('URIs'),
      suites: get('Suites'),
      components: get('Components'),
      options,
      enabled: (fields.get('enabled') ?? 'yes').trim().toLowerCase() !== 'no',
      file,
      line: startLine,
    });
    fields = new Map();
    cur = undefined;
  };
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#')) return;
    if (line.trim() === '') {
      flush();
      return;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (cur !== undefined) fields.set(cur, `${fields.get(cur)!}\n${line.trim() === '.' ? '' : line.trim()}`);
      return;
    }
    const c = line.indexOf(':');
    if (c <= 0) return;
    if (fields.size === 0) startLine = i + 1;
    cur = line.slice(0, c).trim().toLowerCase();
    fields.set(cur, line.slice(c + 1).trim());
  });
  flush();
  return out;
}

export const DEFAULT_SOURCES_DIR = '/etc/apt';
/** A directory read instead of /etc/apt (as APT's Dir::Etc): its sources.list and sources.list.d/. */
export const SOURCES_DIR_ENV = 'CHISEL_TS_APT_DIR';

/** /etc/apt/sources.list (or $CHISEL_TS_APT_DIR's), then sources.list.d/*.list and *.sources in name order. */
export async function defaultSourcesFiles(dir = process.env[SOURCES_DIR_ENV] || DEFAULT_SOURCES_DIR): Promise<string[]> {
  const files = [path.join(dir, 'sources.list')];
  try {
    const names = (await fs.readdir(path.join(dir, 'sources.list.d'))).filter((n) => n.endsWith('.list') || n.endsWith('.sources')).sort();
    files.push(...names.map((n) => path.join(dir, 'sources.list.d', n)));
  } catch {
    // no sources.list.d
  }
  return files;
}

export async function readAptSources(files?: string[]): Promise<AptSource[]> {
  const out: AptSource[] = [];
  for (const f of files ?? (await defaultSourcesFiles())) {
    let text: string;
    try {
      text = await fs.readFile(f, 'utf8');
    } catch {
      continue;
    }
    out.push(...(f.endsWith('.sources') ? parseDeb822Sources(text, f) : parseSourcesList(text, f)));
  }
  return out;
}

/** Enabled binary (`deb`) http(s) mirror URIs, in order, without duplicates or trailing slashes; with `suites`, only sources that name one of them. */
export function mirrorCandidates(sources: AptSource[], suites?: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const s of sources) {
    if (!s.enabled || !s.types.includes('deb')) continue;
    if (suites && !s.suites.some((x) => suites.includes(x))) continue;
    for (const u of s.uris) {
      if (!/^https?:\/\//.test(u)) continue;
      const norm = u.replace(/\/+$/, '');
      if (!seen.has(norm)) {
        seen.add(norm);
        out.push(norm);
      }
    }
  }
  return out;
}

/**
 * The mirrors an archive may turn to when its URL fails, in order: first
 * those whose APT source names one of its suites, then the others (a
 * bookworm host's mirror serves trixie too; a mirror of another archive, such
 * as debian-security, fails at its InRelease and is passed).
 */
function alternativesFor(archive: ArchiveDef, sources: AptSource[]): string[] {
  const named = mirrorCandidates(sources, archive.suites);
  return [...named, ...mirrorCandidates(sources).filter((u) => !named.includes(u))];
}

export function archiveEnvVar(name: string): string {
  return `CHISEL_TS_ARCHIVE_URL_${name.toUpperCase().replace(/-/g, '_')}`;
}

export interface ResolveUrlOptions {
  overrides?: Map<string, string>;
  env?: NodeJS.ProcessEnv;
  sourcesFiles?: string[];
  store?: ContentStore;
  http?: HttpOptions;
  /** Where pro archives' credentials are looked up (default $CHISEL_AUTH_DIR or /etc/apt/auth.conf.d). */
  authDir?: string;
  /** Skip the cached discovery (after the cached URL stopped working). */
  noCache?: boolean;
  onProbe?: (url: string, outcome: string) => void;
}

export interface ResolvedUrl {
  url: string;
  from: 'release' | 'override' | 'env' | 'sources' | 'cache';
  /** The InRelease fetched and verified while probing (suite = first suite). */
  probed?: { suite: string; bytes: Buffer; info: InReleaseInfo };
  /** A pro archive's credentials for `url`. */
  credentials?: ArchiveCredentials;
  /** The other APT mirrors of the machine, in order: where the archive turns when `url` fails (mirrors.ts). */
  alternatives?: string[];
}

/** A pro archive without credentials: not used, as in Chisel. */
export interface SkippedArchive {
  skipped: string;
}

export const NO_CREDENTIALS = 'credentials not found';

export function isSkipped<T extends object>(r: T | SkippedArchive): r is SkippedArchive {
  return 'skipped' in r;
}

function discoveryKey(archive: ArchiveDef, keys: PublicKeyDef[]): string {
  return sha256Hex(
    [
      archive.name,
      archive.suites.join(','),
      keys
        .map((k) => k.id)
        .sort()
        .join(','),
    ].join('\n'),
  ).slice(0, 32);
}

function howToGiveUrl(name: string): string {
  return `give the archive's base URL with --archive-url ${name}=URL or the environment variable ${archiveEnvVar(name)}=URL (or add an APT source for it)`;
}

/**
 * The base URL of an archive: override (CLI, then env), else the release's
 * `url`, else a verified APT mirror (cached). ChiselError 'no-archive-url'
 * when none works. A pro archive also needs credentials for its URL; without
 * any it is skipped.
 */
export async function resolveArchiveUrl(
  archive: ArchiveDef,
  keys: PublicKeyDef[],
  opts: ResolveUrlOptions = {},
): Promise<ResolvedUrl | SkippedArchive> {
  const strip = (u: string): string => u.replace(/\/+$/, '');
  const dir = opts.authDir ?? authDir(opts.env);
  const withCredentials = async (r: ResolvedUrl): Promise<ResolvedUrl | SkippedArchive> => {
    if (archive.pro === undefined) return r;
    const { url, credentials } = splitUserInfo(r.url);
    const found = credentials ?? (await findCredentials(url, dir));
    return found ? { ...r, url, credentials: found } : { skipped: NO_CREDENTIALS };
  };
  const ov = opts.overrides?.get(archive.name);
  if (ov) return withCredentials({ url: strip(ov), from: 'override' });
  const env = (opts.env ?? process.env)[archiveEnvVar(archive.name)];
  if (env) return withCredentials({ url: strip(env), from: 'env' });
  if (archive.url) return withCredentials({ url: strip(archive.url), from: 'release' });

  const key = discoveryKey(archive, keys);
  if (opts.store && !opts.noCache) {
    const hit = await opts.store.getMeta<{ v: 1; url: string }>('archive-url', key);
    if (hit?.v === 1 && hit.url) {
      const others =
        archive.pro === undefined ? alternativesFor(archive, await readAptSources(opts.sourcesFiles)).filter((u) => u !== hit.url) : [];
      return withCredentials({ url: hit.url, from: 'cache', ...(others.length ? { alternatives: others } : {}) });
    }
  }
  const suite = archive.suites[0];
  const sources = await readAptSources(opts.sourcesFiles);
  let candidates: Array<{ base: string; credentials?: ArchiveCredentials }> = mirrorCandidates(sources).map((base) => ({ base }));
  if (archive.pro !== undefined) {
    // A pro archive is asked only where credentials are written for it.
    const found = await Promise.all(candidates.map(async (c) => ({ ...c, credentials: await findCredentials(c.base, dir) })));
    candidates = found.filter((c) => c.credentials);
    if (candidates.length === 0) return { skipped: NO_CREDENTIALS };
  }
  const tried: string[] = [];
  if (suite) {
    for (const { base, credentials } of candidates) {
      const url = `${base}/dists/${suite}/InRelease`;
      let bytes: Buffer;
      try {
        bytes = await httpGetBuffer(url, {
          ...opts.http,
          retries: Math.min(opts.http?.retries ?? 1, 1),
          timeoutMs: Math.min(opts.http?.timeoutMs ?? 10_000, 10_000),
          ...(credentials ? { authorization: basicAuthorization(credentials) } : {}),
        });
      } catch (e) {
        const why = e instanceof HttpStatusError ? `${e.status}` : (e as Error).message;
        tried.push(`${base} (${why})`);
        opts.onProbe?.(base, why);
        continue;
      }
      try {
        const info = await verifyInRelease(bytes, keys, { archive: archive.name, suite }, opts.store);
        opts.onProbe?.(base, 'ok');
        if (opts.store) await opts.store.putMeta('archive-url', key, { v: 1, url: base });
        // a pro archive keeps to the mirror its credentials name
        const named = alternativesFor(archive, sources);
        const at = named.indexOf(base);
        const others = credentials ? [] : [...named.slice(at + 1), ...named.slice(0, Math.max(at, 0))].filter((u) => u !== base);
        return {
          url: base,
          from: 'sources',
          probed: { suite, bytes, info },
          ...(credentials ? { credentials } : {}),
          ...(others.length ? { alternatives: others } : {}),
        };
      } catch (e) {
        tried.push(`${base} (InRelease not signed by the archive's keys)`);
        opts.onProbe?.(base, (e as Error).message);
      }
    }
  }
  const where = sources.length
    ? `none of the APT mirrors serves it: ${tried.join(', ') || '(no http mirrors configured)'}`
    : 'no APT sources configured';
  throw new ChiselError(`archive ${archive.name}: no URL in the release and ${where}`, {
    code: 'no-archive-url',
    exitCode: ExitCode.ARCHIVE,
    hint: howToGiveUrl(archive.name),
  });
}
