// Load and validate a release directory: chisel.yaml + slices/**/<pkg>.yaml.
// Every error found in one pass is reported, each with file:line:col.

import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ChiselError, ChiselErrors, ExitCode } from '../util/errors.js';
import { packageRoot } from '../util/pkgroot.js';
import type { ChiselConfig } from './chisel.js';
import type { PackageDef, Release, ReleaseLayer } from './model.js';
import { ParseCache, sha256 } from './parsecache.js';
import { capErrors, MAX_ERRORS_PER_FILE, readYamlText, readYamlTextSync } from '../yaml/text.js';

export { findSlices, type FindResult } from './find.js';
export { globMatch, globsOverlap, isGlob } from './glob.js';

export const DEFAULT_RELEASE = 'debian-13';

export function shippedReleases(): string[] {
  const dir = path.join(packageRoot(), 'slices');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => existsSync(path.join(dir, n, 'chisel.yaml')))
    .sort();
}

/** `--release` is a directory, or the name of a release shipped in slices/. */
export function resolveReleaseDir(arg: string | undefined): string {
  const name = arg ?? DEFAULT_RELEASE;
  const looksLikePath = name.includes('/') || name.startsWith('.');
  if (looksLikePath || (existsSync(name) && statSync(name).isDirectory())) {
    const dir = path.resolve(name);
    if (!existsSync(path.join(dir, 'chisel.yaml'))) {
      throw new ChiselError(`release directory ${dir} has no chisel.yaml`, {
        code: 'release',
        hint: 'point --release at a directory holding chisel.yaml and slices/',
        exitCode: ExitCode.FAILURE,
      });
    }
    return dir;
  }
  const shipped = path.join(packageRoot(), 'slices', name);
  if (existsSync(path.join(shipped, 'chisel.yaml'))) return shipped;
  throw new ChiselError(`unknown release "${name}": not a directory and not a release shipped with chisel-ts`, {
    code: 'release',
    hint: `shipped releases: ${shippedReleases().join(', ') || '(none)'}; or pass a directory with --release ./path`,
  });
}

/** The .yaml files under `dir`, sorted (an unreadable directory is skipped). */
function sliceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.yaml')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

export interface LoadOptions {
  /** Cache parsed files under this directory (see parsecache.ts); no caching when unset. */
  cacheDir?: string;
  /**
   * Called with chisel.yaml's settings before the slice files are parsed (a
   * cut starts its InRelease downloads there); the parsing then yields to the
   * event loop now and then, so that I/O goes on meanwhile.
   */
  onConfig?: (cfg: ChiselConfig) => void;
  /**
   * Packages about to be written into the release (scaffold): sets and
   * essentials may name their slices before their files exist.
   */
  pending?: ReadonlySet<string>;
}

/** Slice files parsed between two turns of the event loop when onConfig is set. */
const FILES_PER_TURN = 32;
/** Cached slice files taken between turns of the event loop (each costs ~30 µs). */
const CACHED_PER_TURN = 128;

