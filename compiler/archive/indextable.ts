// One Packages index -> its parsed table: from the parsed-index cache (keyed
// by the index's signed sha256), else from the verified blob in the store,
// else downloaded (a gzip index is parsed while it downloads, and used only
// once the whole file matched its signed hash). A pure function of the job
// and the store, run in the index worker or on the main thread.

import type { ContentStore } from '../cache/store.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import { downloadVerified } from './fetch.js';
import type { HttpOptions } from './http.js';
import { gzipPackagesSink, isPackageTable, parsePackagesIndex, type IndexCompression, type PackageTable } from './packages.js';

export interface IndexJob {
  /** The index file's signed sha256. */
  sha256: string;
  comp: IndexCompression;
  /** "archive debian trixie/main/binary-amd64/Packages.gz", for errors. */
  what: string;
  /** Where to download it; undefined with --offline. */
  url?: string;
  /** HTTP options (a worker gets only timeoutMs, retries and backoffMs). */
  http?: HttpOptions;
}

export const TABLE_KIND = 'packages-table';

/** The table of an index, and whether it came from the parsed-index cache (a fresh table is not stored here: see storeTable). */
export async function loadIndexTable(store: ContentStore, job: IndexJob): Promise<{ table: PackageTable; cached: boolean }> {
  const hit = await store.getMeta<PackageTable>(TABLE_KIND, job.sha256);
  if (isPackageTable(hit)) return { table: hit, cached: true };
  return { table: await parseIndex(store, job), cached: false };
}

export function storeTable(store: ContentStore, sha256: string, table: PackageTable): Promise<void> {
  return store.putMeta(TABLE_KIND, sha256, table);
}

async function parseIndex(store: ContentStore, job: IndexJob): Promise<PackageTable> {
  const { sha256, comp, what } = job;
  const data = await store.readVerified(sha256);
  if (data) return parsePackagesIndex(data, comp, what);
  if (job.url === undefined)
    throw new ChiselError(`${what}: --offline, and the cache does not hold this index`, {
      code: 'offline-miss',
      exitCode: ExitCode.ARCHIVE,
      hint: 'run once online to fill the cache',
    });
  if (comp !== 'gz') {
    await downloadVerified(store, job.url, sha256, what, job.http);
    return parsePackagesIndex((await store.readVerified(sha256))!, comp, what);
  }
  let sink: ReturnType<typeof gzipPackagesSink> | undefined;
  await downloadVerified(store, job.url, sha256, what, job.http, () => {
    sink = gzipPackagesSink(what);
    return sink.write;
  });
  return sink!.end();
}
