// The APT archives of a release, for one architecture: signed InRelease
// files, Packages indexes (parsed once, cached by hash), package choice by
// priority and version, and verified, parallel .deb downloads into the
// content store.

import { sha256Hex, type ContentStore } from '../cache/store.js';
import type { ArchiveDef, PublicKeyDef, Release } from '../release/model.js';
import { Limiter } from '../http/limit.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import { archiveError, downloadVerified } from './fetch.js';
import { httpGetBuffer, type HttpOptions } from './http.js';
import { indexHost, type IndexHost } from './indexhost.js';
import { checkValidUntil, preloadVerifier, verifyInRelease, type InReleaseInfo } from './inrelease.js';
import type { IndexCompression } from './packages.js';
import { AUTH_DIR_ENV, basicAuthorization } from './credentials.js';
import { isSkipped, resolveArchiveUrl, type ResolvedUrl, type ResolveUrlOptions, type SkippedArchive } from './sources.js';
import { compareVersions } from './version.js';
import { allMirrorsFailed, checkNotOlder, isMirrorFault, mirrorHttp, type Access, type PinnedInRelease } from './mirrors.js';

export { compareVersions } from './version.js';
export { resolveArchiveUrl, archiveEnvVar } from './sources.js';
export type { PinnedInRelease } from './mirrors.js';

/** A package chosen for a cut: from an archive's index, or pinned by a lockfile (which records no suite). */
export interface ResolvedPackage {
  name: string;
  version: string;
  arch: string;
  archive: string;
  sha256: string;
  size: number;
  filename: string;
  suite?: string;
  component?: string;
}

/** A package as an archive's index has it. */
export interface PackageInfo extends ResolvedPackage {
  suite: string;
  component: string;
}

export interface ArchiveOptions {
  store: ContentStore;
  offline?: boolean;
  urlOverrides?: Map<string, string>;
  /** Parallel downloads (default 6). */
  concurrency?: number;
  http?: HttpOptions;
  sourcesFiles?: string[];
  /** Where pro archives' credentials are looked up (default $CHISEL_AUTH_DIR or /etc/apt/auth.conf.d). */
  authDir?: string;
  now?: Date;
  onEvent?: (ev: ArchiveEvent) => void;
  /** One line for the user, printed without --verbose (a pro archive ignored). */
  onNotice?: (msg: string) => void;
  /** Shared by the archive sets of every arch of one build: one snapshot of each archive for the whole build. */
  shared?: Map<string, SharedSnapshot>;
  /** The InRelease dates a lockfile pins (--locked): a mirror serving an older one is left for the next. */
  pinnedInReleases?: PinnedInRelease[];
  /** The package lookups will likely answer from the cache (a plan of the same slices is remembered): the index worker starts at the first index load, not at once. */
  lookupsCached?: boolean;
}

export type ArchiveEvent =
  | { kind: 'url'; archive: string; url: string; from: string }
  | { kind: 'inrelease'; archive: string; suite: string; cached: boolean }
  | { kind: 'index'; archive: string; suite: string; component: string; cached: boolean }
  | { kind: 'download'; package: string; bytes: number }
  /** A mirror failed: the archive reads the next one's snapshot (or, for a .deb, its copy). */
  | { kind: 'mirror'; archive: string; from: string; to: string; why: string };

export interface UsedInRelease {
  archive: string;
  suite: string;
  date: string;
  sha256: string;
}

/** A loaded index (its table lives in the IndexHost). */
interface Index {
  suite: string;
  component: string;
  sha256: string;
}

type UrlOptions = Pick<ArchiveOptions, 'store' | 'urlOverrides' | 'sourcesFiles' | 'http' | 'authDir'>;

function urlOptions(opts: UrlOptions): ResolveUrlOptions {
  return {
    store: opts.store,
    ...(opts.urlOverrides ? { overrides: opts.urlOverrides } : {}),
    ...(opts.sourcesFiles ? { sourcesFiles: opts.sourcesFiles } : {}),
    ...(opts.http ? { http: opts.http } : {}),
    ...(opts.authDir ? { authDir: opts.authDir } : {}),
  };
}

