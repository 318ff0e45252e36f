// The plan of a build, shared by `cut`, `build` and `lock`: per arch the
// selection (a pure function of the release) and the package choice (from a
// lockfile's pins, or from the archives), each computed once. The plan is
// plain data; the archive sources it read stay beside it for the cut's
// downloads.

import {
  openArchives,
  type ArchiveOptions,
  type ArchiveSet,
  type PinnedInRelease,
  type SharedSnapshot,
  type UsedInRelease,
} from '../archive/index.js';
import { sha256Hex, type ContentStore } from '../cache/store.js';
import type { Release } from '../release/model.js';
import { checkMaintenance, type CutEvent, type Ignore, type PackageSource, type ResolvedPackage } from '../slicer/cut.js';
import { select, selectedPackages, type Selection } from '../slicer/selection.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import type { BuildSpec } from './spec.js';

export interface ArchPlan {
  arch: string;
  selection: Selection;
  /** One per package of the selection, in its order (sorted by name). */
  packages: ResolvedPackage[];
  /** The InRelease files the package choice read (none when every package was pinned). */
  archives: UsedInRelease[];
}

export interface BuildPlan {
  archs: ArchPlan[];
}

/** Where an arch's packages come from: the archives of the release (compiler/archive's ArchiveSet). */
export interface ArchiveSource extends PackageSource {
  /** The InRelease files read, once every lookup started has ended. */
  inReleasesRead(): Promise<UsedInRelease[]>;
  /** A lookup was answered from a snapshot of a mirror that a failover then left: ask again (one snapshot per cut). */
  superseded?(): boolean;
}

type SelectSpec = Pick<BuildSpec, 'release' | 'slices' | 'archs' | 'ignore'> & {
  now?: Date;
  onEvent?: (arch: string, ev: CutEvent) => void;
};

/** Step 1: per arch, the selection (the release's maintenance checked first). Reads nothing. */
export function selectArchs(spec: SelectSpec): Selection[] {
  return spec.archs.map((arch) => selectArch(spec.release, spec.slices, arch, spec, (ev) => spec.onEvent?.(arch, ev)));
}

function selectArch(
  release: Release,
  slices: string[],
  arch: string,
  opts: { ignore?: Ignore[]; now?: Date },
  onEvent: (ev: CutEvent) => void,
): Selection {
  checkMaintenance(release, opts.now ?? new Date(), opts.ignore ?? []);
  const selection = select(release, slices, arch);
  for (const s of selection.slices) {
    const key = `${s.package}_${s.name}`;
    onEvent({ kind: 'selected', slice: key, reason: selection.reasons.get(key) ?? '' });
  }
  return selection;
}

/** Step 2, for one arch: each package of the selection, pinned or chosen from the archives (all asked at once). */
export async function choosePackages(
  selection: Selection,
  source: ArchiveSource,
  opts: { pinned?: Map<string, ResolvedPackage>; onEvent?: (ev: CutEvent) => void },
): Promise<ArchPlan> {
  const { release } = selection;
  const ask = () =>
    Promise.allSettled(
      selectedPackages(selection).map(
        async (name) => opts.pinned?.get(name) ?? (await source.resolve(name, release.packages.get(name)?.archive)),
      ),
    );
  let settled = await ask();
  let archives = await source.inReleasesRead();
  // a failover to another mirror's snapshot midway: every answer again from the one snapshot now in use
  for (let again = 0; again < 3 && source.superseded?.(); again++) {
    settled = await ask();
    archives = await source.inReleasesRead();
  }
  for (const r of settled) if (r.status === 'fulfilled') opts.onEvent?.({ kind: 'resolved', package: r.value });
  // The first failure in package order (not in time order), once nothing is left running.
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const packages = settled.map((r) => (r as PromiseFulfilledResult<ResolvedPackage>).value);
  return { arch: selection.arch, selection, packages, archives };
}

export interface PlannedBuild {
  plan: BuildPlan;
  /** Per arch: where the cut downloads the planned packages from. */
  sources: Map<string, PackageSource>;
}

