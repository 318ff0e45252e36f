// The whole build, as one pipeline shared by `cut` (flags), `build` (an image
// file) and `lock`: release -> plan (per arch: selection and package choice)
// -> cut (fetched packages -> tree) -> the image's additions -> outputs
// (dir | tar | OCI layout | OCI archive | push) -> SBOM. Each stage is a
// function of its inputs with plain data between them (spec.ts, plan.ts).

import { lockForUse } from '../cache/lock.js';
import type { SbomFormat } from '../sbom/index.js';
import { cut, damagedError, NotCached, type PackageSource } from '../slicer/cut.js';
import type { Selection } from '../slicer/selection.js';
import { ensureDir, withEntries } from '../tree/edit.js';
import { contentSums, type TreeEntry } from '../tree/model.js';
import { failingAt } from '../util/errors.js';
import { releaseLayers } from '../release/layers.js';
import { planBuild, rememberedPlan, selectArchs, type BuildPlan, type PlannedBuild } from './plan.js';
import { writeOutputs } from './outputs.js';
import { DamagedContents } from '../output/dir.js';
import { checkOutputs, effectiveConfig, NONROOT, specEpoch, type ArchBuild, type BuildResult, type BuildSpec } from './spec.js';
import { sbomArch } from './subjects.js';
import { trace } from '../util/trace.js';

export * from './spec.js';
export { SBOM_MEDIA_TYPE } from './outputs.js';

/** Build what the spec asks; `selections` when the caller made them already (to check a lockfile's inputs). */
export async function build(spec: BuildSpec, selections?: Selection[]): Promise<BuildResult> {
  // A build for its digests only (chisel-ts lock) writes nothing.
  if (!spec.digests || Object.keys(spec.outputs).length > 0) checkOutputs(spec);
  const epoch = specEpoch(spec);
  const config = effectiveConfig(spec);
  // the cache is in use until the outputs are written: `cache prune` waits
  const lock = await failingAt('cache', spec.store.root, () =>
    lockForUse(spec.store.root, (pid) => spec.notice?.(`waiting for cache prune (process ${pid}) to end`)),
  );
  try {
    const selected = selections ?? selectArchs(spec);
    // the packages the last plan of these slices chose: likely chosen again
    const guess = spec.offline ? undefined : await rememberedPlan(spec.store, selected).catch(() => undefined);
    const planned = planBuild(spec, selected, { lookupsCached: guess !== undefined });
    planned.catch(() => undefined); // awaited below, or by the early build
    const early = guess && rootOnly(spec) ? await earlyBuild(spec, guess, planned, config, epoch) : undefined;
    if (early) return early;
    const got = await planned;
    trace('planned');
    return await cutAndWrite(spec, got, config, epoch, {});
  } finally {
    await spec.store.settle(); // the cache's background writes (the cut cache) end while it is held
    await lock.release();
  }
}

interface CutAndWrite {
  /** The early build's gate: the plan from the archives, once it has been found to choose the same packages (else it throws). */
  confirm?: () => Promise<BuildPlan>;
  /** The cut only from the cut cache (NotCached otherwise). */
  cachedOnly?: boolean;
  /** The early build's cut events: held until the plan is confirmed. */
  onEvent?: BuildSpec['onEvent'];
}

/** The cut of the plan, written: a cut from the cut cache naming damaged content is cut afresh, which heals it. */
async function cutAndWrite(
  spec: BuildSpec,
  { plan, sources }: PlannedBuild,
  config: BuildResult['config'],
  epoch: number,
  opts: CutAndWrite,
): Promise<BuildResult> {
  const run = async (fresh: boolean): Promise<BuildResult> => {
    const archs = await cutPlan(spec, plan, sources, {
      fresh,
      cachedOnly: Boolean(opts.cachedOnly),
      onEvent: opts.onEvent ?? spec.onEvent,
    });
    trace('cut');
    if (spec.sbom?.inImage) await addSbomToTrees(spec, spec.sbom.format, archs, epoch);
    // a directory alone checks the contents it copies (output/dir.ts) and is renamed into place once they pass
    const byWrite = !fresh && rootOnly(spec) && archs.some((a) => a.cut.cached);
    if (!byWrite) await checkTrees(spec, archs);
    trace(byWrite ? 'contents checked by the write' : 'contents checked');
    const { confirm } = opts;
    // the same packages from the archives: the same tree; the InRelease files read are the archives' own
    const beforePublish = async () => {
      const real = await confirm!();
      for (const [i, a] of archs.entries()) a.archives = real.archs[i]!.archives;
    };
    let r: BuildResult;
    try {
      r = await writeOutputs(spec, archs, config, epoch, confirm ? { beforePublish } : {});
    } catch (e) {
      if (e instanceof DamagedContents) throw damaged(archs, new Set(e.sums));
      throw e;
    }
    trace('written');
    return r;
  };
  try {
    return await run(false);
  } catch (e) {
    // a cut from the cut cache named damaged content: cut afresh (the packages heal it)
    if (e instanceof StaleCut && !opts.cachedOnly) return await run(true);
    throw e;
  }
}

/**
 * The root of the packages the last plan of these selections chose (the plan
 * memory), cut from the cut cache and written while the archives are asked
 * (their InRelease round trips are then not waited for); renamed into place
 * only once the plan from the archives chooses the same packages. Undefined
 * when it cannot be done (no cached cut of the remembered plan, a package
 * changed, any failure): the build then runs as usual, from the plan the
 * archives gave, and meets any real failure again.
 */