function accessOf(r: ResolvedUrl, http: HttpOptions = {}): Access {
  return { url: r.url, http: r.credentials ? { ...http, authorization: basicAuthorization(r.credentials) } : http };
}

function inReleaseRef(archive: string, suite: string): string {
  return `${archive}_${suite}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** No InRelease of this suite in the cache yet: its signature will be checked, so openpgp starts loading now. */
async function preloadVerifierIfNew(store: ContentStore, archive: string, suite: string): Promise<void> {
  if (!(await store.getMeta('inrelease-ref', inReleaseRef(archive, suite)))) preloadVerifier();
}

/** InRelease downloads started before the archives are opened (see prefetchInReleases), by URL; each is used once. */
const early = new Map<string, Promise<Buffer>>();

/**
 * Starts downloading the InRelease file of every suite of `archives` (an
 * online cut calls it as soon as chisel.yaml is read, so the downloads run
 * while the slice files parse). The archives later take these downloads
 * instead of starting their own; errors surface there.
 */
export async function prefetchInReleases(
  archives: Iterable<ArchiveDef>,
  publicKeys: Map<string, PublicKeyDef>,
  opts: UrlOptions,
): Promise<void> {
  await Promise.all(
    [...archives].map(async (def) => {
      const keys = def.publicKeys.map((k) => publicKeys.get(k)!).filter(Boolean);
      const resolved = await resolveArchiveUrl(def, keys, urlOptions(opts));
      if (isSkipped(resolved)) return;
      const { url, http } = accessOf(resolved, opts.http);
      // every suite's download starts at once (an archive opened meanwhile takes them all)
      for (const suite of def.suites) {
        const download = httpGetBuffer(`${url}/dists/${suite}/InRelease`, http);
        download.catch(() => undefined); // reported by the archive that takes it
        early.set(`${url}/dists/${suite}/InRelease`, download);
      }
      await Promise.all(def.suites.map((suite) => preloadVerifierIfNew(opts.store, def.name, suite)));
    }),
  ).catch(() => undefined); // a URL that cannot be resolved now fails again, with its message, when the archive opens
}

/** One mirror's InRelease files: every suite of the archive, from that mirror only, and the indexes they name. */
interface Snapshot {
  /** Which of the archive's mirrors (-1: the cache, --offline). */
  mirror: number;
  /** Counts the snapshots the archive opened: a failover replaces only the snapshot that failed. */
  gen: number;
  access?: Access;
  infos: Array<readonly [string, InReleaseInfo]>;
  indexes?: Promise<Index[]>;
  /** Key of the answers of find() (see resolveKey). */
  key: string;
}

/** The InRelease part of a snapshot, shared by the archive's instances of every arch of one build (one snapshot per build). */
type SnapshotBase = Omit<Snapshot, 'indexes' | 'key'>;

/** Which snapshot an archive uses, for every arch of a build (ArchiveOptions.shared). */
export interface SharedSnapshot {
  snap?: Promise<SnapshotBase>;
  gen: number;
  current?: SnapshotBase;
}

class Archive {
  private where?: Promise<Access[] | SkippedArchive>;
  private skip?: Promise<string | undefined>;
  private readonly state: SharedSnapshot;
  /** This arch's view of each snapshot: its indexes and lookup key. */
  private readonly views = new Map<SnapshotBase, Snapshot>();
  /** The snapshot keys find() answered from (a failover to another snapshot makes earlier answers stale). */
  private readonly answered = new Set<string>();
  constructor(
    readonly def: ArchiveDef,
    readonly keys: PublicKeyDef[],
    private readonly arch: string,
    private readonly opts: ArchiveOptions,
    private readonly host: IndexHost,
  ) {
    const shared = opts.shared?.get(def.name);
    this.state = shared ?? { gen: 0 };
    if (!shared) opts.shared?.set(def.name, this.state);
  }

  /** The InRelease files of the snapshot in use (for lockfiles). */
  get used(): UsedInRelease[] {
    return (this.state.current?.infos ?? []).map(([suite, info]) => ({
      archive: this.def.name,
      suite,
      date: info.date,
      sha256: info.sha256,
    }));
  }

  private resolveAccess(): Promise<Access[] | SkippedArchive> {
    this.where ??= resolveArchiveUrl(this.def, this.keys, urlOptions(this.opts)).then((r) => {
      if (isSkipped(r)) return r;
      this.opts.onEvent?.({ kind: 'url', archive: this.def.name, url: r.url, from: r.from });
      return [accessOf(r, this.opts.http), ...(r.alternatives ?? []).map((url) => ({ url, http: this.opts.http ?? {} }))];
    });
    return this.where;
  }

  /** The mirrors, the resolved URL first (online); a skipped archive is never asked (see skipped()). */
  async mirrors(): Promise<Access[]> {
    const r = await this.resolveAccess();
    if (isSkipped(r)) throw skippedError(this.def.name, r.skipped);
    return r;
  }

  /**
   * Why this archive is not used, if it is not: a pro archive without
   * credentials (offline: whose InRelease the cache does not hold). Said once,
   * through onNotice.
   */
  skipped(): Promise<string | undefined> {
    this.skip ??= (async () => {
      if (this.def.pro === undefined) return undefined;
      let why: string | undefined;
      if (this.opts.offline) {
        const cached = await this.opts.store.getMeta('inrelease-ref', this.refKey(this.def.suites[0] ?? ''));
        why = cached ? undefined : 'not in the cache (--offline)';
      } else {
        const r = await this.resolveAccess();
        why = isSkipped(r) ? r.skipped : undefined;
      }
      if (why) this.opts.onNotice?.(`archive ${this.def.name} (pro: ${this.def.pro}) ignored: ${why}`);
      return why;
    })();
    return this.skip;
  }

  private refKey(suite: string): string {
    return inReleaseRef(this.def.name, suite);
  }

  /** The InRelease of `suite` from `where` (undefined: the cache, --offline), verified; the caller records it once the whole snapshot is good. */
  private async inRelease(suite: string, where: Access | undefined): Promise<{ info: InReleaseInfo; bytes: Buffer }> {
    const ctx = { archive: this.def.name, suite };
    const { store } = this.opts;
    let bytes: Buffer | undefined;
    if (!where) {
      const ref = await store.getMeta<{ sha256: string }>('inrelease-ref', this.refKey(suite));
      bytes = ref ? await store.readVerified(ref.sha256) : undefined;
      if (!bytes) {
        throw new ChiselError(`archive ${this.def.name} suite ${suite}: --offline, and the cache holds no InRelease for it`, {
          code: 'offline-miss',
          exitCode: ExitCode.ARCHIVE,
          hint: 'run the same cut once online to fill the cache (or use the --cache-dir of an earlier run)',
        });
      }
    } else {
      const url = `${where.url}/dists/${suite}/InRelease`;
      const started = early.get(url);
      early.delete(url);
      if (!started) await preloadVerifierIfNew(store, this.def.name, suite); // else prefetchInReleases did
      bytes = await (started ?? httpGetBuffer(url, where.http)).catch((e: unknown) => {
        throw archiveError(e, `archive ${this.def.name} suite ${suite}: cannot fetch InRelease`);
      });
    }
    const info = await verifyInRelease(bytes, this.keys, ctx, store);
    checkValidUntil(info, this.opts.now ?? new Date(), ctx);
    if (where)
      checkNotOlder(
        info,
        this.opts.pinnedInReleases?.find((p) => p.archive === this.def.name && p.suite === suite),
        ctx,
      );
    return { info, bytes };
  }

  /** The snapshot in use: opened on first use, from the first mirror that serves one. */
  private async snapshot(): Promise<Snapshot> {
    this.state.snap ??= this.openSnapshot(0);
    return this.view(await this.state.snap);
  }

  private view(base: SnapshotBase): Snapshot {
    let v = this.views.get(base);
    if (!v) this.views.set(base, (v = { ...base, key: this.resolveKey(base) }));
    return v;
  }

  private async openSnapshot(from: number): Promise<SnapshotBase> {
    const gen = ++this.state.gen;
    const suites = this.def.suites;
    if (this.opts.offline) {
      const got = await Promise.all(suites.map((s) => this.inRelease(s, undefined)));
      return this.opened({ mirror: -1, gen, infos: got.map((g, i) => [suites[i]!, g.info] as const) });
    }
    const mirrors = await this.mirrors();
    const failures: Array<{ url: string; error: ChiselError }> = [];
    for (let i = from; i < mirrors.length; i++) {
      const access = { url: mirrors[i]!.url, http: mirrorHttp(mirrors, i) };
      const got = await Promise.allSettled(suites.map((s) => this.inRelease(s, access)));
      const failed = got.find((g): g is PromiseRejectedResult => g.status === 'rejected');
      if (!failed) {
        const { store } = this.opts;
        const ok = got.map((g) => (g as PromiseFulfilledResult<{ info: InReleaseInfo; bytes: Buffer }>).value);
        // the cache's InRelease of each suite: all from this one mirror
        for (const [k, { info, bytes }] of ok.entries()) {
          await store.putBuffer(bytes);
          await store.putMeta('inrelease-ref', this.refKey(suites[k]!), { sha256: info.sha256 });
          this.opts.onEvent?.({ kind: 'inrelease', archive: this.def.name, suite: suites[k]!, cached: false });
        }
        return this.opened({ mirror: i, gen, access, infos: ok.map((g, k) => [suites[k]!, g.info] as const) });
      }
      if (!isMirrorFault(failed.reason)) throw failed.reason;
      failures.push({ url: access.url, error: failed.reason as ChiselError });
      if (i + 1 < mirrors.length) this.leaving(access.url, mirrors[i + 1]!.url, failed.reason as Error);
    }
    throw allMirrorsFailed(this.def.name, failures);
  }

  private opened(snap: SnapshotBase): SnapshotBase {
    if (this.opts.offline)
      for (const [suite] of snap.infos) this.opts.onEvent?.({ kind: 'inrelease', archive: this.def.name, suite, cached: true });
    this.state.current = snap;
    return snap;
  }

  private leaving(from: string, to: string, why: Error): void {
    this.opts.onEvent?.({ kind: 'mirror', archive: this.def.name, from, to, why: why.message });
  }

  /**
   * After `e` on `snap`: when it is a fault of the mirror and another mirror
   * follows, the next mirror's snapshot replaces it (once, however many
   * lookups saw the fault); else `e` is thrown.
   */
  private async failover(snap: Snapshot, e: unknown): Promise<void> {
    if (snap.mirror < 0 || !isMirrorFault(e)) throw e;
    const mirrors = await this.mirrors();
    if (snap.mirror + 1 >= mirrors.length) throw e;
    if (snap.gen === this.state.gen) {
      this.leaving(snap.access!.url, mirrors[snap.mirror + 1]!.url, e as Error);
      this.state.snap = this.openSnapshot(snap.mirror + 1);
    }
  }

  /** The Packages index of suite/component: file name, compression and signed sha256 (undefined when the suite has none). */
  private indexFile(info: InReleaseInfo, component: string): { file: string; comp: IndexCompression; sha256: string } | undefined {
    const base = `${component}/binary-${this.arch}/Packages`;
    const choices: Array<[string, IndexCompression]> = [
      [`${base}.gz`, 'gz'],
      [`${base}.xz`, 'xz'],
      [base, 'none'],
    ];
    const pick = choices.find(([p]) => info.files.has(p));
    return pick ? { file: pick[0], comp: pick[1], sha256: info.files.get(pick[0])!.sha256 } : undefined;
  }

  private async index(snap: Snapshot, suite: string, info: InReleaseInfo, component: string): Promise<Index | undefined> {
    const pick = this.indexFile(info, component);
    if (!pick) return undefined;
    const { file, comp, sha256 } = pick;
    const dir = file.slice(0, file.lastIndexOf('/'));
    const rel = info.acquireByHash ? `${dir}/by-hash/SHA256/${sha256}` : file;
    const where = snap.access;
    const what = `archive ${this.def.name} ${suite}/${file}`;
    const { cached } = await this.host.load({
      sha256,
      comp,
      what,
      ...(where ? { url: `${where.url}/dists/${suite}/${rel}`, http: where.http } : {}),
    });
    this.opts.onEvent?.({ kind: 'index', archive: this.def.name, suite, component, cached });
    return { suite, component, sha256 };
  }

  /**
   * Download `filename` (relative to the base URL) into the store, verified:
   * from the mirror of the snapshot in use, else from the mirrors after it
   * (the .deb's sha256 is known, so any mirror's copy is the same file).
   */
  async download(filename: string, sha256: string, what: string, onBytes?: (bytes: number) => void): Promise<void> {
    const snap = await this.snapshot();
    const mirrors = await this.mirrors();
    const tap = onBytes
      ? () => {
          let n = 0;
          onBytes(0);
          return (chunk: Uint8Array) => onBytes((n += chunk.length));
        }
      : undefined;
    const failures: Array<{ url: string; error: ChiselError }> = [];
    for (let i = Math.max(snap.mirror, 0); i < mirrors.length; i++) {
      const m = mirrors[i]!;
      try {
        return await downloadVerified(this.opts.store, `${m.url}/${filename}`, sha256, what, mirrorHttp(mirrors, i), tap);
      } catch (e) {
        if (!isMirrorFault(e)) throw e;
        failures.push({ url: m.url, error: e as ChiselError });
        if (i + 1 < mirrors.length) this.leaving(m.url, mirrors[i + 1]!.url, e as Error);
      }
    }
    throw allMirrorsFailed(this.def.name, failures);
  }

  private loadIndexes(snap: Snapshot): Promise<Index[]> {
    snap.indexes ??= (async () => {
      // every load ends before a failure is reported: a failover never shares a load still running on the mirror it leaves
      const all = await Promise.allSettled(snap.infos.flatMap(([s, info]) => this.def.components.map((c) => this.index(snap, s, info, c))));
      const failed = all.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return all.map((r) => (r as PromiseFulfilledResult<Index | undefined>).value).filter((i): i is Index => i !== undefined);
    })();
    return snap.indexes;
  }

  /**
   * Key of the answers of find() for this archive: the signed sha256 of every
   * index it reads (in order) and the architecture. Same indexes, same answer;
   * a warm cut then reads one small file per package instead of the parsed
   * indexes (tens of MB).
   */
  private resolveKey(snap: SnapshotBase): string {
    const files = snap.infos.flatMap(([s, info]) => this.def.components.map((c) => `${s}/${c}:${this.indexFile(info, c)?.sha256 ?? '-'}`));
    return sha256Hex(JSON.stringify([1, this.def.name, this.arch, files]));
  }

  /** The InRelease files read so far (waiting for a snapshot being opened). */
  async settled(): Promise<void> {
    await this.state.snap?.catch(() => undefined);
  }

  /** Whether find() answered from a snapshot other than the one in use (a failover, for any arch, moved to another snapshot). */
  superseded(): boolean {
    const now = this.state.current && this.view(this.state.current).key;
    return [...this.answered].some((k) => k !== now);
  }

  /** Forget what find() answered (the plan asks again). */
  forget(): void {
    this.answered.clear();
  }

  async find(name: string): Promise<PackageInfo | undefined> {
    if (await this.skipped()) return undefined;
    for (;;) {
      const snap = await this.snapshot();
      try {
        const found = await this.findIn(snap, name);
        this.answered.add(snap.key);
        return found;
      } catch (e) {
        await this.failover(snap, e);
      }
    }
  }

  private async findIn(snap: Snapshot, name: string): Promise<PackageInfo | undefined> {
    const key = sha256Hex(`${snap.key}\n${name}`);
    const hit = await this.opts.store.getMeta<{ v: 1; name: string; found: PackageInfo | null }>('package-lookup', key);
    if (hit?.v === 1 && hit.name === name) return hit.found ?? undefined;
    const found = await this.findInIndexes(snap, name);
    this.opts.store.putMetaLater('package-lookup', key, { v: 1, name, found: found ?? null });
    return found;
  }

  private async findInIndexes(snap: Snapshot, name: string): Promise<PackageInfo | undefined> {
    let best: PackageInfo | undefined;
    for (const ix of await this.loadIndexes(snap)) {
      for (const r of await this.host.lookup(ix.sha256, name)) {
        if (r.arch !== this.arch && r.arch !== 'all') continue;
        if (best && compareVersions(r.version, best.version) <= 0) continue;
        best = {
          name,
          version: r.version,
          arch: r.arch,
          archive: this.def.name,
          suite: ix.suite,
          component: ix.component,
          filename: r.filename,
          size: r.size,
          sha256: r.sha256,
        };
      }
    }
    return best;
  }
}

export class ArchiveSet {
  private readonly archives: Archive[];
  private readonly limit: Limiter;
  constructor(
    readonly release: Release,
    readonly arch: string,
    private readonly opts: ArchiveOptions,
  ) {
    const host = indexHost(opts.store, { eager: !opts.offline && !opts.lookupsCached });
    this.archives = [...release.archives.values()]
      .sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : 1))
      .map((def) => new Archive(def, def.publicKeys.map((k) => release.publicKeys.get(k)!).filter(Boolean), arch, opts, host));
    this.limit = new Limiter(opts.concurrency ?? 6);
    // As Chisel does, every pro archive without credentials is reported when the archives open.
    for (const a of this.archives) if (a.def.pro !== undefined) a.skipped().catch(() => undefined);
  }

  /** Lookups started by resolve (every candidate archive is asked; the answer is the first in priority order). */
  private readonly lookups: Promise<unknown>[] = [];

  /** The pinned archive, else the highest-priority archive (>= 0) that has the package; its highest version. */
  async resolve(name: string, pinnedArchive?: string): Promise<PackageInfo> {
    const candidates = pinnedArchive
      ? this.archives.filter((a) => a.def.name === pinnedArchive)
      : this.archives.filter((a) => a.def.priority >= 0);
    // Every candidate is asked at once (a cold cut downloads their indexes
    // side by side); the answer is the first in priority order.
    const answers = candidates.map((a) => a.find(name));
    for (const a of answers) {
      a.catch(() => undefined);
      this.lookups.push(a);
    }
    for (const a of answers) {
      const found = await a;
      if (found) return found;
    }
    const skipped: string[] = [];
    for (const a of candidates) {
      const why = await a.skipped();
      if (why) skipped.push(`${a.def.name} (pro: ${a.def.pro}) ignored: ${why}`);
    }
    const used = candidates.filter((a) => !skipped.some((s) => s.startsWith(`${a.def.name} `)));
    const ignored = `archive${skipped.length > 1 ? 's' : ''} ${skipped.join(', ')}`;
    if (used.length === 0 && skipped.length > 0) {
      throw new ChiselError(`package ${name} is only in ${ignored}`, {
        code: 'package-in-skipped-archive',
        exitCode: ExitCode.ARCHIVE,
        hint: PRO_HINT,
      });
    }
    throw new ChiselError(
      `package ${name} not found for ${this.arch} in archive${used.length > 1 ? 's' : ''} ${used.map((a) => a.def.name).join(', ')}${skipped.length ? `; not looked up in ${ignored}` : ''}`,
      {
        code: 'package-not-found',
        exitCode: ExitCode.ARCHIVE,
        hint: `check the package name and --arch; its suites: ${used.flatMap((a) => a.def.suites).join(', ')}${skipped.length ? `; ${PRO_HINT}` : ''}`,
      },
    );
  }

  /** Download (unless cached) and verify a .deb; returns its path in the store. */
  async fetchDeb(
    p: PackageInfo | { name: string; version: string; archive: string; filename: string; sha256: string },
    onBytes?: (bytes: number) => void,
  ): Promise<string> {
    const { store } = this.opts;
    // a cached .deb is hashed before it is unpacked (once per process): a damaged one is dropped and fetched again
    const cached = await store.has(p.sha256);
    const damaged = cached && (await store.checkContents([p.sha256])).length > 0;
    if (cached && !damaged) return store.blobPath(p.sha256);
    if (damaged) await store.dropContent(p.sha256);
    const archive = this.archives.find((a) => a.def.name === p.archive);
    if (this.opts.offline || !archive) {
      const state = damaged ? `the cached .deb (${store.blobPath(p.sha256)}) was damaged and is removed` : 'not in the cache';
      throw new ChiselError(
        `package ${p.name} ${p.version}: ${state}${this.opts.offline ? ' and --offline is set' : ` and archive ${p.archive} is not in the release`}`,
        {
          code: damaged ? 'cache-damaged' : 'offline-miss',
          exitCode: ExitCode.ARCHIVE,
          hint: 'run once online to fill the cache',
        },
      );
    }
    const why = await archive.skipped();
    if (why) throw skippedError(archive.def.name, why, `package ${p.name} ${p.version} is from archive ${archive.def.name}, which was`);
    await this.limit.run(async () => {
      await archive.download(p.filename, p.sha256, `package ${p.name} ${p.version} (${p.filename})`, onBytes);
      this.opts.onEvent?.({ kind: 'download', package: p.name, bytes: 0 });
    });
    return store.blobPath(p.sha256);
  }

  /** The InRelease files read (for lockfiles), sorted, once every lookup started has ended. */
  async inReleasesRead(): Promise<UsedInRelease[]> {
    await Promise.allSettled(this.lookups.splice(0));
    await Promise.all(this.archives.map((a) => a.settled()));
    return this.inReleases();
  }

  /**
   * Whether a lookup was answered from a snapshot a failover then left for
   * another mirror's (its answers may not be the new snapshot's): the plan
   * asks every lookup again. Forgets what was answered.
   */
  superseded(): boolean {
    return this.archives.some((a) => a.superseded());
  }

  /** Forget what was answered, before every lookup is asked again. */
  forget(): void {
    for (const a of this.archives) a.forget();
  }

  /** The InRelease files read so far (for lockfiles), sorted. */
  inReleases(): UsedInRelease[] {
    return this.archives.flatMap((a) => a.used).sort((a, b) => (a.archive + a.suite < b.archive + b.suite ? -1 : 1));
  }
}

const PRO_HINT = `give the pro archive credentials: a line "machine HOST/PATH login USER password PASSWORD" for its URL in a file of /etc/apt/auth.conf.d (or of the directory in ${AUTH_DIR_ENV}), and its URL with --archive-url NAME=URL or an APT source`;

function skippedError(name: string, why: string, what = `archive ${name} was`): ChiselError {
  return new ChiselError(`${what} ignored: ${why}`, { code: 'archive-skipped', exitCode: ExitCode.ARCHIVE, hint: PRO_HINT });
}

export async function openArchives(release: Release, arch: string, opts: ArchiveOptions): Promise<ArchiveSet> {
  return new ArchiveSet(release, arch, opts);
}
