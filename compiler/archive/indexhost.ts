// Where parsed Packages indexes live while a command runs. Debian's main index
// is 13 MB of gzip and 57 MB of text: downloading, decompressing, parsing and
// caching it takes the main thread half a second of a cold cut. The index
// worker (indexworker.js, next to this module once compiled) does it on
// another thread and keeps the tables; the main thread asks it for the rows of
// one package name at a time. Without the compiled worker (tests run from the
// sources) or when a thread cannot start, the same work runs here.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ContentStore } from '../cache/store.js';
import { deserializeError, type SerializedError } from '../util/errors.js';
import { loadIndexTable, storeTable, type IndexJob } from './indextable.js';
import { indexByName, tableRecord, type IndexRecord, type PackageTable } from './packages.js';

export interface IndexHost {
  /** Makes the index of `job` available to lookup(); `cached`: it came from the parsed-index cache. */
  load(job: IndexJob): Promise<{ cached: boolean }>;
  /** The rows of `name` in the loaded index `sha256`. */
  lookup(sha256: string, name: string): Promise<IndexRecord[]>;
}

/**
 * The worker starts at once when `eager` (an online run, which likely parses
 * an index: the thread is ready by the time the InRelease files are
 * verified), else on the first load (an offline run usually answers from the
 * lookup cache and loads no index).
 */
export function indexHost(store: ContentStore, opts: { eager?: boolean } = {}): IndexHost {
  const worker = new URL('./indexworker.js', import.meta.url);
  if (!existsSync(fileURLToPath(worker))) return new LocalIndexes(store);
  let host: IndexHost | undefined;
  // Every index asked for, so that a worker started after an idle one ended can load it again.
  const jobs = new Map<string, IndexJob>();
  const started = (): IndexHost => {
    if (host instanceof WorkerIndexes && host.released) host = undefined;
    try {
      host ??= new WorkerIndexes(worker, store, jobs);
    } catch {
      host ??= new LocalIndexes(store); // a thread that cannot start (resource limits): work here
    }
    return host;
  };
  if (opts.eager) started();
  return {
    load: (job) => started().load(job),
    lookup: (sha256, name) => started().lookup(sha256, name),
  };
}

/** The messages of the index worker. */
export type IndexRequest = { id: number; root: string } & ({ op: 'load'; job: IndexJob } | { op: 'lookup'; sha256: string; name: string });
/** `storing`: a `stored` message follows. */
export type IndexAnswer = { id: number; ok: true; cached?: boolean; storing?: boolean; rows?: IndexRecord[] };
export type IndexReply =
  | IndexAnswer
  | { id: number; ok: false; error: SerializedError }
  /** A fresh table was written to the parsed-index cache (or failed to be: that only costs the cache entry). */
  | { id: number; stored: true };

/** Tables of loaded indexes, by sha256, with their name -> rows maps (shared by both hosts). */
export class TableSet {
  private readonly tables = new Map<string, Promise<{ table: PackageTable; byName: Map<string, number[]>; cached: boolean }>>();
  constructor(private readonly store: ContentStore) {}

  /**
   * Loads (once per sha256). A freshly parsed table is then written to the
   * parsed-index cache, off the critical path: `storing` is that write
   * (undefined when there is none to do).
   */
  async load(job: IndexJob): Promise<{ cached: boolean; storing?: Promise<void> }> {
    const known = this.tables.get(job.sha256);
    if (known) return { cached: (await known).cached };
    const t = loadIndexTable(this.store, job).then(({ table, cached }) => ({ table, byName: indexByName(table), cached }));
    this.tables.set(job.sha256, t);
    t.catch(() => this.tables.delete(job.sha256));
    const { table, cached } = await t;
    if (cached) return { cached };
    return { cached, storing: new Promise<void>((r) => setImmediate(r)).then(() => storeTable(this.store, job.sha256, table)) };
  }

  async lookup(sha256: string, name: string): Promise<IndexRecord[]> {
    const t = this.tables.get(sha256);
    if (!t) throw new Error(`index ${sha256} is not loaded`);
    const { table, byName } = await t;
    return (byName.get(name) ?? []).map((row) => tableRecord(table, row));
  }
}