async function earlyBuild(
  spec: BuildSpec,
  guess: BuildPlan,
  planned: Promise<PlannedBuild>,
  config: BuildResult['config'],
  epoch: number,
): Promise<BuildResult | undefined> {
  trace('plan remembered (the early build)');
  const { onEvent, log, ...quiet } = spec;
  const held: Array<() => void> = [];
  const confirm = async (): Promise<BuildPlan> => {
    const real = (await planned).plan;
    trace('planned');
    if (!samePackages(real, guess)) throw new PlanMoved();
    return real;
  };
  // the cut is from the cut cache only: a remembered plan downloads nothing
  const sources = new Map<string, PackageSource>(guess.archs.map((a) => [a.arch, { resolve: notCached, fetchDeb: notCached }]));
  try {
    const r = await cutAndWrite(
      { ...quiet, ...(log ? { log: (m: string) => held.push(() => log(m)) } : {}) },
      { plan: guess, sources },
      config,
      epoch,
      {
        confirm,
        cachedOnly: true,
        onEvent: (arch, ev) => held.push(() => onEvent?.(arch, ev)),
      },
    );
    for (const h of held) h();
    return r;
  } catch {
    return undefined;
  }
}

const notCached = (): Promise<never> => Promise.reject(new NotCached('an early build downloads nothing'));

/** The same packages for every arch (the InRelease files read may differ: a new Date, the same choice). */
function samePackages(a: BuildPlan, b: BuildPlan): boolean {
  const key = (p: BuildPlan) =>
    JSON.stringify(
      p.archs.map((x) => [
        x.arch,
        x.packages.map((q) => [q.name, q.version, q.arch, q.archive, q.sha256, q.size, q.filename, q.suite, q.component]),
      ]),
    );
  return key(a) === key(b);
}

/** The plan from the archives chose other packages than the early build's. */
class PlanMoved extends Error {}

/** The only output is a root directory, and nothing reads the contents before it is written (digests, an SBOM). */
function rootOnly(spec: BuildSpec): boolean {
  const o = spec.outputs;
  return Boolean(o.root && !o.tar && !o.oci && !o.ociArchive && !o.push && !spec.digests && !spec.verify && !spec.sbom);
}

/** Damaged content in the tree of a cut taken from the cut cache. */
class StaleCut extends Error {}

/** The cut of each planned arch, with the image's additions: the non-root home, the image file's files. */
async function cutPlan(
  spec: BuildSpec,
  plan: BuildPlan,
  sources: Map<string, PackageSource>,
  opts: { fresh: boolean; cachedOnly: boolean; onEvent: BuildSpec['onEvent'] },
): Promise<ArchBuild[]> {
  const archs: ArchBuild[] = [];
  for (const p of plan.archs) {
    const { arch } = p;
    const result = await cut({
      selection: p.selection,
      packages: p.packages,
      store: spec.store,
      source: sources.get(arch)!,
      packageMetadata: spec.packageMetadata ?? true,
      keepSetId: Boolean(spec.keepSetId),
      deferCheck: true, // checkTrees
      fresh: opts.fresh,
      cachedOnly: opts.cachedOnly,
      onEvent: (ev) => opts.onEvent?.(arch, ev),
    });
    let tree = result.tree;
    if (spec.nonroot) tree = ensureDir(tree, NONROOT.home, 0o700, NONROOT.uid, NONROOT.gid);
    if (spec.files?.length) tree = await (await import('../context/addfiles.js')).addFiles(tree, spec.files, spec.store); // loaded when an image file adds files
    archs.push({ arch, cut: result, tree, archives: p.archives });
  }
  return archs;
}

/**
 * Every content of every tree matches its sha256 before any output is
 * published (the cut checked and healed the packages' content of a fresh
 * cut; this hashes what a cached cut names and what was added since, and not
 * written by this process; a lone root hashes what it copies instead). A
 * mismatch fails the build, or makes it cut afresh (StaleCut) when a cut came
 * from the cut cache.
 */
async function checkTrees(spec: BuildSpec, archs: ArchBuild[]): Promise<void> {
  for (const a of archs) {
    const bad = new Set(await spec.store.checkContents(contentSums(a.tree)));
    if (bad.size > 0) throw damaged(archs, bad);
  }
}

/** Damaged contents of the trees: a cut from the cut cache is cut afresh (StaleCut), else the error names the paths. */
function damaged(archs: ArchBuild[], bad: Set<string>): Error {
  if (archs.some((x) => x.cut.cached)) return new StaleCut('a cached cut names damaged content');
  return damagedError(archs.flatMap((a) => a.tree.entries.filter((e) => e.sha256 && bad.has(e.sha256)).map((e) => e.path)));
}

/** The SBOM of each arch, put in its own tree (`sbom: {in-image: true}`). */
async function addSbomToTrees(spec: BuildSpec, format: SbomFormat, archs: ArchBuild[], epoch: number): Promise<void> {
  for (const a of archs) {
    const doc = Buffer.from(
      (await sbomModule()).sbomDocument(
        await (await import('../sbom/frombuild.js')).sbomInput({
          archs: [sbomArch(a)],
          store: spec.store,
          releaseDir: releaseLayers(spec.release)[0]!.dir, // an overlay's distribution is its bottom base's
          name: spec.tag ?? 'rootfs',
          epoch,
        }),
        format,
      ),
    );
    const file: TreeEntry = {
      path: `${SBOM_DIR}/chisel-ts.${format}.json`,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: doc.length,
      sha256: await spec.store.putBuffer(doc),
    };
    a.tree = withEntries(ensureDir(a.tree, SBOM_DIR, 0o755, 0, 0), [file]);
  }
}

// The SBOM is loaded when asked for (start-up time of a plain cut).
const sbomModule = () => import('../sbom/index.js');

export const SBOM_DIR = '/usr/share/sbom';