export async function loadRelease(dirArg: string, opts: LoadOptions = {}): Promise<Release> {
  const dir = path.resolve(dirArg);
  const errors: ChiselError[] = [];
  // Problems Chisel accepts: files that have some are not cached, so every run reports them.
  const warnings: ChiselError[] = [];
  const chiselFile = path.join(dir, 'chisel.yaml');
  let chiselText: string;
  try {
    chiselText = await readYamlText(chiselFile, 'a release directory holds chisel.yaml and slices/');
  } catch (e) {
    // A missing chisel.yaml keeps its hint; a bad one is an error at its position.
    if ((e as ChiselError).code === 'yaml' && (e as ChiselError).message.startsWith('cannot read')) throw e;
    throw new ChiselErrors([e as ChiselError]);
  }
  const cache = await ParseCache.open(opts.cacheDir, dir);
  // The parsers (and yaml, ajv, openpgp behind them) are loaded only when some file is not cached.
  let chiselSha = '';
  let cfg: ChiselConfig | undefined;
  const cached = cachedChain(cache, chiselText);
  if (cached) ({ sha: chiselSha, cfg } = cached);
  // The keys of a chisel.yaml not in the cache are checked once openpgp has loaded.
  let keysChecked: (() => Promise<void>) | undefined;
  if (!cfg) {
    const { readChiselYaml } = await import('./chisel.js');
    const before = errors.length;
    const read = readChiselYaml(chiselFile, chiselText, errors, warnings);
    capFileErrors(errors, before);
    if (!read) throw new ChiselErrors(sortErrors(errors));
    const parsed = read.cfg;
    cfg = parsed;
    chiselSha = chainSha(read.texts);
    const sha = chiselSha;
    const chiselFiles = new Set(layersOf(dir, parsed).map((l) => path.join(l.dir, 'chisel.yaml')));
    keysChecked = async () => {
      await read.keysChecked;
      const chiselProblems = [...errors, ...warnings].filter((e) => chiselFiles.has(e.location?.file ?? '')).length;
      if (chiselProblems === 0) cache.putConfig(sha, parsed);
    };
  }
  if (opts.onConfig) {
    opts.onConfig(cfg);
    // a turn of the event loop, so that what onConfig started (the InRelease downloads) gets going while the slice files load
    await new Promise((r) => setImmediate(r));
  }
  // Slice files, from the top layer down: a layer's file replaces a lower layer's file of the same package name.
  const found: string[] = [];
  const above = new Set<string>();
  const layers = layersOf(dir, cfg);
  for (const [i, layer] of [...layers].reverse().entries()) {
    const slicesDir = path.join(layer.dir, 'slices');
    // A release needs slices/; an overlay may leave it out (it then changes chisel.yaml only).
    if (i === layers.length - 1 && (!existsSync(slicesDir) || !statSync(slicesDir).isDirectory()))
      throw new ChiselErrors([
        new ChiselError(
          `cannot read the slices/ directory of release ${layer.dir}: it does not exist; slice definitions go in slices/<package>.yaml`,
          {
            code: 'release',
            location: { file: slicesDir },
          },
        ),
      ]);
    const own = sliceFiles(slicesDir);
    found.push(...own.filter((f) => !above.has(path.basename(f))));
    for (const f of own) above.add(path.basename(f));
  }
  // Files that cannot be read (too large, not UTF-8, not a regular file) are
  // reported and left out; the others are still checked.
  const read = found.map((f) => {
    try {
      return readYamlTextSync(f);
    } catch (e) {
      return e instanceof ChiselError ? e : new ChiselError(`cannot read file: ${String(e)}`, { code: 'yaml', location: { file: f } });
    }
  });
  const files: string[] = [];
  const texts: string[] = [];
  read.forEach((r, i) => {
    if (r instanceof ChiselError) errors.push(r);
    else {
      files.push(found[i]!);
      texts.push(r);
    }
  });
  const format = cfg.format;
  const parsed = new Map<number, PackageDef | undefined>();
  const misses: number[] = [];
  const shas = texts.map((t) => sha256(`${format}\0${t}`));
  for (const [i, file] of files.entries()) {
    // turns of the event loop for onConfig's downloads (their connections, their answers) between files
    if (opts.onConfig && i % CACHED_PER_TURN === CACHED_PER_TURN - 1) await new Promise((r) => setImmediate(r));
    const pkg = cache.getPackage(file, shas[i]!);
    if (pkg) parsed.set(i, pkg);
    else misses.push(i);
  }
  if (misses.length) {
    const { parseSliceFile } = await import('./slices.js');
    let n = 0;
    for (const i of misses) {
      if (opts.onConfig && ++n % FILES_PER_TURN === 0) await new Promise((r) => setImmediate(r));
      const before = errors.length;
      const warned = warnings.length;
      const pkg = parseSliceFile(files[i]!, texts[i]!, format, errors, warnings);
      capFileErrors(errors, before);
      capFileErrors(warnings, warned);
      parsed.set(i, pkg);
      if (pkg && errors.length === before && warnings.length === warned) cache.putPackage(files[i]!, shas[i]!, pkg);
    }
  }
  const packages = new Map<string, PackageDef>();
  files.forEach((file, i) => {
    const pkg = parsed.get(i);
    if (!pkg) return;
    const other = packages.get(pkg.name);
    if (other) {
      errors.push(
        new ChiselError(`package ${pkg.name} is defined twice: ${other.file} and ${file}`, {
          code: 'duplicate-package',
          location: { file, line: 1, col: 1 },
        }),
      );
      return;
    }
    packages.set(pkg.name, pkg);
  });
  if (keysChecked) await keysChecked();
  const release: Release = {
    dir,
    ...(cfg.layers ? { layers: cfg.layers } : {}),
    format: cfg.format,
    archives: cfg.archives,
    publicKeys: cfg.publicKeys,
    packages,
    sets: cfg.sets,
    setPos: cfg.setPos,
    ...(cfg.maintenance ? { maintenance: cfg.maintenance } : {}),
  };
  // The release-wide checks are a function of the parsed files: a set of
  // files that passed them before, unchanged, passes again.
  const inputs = sha256([chiselSha, ...files.map((f, i) => `${f}\0${shas[i]}`)].join('\n'));
  if (errors.length || misses.length || keysChecked || !cache.passedChecks(inputs)) {
    // loaded only when the checks run (a release that passed them before, unchanged, skips them)
    (await import('./checks.js')).checkRelease(release, errors, opts.pending);
    // A pass that leaned on pending packages is not a pass of the files alone.
    if (!errors.length && !warnings.length && !opts.pending?.size) cache.putPassedChecks(inputs);
  }
  await cache.save();
  if (errors.length) throw new ChiselErrors(sortErrors(errors));
  if (warnings.length) release.warnings = sortErrors(warnings);
  // a release completed by packages still being written (scaffold) is not the files alone
  if (!opts.pending?.size) release.digest = inputs;
  return release;
}

