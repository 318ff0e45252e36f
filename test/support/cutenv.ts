// Helpers to run real cuts in tests: a release directory pointing at a
// TestArchive, and the cut pipeline from the library (the same code the CLI runs).

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { planBuild } from '../../compiler/pipeline/plan.js';
import { sourceDateEpoch } from '../../compiler/pipeline/spec.js';
import type { ArchiveOptions, UsedInRelease } from '../../compiler/archive/index.js';
import { ContentStore } from '../../compiler/cache/store.js';
import { writeDir } from '../../compiler/output/dir.js';
import { loadRelease } from '../../compiler/release/index.js';
import { cut, type CutResult } from '../../compiler/slicer/cut.js';
import type { TestArchive } from './testarchive.js';

const tempDirs: string[] = [];

/** Removes the directories tempDir made (test/support/setup.ts runs it after each test file). */
export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

/** A new directory under the system's temporary directory, removed after the test file. */
export function tempDir(prefix = 'chisel-ts-test-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

export function indent(text: string, n: number): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

/** A release whose single archive "test" is the TestArchive (suite "stable", component "main"). */
export function writeRelease(
  archive: TestArchive,
  slices: Record<string, string>,
  opts: { format?: string; extra?: string; suites?: string[] /** false: no url (the APT sources name the mirrors) */; url?: boolean } = {},
): string {
  const dir = tempDir('chisel-ts-release-');
  mkdirSync(path.join(dir, 'slices'));
  writeFileSync(
    path.join(dir, 'chisel.yaml'),
    `format: ${opts.format ?? 'v1'}
maintenance:
  standard: 2020-01-01
  end-of-life: 2100-01-01
archives:
  test:
    version: "1"
    suites: [${(opts.suites ?? ['stable']).join(', ')}]
    components: [main]
    public-keys: [test-key]
${opts.url === false ? '' : `    url: ${archive.url}\n`}public-keys:
  test-key:
    id: "${archive.keyId}"
    armor: |
${indent(archive.armoredPublicKey, 6)}
${opts.extra ?? ''}
`,
  );
  for (const [pkg, text] of Object.entries(slices)) writeFileSync(path.join(dir, 'slices', `${pkg}.yaml`), text);
  return dir;
}

export interface CutOpts {
  releaseDir: string;
  slices: string[];
  arch?: string;
  cacheDir?: string;
  root?: string;
  offline?: boolean;
  /** dpkg status.d metadata; off by default here, as the rule tables compare whole trees with Chisel's behaviour. */
  packageMetadata?: boolean;
  /** Keep the packages' setuid / setgid bits (--keep-setid). */
  keepSetId?: boolean;
  /** Archive options of the cut (URL overrides, APT sources, credentials directory, notices). */
  archives?: Pick<ArchiveOptions, 'urlOverrides' | 'sourcesFiles' | 'authDir' | 'onNotice'>;
  /** --verbose lines of the plan (a mirror failover). */
  log?: (line: string) => void;
}

/** A cut into a directory; `archives`: the InRelease files the package choice read. */
export async function cutTo(opts: CutOpts): Promise<{ root: string; result: CutResult; cacheDir: string; archives: UsedInRelease[] }> {
  const release = await loadRelease(opts.releaseDir);
  const cacheDir = opts.cacheDir ?? tempDir('chisel-ts-cache-');
  const store = new ContentStore(cacheDir);
  const arch = opts.arch ?? 'amd64';
  const { plan, sources } = await planBuild({
    release,
    slices: opts.slices,
    archs: [arch],
    store,
    offline: Boolean(opts.offline),
    http: { retries: 1, backoffMs: 10, timeoutMs: 2000 },
    ...(opts.archives?.urlOverrides ? { urlOverrides: opts.archives.urlOverrides } : {}),
    ...(opts.archives?.sourcesFiles ? { sourcesFiles: opts.archives.sourcesFiles } : {}),
    ...(opts.archives?.authDir ? { authDir: opts.archives.authDir } : {}),
    ...(opts.archives?.onNotice ? { notice: opts.archives.onNotice } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  const [p] = plan.archs;
  const result = await cut({
    selection: p!.selection,
    packages: p!.packages,
    store,
    source: sources.get(arch)!,
    packageMetadata: opts.packageMetadata ?? false,
    ...(opts.keepSetId ? { keepSetId: true } : {}),
  });
  const root = opts.root ?? path.join(tempDir('chisel-ts-root-'), 'root');
  await writeDir(result.tree, store, root, { mtime: sourceDateEpoch() });
  await store.settle(); // the cache's background writes (the cut cache), as the pipeline ends
  return { root, result, cacheDir, archives: p!.archives };
}
