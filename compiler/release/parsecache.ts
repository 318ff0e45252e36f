// A cache of parsed release files, keyed by each file's sha256: a file whose
// bytes have not changed since the last run is not parsed again (YAML, schema,
// key decoding). Only files that parsed without errors are cached. The
// release-wide checks run again unless the same files passed them last time.
// One JSON document per release directory, written atomically; a missing,
// stale or unreadable cache is simply rebuilt.

import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sealJson, unsealJson } from '../cache/store.js';
import { VERSION } from '../version.js';
import type { ChiselConfig } from './chisel.js';
import type { SourcePos } from '../yaml/file.js';
import type { PackageDef, PathInfo, SliceDef } from './model.js';

/** 3: merge keys applied, warnings (files with one are not cached); 4: overlays (the config's layers); 5: keystores; 6: slices' checks. */
const FORMAT = 6;

/** A position; `file` is left out when it is the package's own file (thousands of times the same path otherwise). */
interface CachedPos {
  file?: string;
  line: number;
  col: number;
}
interface CachedPath extends Omit<PathInfo, 'pos'> {
  pos?: CachedPos;
}
interface CachedSlice extends Omit<SliceDef, 'contents' | 'pos'> {
  pos?: CachedPos;
  contents: Array<[string, CachedPath]>;
}
interface CachedPackage extends Omit<PackageDef, 'slices'> {
  slices: CachedSlice[];
}
interface CachedConfig extends Omit<ChiselConfig, 'archives' | 'publicKeys' | 'sets' | 'setPos'> {
  archives: Array<[string, ChiselConfig['archives'] extends Map<string, infer V> ? V : never]>;
  publicKeys: Array<[string, ChiselConfig['publicKeys'] extends Map<string, infer V> ? V : never]>;
  sets: Array<[string, string[]]>;
  setPos: Array<[string, Array<{ file: string; line: number; col: number }>]>;
}
interface CacheDoc {
  format: number;
  version: string;
  dir: string;
  chisel?: { sha: string; cfg: CachedConfig };
  files: Record<string, { sha: string; pkg: CachedPackage }>;
  /** The sha256 of the inputs (chisel.yaml, each file and its sha) that last passed the release-wide checks. */
  passed?: string;
}

function shortPos(p: SourcePos | undefined, own: string): { pos?: CachedPos } {
  if (!p) return {};
  return { pos: p.file === own ? { line: p.line, col: p.col } : p };
}

function fullPos(p: CachedPos, own: string): SourcePos {
  return { file: p.file ?? own, line: p.line, col: p.col };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class ParseCache {
  private changed = false;
  private readonly used = new Set<string>();

  private constructor(
    private readonly file: string | undefined,
    private readonly doc: CacheDoc,
  ) {}

  /** Open the cache of release `dir` under `cacheDir`; `undefined` disables caching. */
  static async open(cacheDir: string | undefined, dir: string): Promise<ParseCache> {
    const empty: CacheDoc = { format: FORMAT, version: VERSION, dir, files: {} };
    if (!cacheDir) return new ParseCache(undefined, empty);
    const file = path.join(cacheDir, 'meta', 'release-parse', `${sha256(`${VERSION}\0${dir}`)}.json`);
    try {
      const doc = unsealJson<CacheDoc>(await fs.readFile(file, 'utf8'));
      if (doc && doc.format === FORMAT && doc.version === VERSION && doc.dir === dir && doc.files) return new ParseCache(file, doc);
    } catch {
      // absent or unreadable: start afresh
    }
    return new ParseCache(file, empty);
  }

  /** The layers of the cached config (an overlay's, bottom first), to check their chisel.yaml files before getConfig. */
  configLayers(): ChiselConfig['layers'] {
    return this.doc.chisel?.cfg.layers;
  }

  /** The cached config, when its chisel.yaml files (the chain of an overlay) have digest `sha`. */
  getConfig(sha: string): ChiselConfig | undefined {
    const c = this.doc.chisel;
    if (!c || c.sha !== sha) return undefined;
    return {
      ...c.cfg,
      archives: new Map(c.cfg.archives),
      publicKeys: new Map(c.cfg.publicKeys),
      sets: new Map(c.cfg.sets),
      setPos: new Map(c.cfg.setPos),
    };
  }

  putConfig(sha: string, cfg: ChiselConfig): void {
    if (!this.file) return;
    this.doc.chisel = {
      sha,
      cfg: { ...cfg, archives: [...cfg.archives], publicKeys: [...cfg.publicKeys], sets: [...cfg.sets], setPos: [...cfg.setPos] },
    };
    this.changed = true;
  }

  getPackage(file: string, sha: string): PackageDef | undefined {
    this.used.add(file);
    const e = this.doc.files[file];
    if (!e || e.sha !== sha) return undefined;
    const own = e.pkg.file;
    const slices = new Map<string, SliceDef>();
    for (const s of e.pkg.slices) {
      const { pos, contents, ...rest } = s;
      const paths = new Map<string, PathInfo>();
      for (const [k, v] of contents) {
        const { pos: at, ...info } = v;
        paths.set(k, at ? { ...info, pos: fullPos(at, own) } : info);
      }
      slices.set(s.name, pos ? { ...rest, pos: fullPos(pos, own), contents: paths } : { ...rest, contents: paths });
    }
    return { ...e.pkg, slices };
  }

  putPackage(file: string, sha: string, pkg: PackageDef): void {
    this.used.add(file);
    if (!this.file) return;
    const slices = [...pkg.slices.values()].map(
      (s): CachedSlice => ({
        ...s,
        ...shortPos(s.pos, pkg.file),
        contents: [...s.contents].map(([k, v]): [string, CachedPath] => [k, { ...v, ...shortPos(v.pos, pkg.file) }]),
      }),
    );
    this.doc.files[file] = { sha, pkg: { ...pkg, slices } };
    this.changed = true;
  }

  passedChecks(inputs: string): boolean {
    return this.doc.passed === inputs;
  }

  putPassedChecks(inputs: string): void {
    if (!this.file || this.doc.passed === inputs) return;
    this.doc.passed = inputs;
    this.changed = true;
  }

  /** Write the cache when it changed (entries of deleted files dropped); failures are ignored. */
  async save(): Promise<void> {
    if (!this.file) return;
    for (const f of Object.keys(this.doc.files)) {
      if (!this.used.has(f)) {
        delete this.doc.files[f];
        this.changed = true;
      }
    }
    if (!this.changed) return;
    const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      await fs.writeFile(tmp, sealJson(this.doc));
      await fs.rename(tmp, this.file);
    } catch {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}