/** The plan of a build: selections (or those already made, e.g. to check a lockfile's inputs) and package choice. */
export async function planBuild(
  spec: SelectSpec &
    Pick<BuildSpec, 'store' | 'offline' | 'urlOverrides' | 'pinned' | 'pinnedInReleases' | 'notice' | 'log'> &
    Pick<ArchiveOptions, 'http' | 'sourcesFiles' | 'authDir'>,
  selections: Selection[] = selectArchs(spec),
  opts: Pick<ArchiveOptions, 'lookupsCached'> = {},
): Promise<PlannedBuild> {
  const archs: ArchPlan[] = [];
  const sources = new Map<string, PackageSource>();
  // one snapshot of each archive for every arch
  const shared = new Map<string, SharedSnapshot>();
  const sets: ArchiveSet[] = [];
  const choose = (selection: Selection, archives: ArchiveSet): Promise<ArchPlan> => {
    const { arch } = selection;
    const pinned = spec.pinned?.get(arch);
    return choosePackages(selection, archives, { ...(pinned ? { pinned } : {}), onEvent: (ev) => spec.onEvent?.(arch, ev) });
  };
  for (const selection of selections) {
    const { arch } = selection;
    const archives = await openArchives(spec.release, arch, {
      shared,
      store: spec.store,
      offline: Boolean(spec.offline),
      urlOverrides: spec.urlOverrides ?? new Map(),
      ...(spec.http ? { http: spec.http } : {}),
      ...(spec.sourcesFiles ? { sourcesFiles: spec.sourcesFiles } : {}),
      ...(spec.authDir ? { authDir: spec.authDir } : {}),
      ...(spec.notice ? { onNotice: spec.notice } : {}),
      ...(spec.pinnedInReleases ? { pinnedInReleases: spec.pinnedInReleases } : {}),
      ...(opts.lookupsCached ? { lookupsCached: true } : {}),
      onEvent: (ev) => {
        if (ev.kind === 'mirror')
          spec.log?.(`[${arch}] archive ${ev.archive}: mirror ${ev.from} failed (${ev.why}); using mirror ${ev.to}`);
      },
    });
    sets.push(archives);
    archs.push(await choose(selection, archives));
    const pinned = spec.pinned?.get(arch);
    sources.set(arch, pinned ? pinnedSource(archives, spec.store, spec.pinnedInReleases ?? []) : archives);
  }
  // a failover while a later arch was planned moved an archive to another snapshot: the archs before ask again
  for (let again = 0; again < 3 && sets.some((s) => s.superseded()); again++) {
    for (const [i, selection] of selections.entries()) {
      sets[i]!.forget();
      archs[i] = await choose(selection, sets[i]!);
    }
  }
  for (const a of archs) remember(spec.store, a);
  return { plan: { archs }, sources };
}

// The plan memory: per selection, the packages its last plan chose. A guess
// of what the archives will answer (they change a few times a day), for the
// early build (pipeline/index.ts), which confirms it against the plan from the
// archives before it publishes anything. One sealed JSON entry per selection
// in meta/plan/.
const MEMORY = 'plan';
const MEMORY_FORMAT = 1;

interface Remembered {
  v: number;
  packages: ResolvedPackage[];
}

/** The key of a selection's memory (undefined: a release without a digest). */
function memoryKey(selection: Selection): string | undefined {
  const { release } = selection;
  if (!release.digest) return undefined;
  const slices = selection.slices.map((s) => `${s.package}_${s.name}`);
  return sha256Hex(JSON.stringify({ format: MEMORY_FORMAT, release: release.digest, arch: selection.arch, slices }));
}

function remember(store: ContentStore, a: ArchPlan): void {
  const key = memoryKey(a.selection);
  if (key) store.putMetaLater(MEMORY, key, { v: MEMORY_FORMAT, packages: a.packages } satisfies Remembered);
}

/** The plan the last builds of these selections made, its InRelease files not named; undefined when one is not remembered. */
export async function rememberedPlan(store: ContentStore, selections: Selection[]): Promise<BuildPlan | undefined> {
  const archs: ArchPlan[] = [];
  for (const selection of selections) {
    const key = memoryKey(selection);
    const m = key ? await store.getMeta<Remembered>(MEMORY, key) : undefined;
    if (m?.v !== MEMORY_FORMAT || m.packages.length !== selectedPackages(selection).length) return undefined;
    archs.push({ arch: selection.arch, selection, packages: m.packages, archives: [] });
  }
  return { archs };
}

/** A package source for pinned packages: a download failure names the package and every place looked. */
function pinnedSource(source: PackageSource, store: ContentStore, locked: PinnedInRelease[]): PackageSource {
  return {
    resolve: (name, archive) => source.resolve(name, archive),
    async fetchDeb(p, onBytes) {
      try {
        return await source.fetchDeb(p, onBytes);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new ChiselError(
          `pinned package ${p.name} ${p.version} (${p.arch}, sha256 ${p.sha256.slice(0, 12)}) is not available: not in the cache ${store.root}, and archive ${p.archive} (${p.filename}) failed: ${why}${lockedWhen(locked, p.archive)}`,
          {
            code: 'locked-missing',
            exitCode: ExitCode.ARCHIVE,
            hint: `restore the cache, or point --archive-url ${p.archive}=URL at a mirror or snapshot that still serves ${p.filename}; or run \`chisel-ts lock\` to move to the current version`,
          },
        );
      }
    },
  };
}

/** "; the lockfile was made from archive debian as of trixie Sat, 01 Nov 2026 ... (InRelease Date)", when it records the archive. */
function lockedWhen(locked: PinnedInRelease[], archive: string): string {
  const of = locked.filter((l) => l.archive === archive);
  if (of.length === 0) return '';
  return `; the lockfile was made from archive ${archive} as of ${of.map((l) => `${l.suite} ${l.date}`).join(', ')} (InRelease Date)`;
}