/** The layers of a release whose chisel.yaml (merged) is `cfg`: one for a release that extends none. */
function layersOf(dir: string, cfg: ChiselConfig): ReleaseLayer[] {
  return cfg.layers ?? [{ dir, label: '' }];
}

/** The digest of a chain of chisel.yaml texts (bottom first): a lone file's is its sha256, as before overlays. */
function chainSha(texts: string[]): string {
  return texts.length === 1 ? sha256(texts[0]!) : sha256(texts.map(sha256).join('\n'));
}

/**
 * The cached config of this chisel.yaml when neither it nor any chisel.yaml
 * of the bases it extended when cached has changed since.
 */
function cachedChain(cache: ParseCache, topText: string): { sha: string; cfg: ChiselConfig } | undefined {
  const texts: string[] = [];
  for (const l of cache.configLayers()?.slice(0, -1) ?? []) {
    try {
      texts.push(readYamlTextSync(path.join(l.dir, 'chisel.yaml')));
    } catch {
      return undefined;
    }
  }
  texts.push(topText);
  const sha = chainSha(texts);
  const cfg = cache.getConfig(sha);
  return cfg && { sha, cfg };
}

/** At most MAX_ERRORS_PER_FILE + 1 of the errors one file added (from index `from` on). */
function capFileErrors(errors: ChiselError[], from: number): void {
  if (errors.length - from <= MAX_ERRORS_PER_FILE + 1) return;
  const capped = capErrors(errors.slice(from));
  errors.splice(from, errors.length - from, ...capped);
}

function sortErrors(errors: ChiselError[]): ChiselError[] {
  return [...errors].sort((a, b) => {
    const fa = a.location?.file ?? '';
    const fb = b.location?.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    return (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.col ?? 0) - (b.location?.col ?? 0);
  });
}
