// chisel-ts cache: info (size, blobs, packages, indexes, layers, oldest and newest
// use), verify (re-hash everything; --repair removes what is bad) and prune
// (--max-size, --older-than; least recently used first; waits for running
// cuts). The work is in pipeline/cache.ts.

import type { Command } from 'commander';
import { defaultCacheDir } from '../cache/store.js';
import { cacheInfo, parseDuration, parseSize, pruneCache, verifyCache } from '../pipeline/cache.js';
import { ChiselError, ExitCode, failingAt } from '../util/errors.js';

interface CacheFlags {
  cacheDir?: string;
  json?: boolean;
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

function out(flags: CacheFlags, doc: unknown, text: string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(doc, null, 2)}\n` : `${text}\n`);
}

export function register(program: Command): void {
  const cache = program.command('cache').description('see, check and bound the content cache');
  const common = (c: Command) =>
    c.option('--cache-dir <dir>', 'content cache (default: $XDG_CACHE_HOME/chisel-ts)').option('--json', 'print a JSON document');
  common(cache.command('info').description('size, blobs, packages, indexes, cached layers, and the oldest and newest use')).action(
    async (flags: CacheFlags) => {
      const root = flags.cacheDir ?? defaultCacheDir();
      const i = await cacheInfo(root);
      out(
        flags,
        i,
        [
          `cache ${i.root}`,
          `size: ${mb(i.size)}`,
          `blobs: ${i.blobs}`,
          `packages: ${i.packages}`,
          `indexes: ${i.indexes}`,
          `layers: ${i.layers}`,
          ...(i.oldestUse ? [`oldest use: ${i.oldestUse}`, `newest use: ${i.newestUse}`] : []),
        ].join('\n'),
      );
    },
  );
  common(cache.command('verify').description('re-hash every blob and check every side-data entry; exit 1 when something is damaged'))
    .option('--repair', 'remove the damaged entries (the next cut fetches them again)')
    .action(async (flags: CacheFlags & { repair?: boolean }) => {
      const root = flags.cacheDir ?? defaultCacheDir();
      const r = await failingAt('cache', root, () => verifyCache(root, { repair: Boolean(flags.repair) }));
      const bad = r.damaged.length + r.badMeta.length;
      out(
        flags,
        r,
        [
          `checked ${r.checked} blobs: ${r.damaged.length} damaged, ${r.badMeta.length} bad side-data entries`,
          ...r.damaged.map((b) => `damaged: blobs/sha256/${b}`),
          ...r.badMeta.map((m) => `bad: ${m}`),
          ...(flags.repair && bad ? [`removed ${r.removed.length} entries; the next cut fetches what it needs again`] : []),
        ].join('\n'),
      );
      if (bad && !flags.repair) {
        throw new ChiselError(`cache ${root}: ${bad} damaged entr${bad === 1 ? 'y' : 'ies'}`, {
          code: 'cache-damaged',
          exitCode: ExitCode.FAILURE,
          hint: 'run `chisel-ts cache verify --repair` to remove them',
        });
      }
    });
  common(cache.command('prune').description('remove the least recently used entries (waits for running cuts)'))
    .option('--max-size <size>', 'shrink the cache to at most this size (e.g. 500M, 2G)')
    .option('--older-than <age>', 'remove entries not used for this long (e.g. 30d, 12h)')
    .action(async (flags: CacheFlags & { maxSize?: string; olderThan?: string }) => {
      const root = flags.cacheDir ?? defaultCacheDir();
      const maxSize = flags.maxSize !== undefined ? parseSize(flags.maxSize) : undefined;
      const olderThanMs = flags.olderThan !== undefined ? parseDuration(flags.olderThan) : undefined;
      if (flags.maxSize !== undefined && maxSize === undefined)
        throw new ChiselError(`--max-size ${flags.maxSize}: not a size`, {
          code: 'usage',
          exitCode: ExitCode.USAGE,
          hint: 'e.g. 500M, 2G, 1000000',
        });
      if (flags.olderThan !== undefined && olderThanMs === undefined)
        throw new ChiselError(`--older-than ${flags.olderThan}: not a duration`, {
          code: 'usage',
          exitCode: ExitCode.USAGE,
          hint: 'e.g. 30d, 12h, 90m',
        });
      if (maxSize === undefined && olderThanMs === undefined)
        throw new ChiselError('cache prune: give --max-size and/or --older-than', { code: 'usage', exitCode: ExitCode.USAGE });
      const r = await failingAt('cache', root, () =>
        pruneCache(root, {
          ...(maxSize !== undefined ? { maxSize } : {}),
          ...(olderThanMs !== undefined ? { olderThanMs } : {}),
          onWait: (pids) => process.stderr.write(`waiting for the cuts using the cache (process ${pids.join(', ')})\n`),
        }),
      );
      out(flags, r, `removed ${r.removed} entries, freed ${mb(r.freed)}; the cache is now ${mb(r.size)}`);
    });
}