class LocalIndexes implements IndexHost {
  private readonly set: TableSet;
  constructor(private readonly store: ContentStore) {
    this.set = new TableSet(store);
  }
  async load(job: IndexJob): Promise<{ cached: boolean }> {
    const { cached, storing } = await this.set.load(job);
    if (storing) this.store.later(storing);
    return { cached };
  }
  lookup(sha256: string, name: string): Promise<IndexRecord[]> {
    return this.set.lookup(sha256, name);
  }
}

/**
 * A worker with nothing to do for this long is ended, and its tables freed
 * (a cut asks its lookups in one burst, then unpacks for seconds: the java set
 * peaks 40 MB lower). A later request starts a new one, which reads the
 * tables back from the parsed-index cache.
 */
const IDLE_RELEASE_MS = 250;

class WorkerIndexes implements IndexHost {
  private readonly worker: Worker;
  /** Ended after being idle (not a failure): the next request goes to a new worker. */
  released = false;
  /** Indexes this worker was asked to load. */
  private readonly asked = new Set<string>();
  private idleTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: IndexAnswer) => void; reject: (e: Error) => void }>();
  /** Cache writes the worker has still to do (the process must not exit before they end). */
  private storing = 0;
  private failed: Error | undefined;
  constructor(
    url: URL,
    private readonly store: ContentStore,
    /** Every index the host was asked for (shared by the workers it starts one after another). */
    private readonly jobs: Map<string, IndexJob>,
  ) {
    // A small young generation: the parse makes short-lived garbage, and the
    // default lets it pile up (40 MB more peak RSS, no faster).
    this.worker = new Worker(url, { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    this.worker.on('message', (m: IndexReply) => this.onMessage(m));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (!this.released) this.fail(new Error(`index worker exited with code ${code}`));
    });
    // after the listeners (adding a 'message' listener refs the worker again)
    this.worker.unref();
  }

  load(job: IndexJob): Promise<{ cached: boolean }> {
    const { timeoutMs, retries, backoffMs, authorization } = job.http ?? {};
    const http = {
      ...(authorization !== undefined ? { authorization } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(retries !== undefined ? { retries } : {}),
      ...(backoffMs !== undefined ? { backoffMs } : {}),
    };
    this.jobs.set(job.sha256, job);
    this.asked.add(job.sha256);
    return this.ask({ op: 'load', job: { ...job, http } }).then((r) => ({ cached: Boolean(r.cached) }));
  }

  async lookup(sha256: string, name: string): Promise<IndexRecord[]> {
    // A worker started after an idle one ended has no tables: it loads the index again (from the parsed-index cache) first.
    const job = this.jobs.get(sha256);
    if (job && !this.asked.has(sha256)) void this.load(job).catch(() => undefined);
    return (await this.ask({ op: 'lookup', sha256, name })).rows ?? [];
  }

  private ask(req: { op: 'load'; job: IndexJob } | { op: 'lookup'; sha256: string; name: string }): Promise<IndexAnswer> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.released) return Promise.reject(new Error('index worker released'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.busy();
      this.worker.postMessage({ id, root: this.store.root, ...req } satisfies IndexRequest);
    });
  }

  private onMessage(m: IndexReply): void {
    if ('stored' in m) {
      this.storing--;
    } else {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.ok) {
        if (m.storing) this.storing++;
        w?.resolve(m);
      } else w?.reject(deserializeError(m.error));
    }
    this.busy();
  }

  /** Keep the process alive while the worker owes an answer or a cache write; end it once idle for a while. */
  private busy(): void {
    clearTimeout(this.idleTimer);
    if (this.waiting.size > 0 || this.storing > 0) {
      this.worker.ref();
      return;
    }
    this.worker.unref();
    if (this.failed) return;
    this.idleTimer = setTimeout(() => {
      this.released = true;
      void this.worker.terminate();
    }, IDLE_RELEASE_MS);
    this.idleTimer.unref();
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    this.storing = 0;
    this.worker.unref();
  }
}
