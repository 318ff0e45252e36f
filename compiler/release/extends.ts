// Overlays: a chisel.yaml with `extends:` (a shipped release's name, or a
// path from its own directory) is read on top of its base's, and so on down
// the chain. The chisel.yaml files are merged entry by entry (the upper
// layer's archive, public key or set of a name replaces the lower's; its
// format and maintenance block, when given, replace the lower's); what a
// layer leaves out is inherited. The merged document answers positions from
// the layer that wrote each entry, so every error points at the right file.

import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { ChiselError } from '../util/errors.js';
import { packageRoot } from '../util/pkgroot.js';
import { schemaErrors } from '../yaml/schema.js';
import { readYamlTextSync } from '../yaml/text.js';
import { readYamlDoc, type SourcePos, type YamlDoc, type YamlFile } from '../yaml/file.js';
import type { ReleaseLayer } from './model.js';

/** Keys whose entries are merged name by name; the other keys are taken whole from the topmost layer that has them. */
const MERGED_MAPS = ['archives', 'v2-archives', 'public-keys', 'sets'];

type Raw = Record<string, unknown>;

interface ParsedLayer extends ReleaseLayer {
  text: string;
  y: YamlFile;
  raw: Raw;
}

export interface ChiselChain {
  /** The merged chisel.yaml, positions answered by the layer that wrote each entry. */
  doc: YamlDoc;
  raw: Raw;
  /** Bottom first; the release's own directory last. */
  layers: ReleaseLayer[];
  /** The text of each layer's chisel.yaml, bottom first. */
  texts: string[];
}

/** One chisel.yaml, syntax and schema checked; undefined (errors added) when it cannot be used. */
function parseLayerFile(file: string, text: string, errors: ChiselError[], warnings: ChiselError[]): { y: YamlFile; raw: Raw } | undefined {
  const doc = readYamlDoc(file, text, errors, warnings);
  if (!doc) return undefined;
  const { y } = doc;
  const raw = doc.raw as Raw;
  const schema = schemaErrors(y, raw, 'chisel.schema.json');
  if (schema.length) {
    errors.push(...schema);
    return undefined;
  }
  return { y, raw };
}

/** The directory `extends: value` names, written in the chisel.yaml of `dir`. */
function baseDir(value: string, dir: string): { dir: string; label?: string } | { error: string } {
  const isPath = value.includes('/') || value.startsWith('.');
  if (!isPath) {
    const shipped = path.join(packageRoot(), 'slices', value);
    if (existsSync(path.join(shipped, 'chisel.yaml'))) return { dir: shipped, label: value };
    return {
      error: `extends "${value}": no release of that name is shipped with chisel-ts (a directory is written as a path: ./${value})`,
    };
  }
  const base = path.resolve(dir, value);
  if (!existsSync(path.join(base, 'chisel.yaml')))
    return { error: `extends "${value}": ${base} has no chisel.yaml (the path is taken from the directory of this chisel.yaml)` };
  return { dir: base };
}

/**
 * The chain of chisel.yaml files from the release at `file` (with `text`)
 * down to the release that extends none; undefined when a file of it cannot
 * be used (its errors are in `errors`).
 */
export function readChiselChain(file: string, text: string, errors: ChiselError[], warnings: ChiselError[]): ChiselChain | undefined {
  const top = path.dirname(file);
  const layers: ParsedLayer[] = []; // top first while reading
  const seen: string[] = [];
  let cur: { file: string; text: string; label: string } | undefined = { file, text, label: '' };
  while (cur) {
    const parsed = parseLayerFile(cur.file, cur.text, errors, warnings);
    if (!parsed) return undefined;
    const dir = path.dirname(cur.file);
    layers.push({ dir, label: cur.label, text: cur.text, ...parsed });
    seen.push(realPath(dir));
    const ext = parsed.raw.extends as string | undefined;
    if (ext === undefined) break;
    const at = (message: string) => parsed.y.error(['extends'], message, 'extends');
    const base = baseDir(ext, dir);
    if ('error' in base) {
      errors.push(at(base.error));
      return undefined;
    }
    const real = realPath(base.dir);
    if (seen.includes(real)) {
      const names = [...layers.map((l) => l.dir), base.dir].map((d) => path.relative(top, d) || '.');
      errors.push(at(`extends loop: ${names.join(' -> ')}; a release cannot extend itself or a release that extends it`));
      return undefined;
    }
    const baseFile = path.join(base.dir, 'chisel.yaml');
    let baseText: string;
    try {
      baseText = readYamlTextSync(baseFile);
    } catch (e) {
      errors.push(e as ChiselError);
      return undefined;
    }
    cur = { file: baseFile, text: baseText, label: base.label ?? (path.relative(top, base.dir).split(path.sep).join('/') || '.') };
  }
  checkFormats(layers, errors);
  const merged: Raw = {};
  // The format is the bottom release's (an overlay's own must agree, checked above); maintenance the topmost given.
  const format = [...layers].reverse().find((l) => Object.hasOwn(l.raw, 'format'));
  if (format) merged.format = format.raw.format;
  const maintenance = layers.find((l) => Object.hasOwn(l.raw, 'maintenance'));
  if (maintenance) merged.maintenance = maintenance.raw.maintenance;
  for (const key of MERGED_MAPS) {
    const having = layers.filter((l) => Object.hasOwn(l.raw, key) && l.raw[key] !== null);
    if (having.length) merged[key] = Object.assign({}, ...having.reverse().map((l) => l.raw[key] as Raw));
  }
  const bottomFirst = [...layers].reverse();
  return {
    doc: layers.length === 1 ? layers[0]!.y : new LayeredDoc(layers),
    raw: layers.length === 1 ? layers[0]!.raw : merged,
    layers: bottomFirst.map((l) => ({ dir: l.dir, label: l.label })),
    texts: bottomFirst.map((l) => l.text),
  };
}

function realPath(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return path.resolve(dir);
  }
}

/** An overlay has its base's format: a `format` that differs from the one below is an error at it. */
function checkFormats(layers: ParsedLayer[], errors: ChiselError[]): void {
  const withFormat = layers.filter((l) => Object.hasOwn(l.raw, 'format'));
  for (let i = 0; i + 1 < withFormat.length; i++) {
    const [upper, lower] = [withFormat[i]!, withFormat[i + 1]!];
    if (upper.raw.format !== lower.raw.format)
      errors.push(
        upper.y.error(
          ['format'],
          `format ${String(upper.raw.format)} differs from format ${String(lower.raw.format)} of the release it extends (${lower.dir}); an overlay has its base's format: leave "format" out`,
          'format',
        ),
      );
  }
}

/** The merged chisel.yaml of a chain: each position comes from the topmost layer that has the entry. */
class LayeredDoc implements YamlDoc {
  constructor(private readonly layers: ParsedLayer[]) {}

  get file(): string {
    return this.layers[0]!.y.file;
  }

  private owner(p: Array<string | number>): YamlFile {
    const [key, name] = p;
    if (typeof key === 'string') {
      const has = (l: ParsedLayer) => {
        if (!Object.hasOwn(l.raw, key)) return false;
        if (name === undefined || !MERGED_MAPS.includes(key)) return true;
        const m = l.raw[key];
        return Boolean(m) && typeof m === 'object' && Object.hasOwn(m as object, String(name));
      };
      const found = (key === 'format' ? [...this.layers].reverse() : this.layers).find(has);
      if (found) return found.y;
    }
    return this.layers[0]!.y;
  }

  pos(p: Array<string | number>, key?: boolean): SourcePos {
    return this.owner(p).pos(p, key);
  }

  source(p: Array<string | number>): string | undefined {
    return this.owner(p).source(p);
  }

  error(p: Array<string | number>, message: string, code?: string, key?: boolean): ChiselError {
    return this.owner(p).error(p, message, code, key);
  }

  warning(p: Array<string | number>, message: string, code?: string, key?: boolean): ChiselError {
    return this.owner(p).warning(p, message, code, key);
  }
}
