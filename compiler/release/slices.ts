// One slice definition file (slices/**/<package>.yaml) -> PackageDef.

import path from 'node:path';
import type { ChiselError } from '../util/errors.js';
import { KNOWN_ARCHS as ARCHS } from '../util/arch.js';
import { isGlob } from './glob.js';
import type { EssentialRef, Format, KeystoreDef, PackageDef, PathInfo, PathKind, SliceDef, SmokeTest } from './model.js';
import { parseSliceKey, sliceKey } from './model.js';
import { SLICE_NAME } from './chisel.js';
import { schemaErrors } from '../yaml/schema.js';
import { NeedsFullParse, fastYaml } from '../yaml/fast.js';
import { readYamlDoc, type YamlDoc } from '../yaml/file.js';

export const PACKAGE_NAME = /^[a-z0-9](?:-?[.a-z0-9+]){1,}$/;

type RawPath = null | {
  copy?: string;
  make?: boolean;
  text?: string | number | boolean | null;
  symlink?: string;
  generate?: string;
  mode?: number;
  mutable?: boolean;
  until?: string;
  arch?: string | string[];
  prefer?: string;
  uid?: number;
  gid?: number;
};
type RawEssential = null | string[] | Record<string, null | { arch?: string | string[] }>;
interface RawSlice {
  hint?: string;
  essential?: RawEssential;
  'v3-essential'?: null | Record<string, null | { arch?: string | string[] }>;
  contents?: Record<string, RawPath> | null;
  mutate?: string;
  keystores?: Record<string, { certificates?: string[]; password?: string } | null> | null;
  checks?: Array<{ run: string[]; expect?: string }>;
}
interface RawSDF {
  package: string;
  archive?: string;
  essential?: RawEssential;
  'v3-essential'?: null | Record<string, null | { arch?: string | string[] }>;
  slices?: Record<string, RawSlice | null>;
}

/**
 * Parses one slice definition file. A file goes through the fast path
 * (yaml/fast.ts) first; any problem sends it to the full parser, which reports
 * every error with its position. Problems Chisel accepts are added to
 * `warnings` (and do not stop the file).
 */
export const parseSliceFile: SliceParser = (file, text, format, errors, warnings = []) =>
  parseSliceFast(file, text, format) ?? parseSliceFull(file, text, format, errors, warnings);

/** A parser of one slice definition file: errors go to `errors`, problems Chisel accepts to `warnings`. */
type SliceParser = (file: string, text: string, format: Format, errors: ChiselError[], warnings?: ChiselError[]) => PackageDef | undefined;

/** The package of a file that is valid and plain enough for the fast path; undefined otherwise (never an error). */
export function parseSliceFast(file: string, text: string, format: Format): PackageDef | undefined {
  const fast = fastYaml(file, text);
  if (!fast) return undefined;
  try {
    return readSliceFile(fast, fast.value as RawSDF, format, [], []);
  } catch (e) {
    if (e instanceof NeedsFullParse) return undefined;
    throw e;
  }
}

/** The full parser: every problem of the file, with its position, is added to `errors` (or `warnings`). */
export const parseSliceFull: SliceParser = (file, text, format, errors, warnings = []) => {
  const doc = readYamlDoc(file, text, errors, warnings);
  return doc && readSliceFile(doc.y, doc.raw as RawSDF, format, errors, warnings);
};

/** The package a loaded slice definition file defines; errors are added to `errors`, warnings to `warnings`. */
function readSliceFile(y: YamlDoc, raw: RawSDF, format: Format, errors: ChiselError[], warnings: ChiselError[]): PackageDef | undefined {
  const file = y.file;
  const schema = schemaErrors(y, raw, 'slices.schema.json');
  if (schema.length) {
    errors.push(...schema);
    return undefined;
  }
  const base = path.basename(file, '.yaml');
  if (!PACKAGE_NAME.test(base))
    errors.push(
      y.error(
        [],
        `invalid slice definition filename: "${path.basename(file)}" (must be <package>.yaml with a valid Debian package name)`,
        'name',
      ),
    );
  if (raw.package !== base)
    errors.push(y.error(['package'], `package "${raw.package}" in ${path.basename(file)} must match the filename "${base}"`, 'name'));
  const pkgName = raw.package;
  const pkg: PackageDef = {
    name: pkgName,
    essential: [],
    slices: new Map(),
    file,
    ...(raw.archive !== undefined ? { archive: raw.archive } : {}),
  };

  const readEssentials = (
    at: Array<string | number>,
    list: RawEssential | undefined,
    v3: RawSlice['v3-essential'],
    owner: string,
  ): EssentialRef[] => {
    const refs: EssentialRef[] = [];
    const seen = new Set<string>();
    for (const [name, v] of [
      ['essential', list],
      ['v3-essential', v3],
    ] as const)
      if (v === null)
        warnings.push(y.warning([...at, name], `${owner}: ${name} is empty (null); list slices or remove the key`, 'essential', true));
    const add = (ref: string, arch: string | string[] | undefined, where: Array<string | number>) => {
      if (!parseSliceKey(ref)) {
        errors.push(y.error(where, `${owner}: invalid essential slice name "${ref}" (expected package_slice)`, 'essential'));
        return;
      }
      if (seen.has(ref)) {
        errors.push(y.error(where, `${owner}: essential slice ${ref} is listed twice`, 'essential'));
        return;
      }
      seen.add(ref);
      const archs = arch === undefined ? undefined : Array.isArray(arch) ? arch : [arch];
      // Chisel does not check these names: an unknown one only means the entry never applies.
      for (const a of archs ?? [])
        if (!ARCHS.has(a))
          warnings.push(
            y.warning(
              [...where, 'arch'],
              `${owner}: essential ${ref}: unknown arch "${a}", so this entry never applies; check the name`,
              'arch',
            ),
          );
      refs.push({ slice: ref, ...(archs ? { arch: archs } : {}) });
    };
    if (Array.isArray(list)) {
      if (format === 'v3')
        errors.push(
          y.error(
            [...at, 'essential'],
            `${owner}: essential expects a map in format v3 (write "essential: {${list[0] ?? 'pkg_slice'}: }")`,
            'format',
          ),
        );
      for (const [i, r] of list.entries()) add(r, undefined, [...at, 'essential', i]);
    } else if (list) {
      if (format !== 'v3')
        errors.push(
          y.error(
            [...at, 'essential'],
            `${owner}: essential expects a list in format ${format} (use "v3-essential" for the map form)`,
            'format',
          ),
        );
      for (const [r, v] of Object.entries(list)) add(r, v?.arch, [...at, 'essential', r]);
    }
    if (v3) {
      if (format === 'v3')
        errors.push(
          y.error([...at, 'v3-essential'], `${owner}: v3-essential is not allowed in format v3; use "essential"`, 'format', true),
        );
      for (const [r, v] of Object.entries(v3)) add(r, v?.arch, [...at, 'v3-essential', r]);
    }
    return refs;
  };

  pkg.essential = readEssentials([], raw.essential, raw['v3-essential'], `package ${pkgName}`);

  for (const [name, rs] of Object.entries(raw.slices ?? {})) {
    const key = sliceKey(pkgName, name);
    const at = ['slices', name];
    if (!SLICE_NAME.test(name))
      errors.push(
        y.error(
          at,
          `invalid slice name "${name}" in ${pkgName} (lower case letters, digits and single dashes, starting with a letter, at least 3 characters)`,
          'name',
          true,
        ),
      );
    const s = rs ?? {};
    const slice: SliceDef = { package: pkgName, name, essential: [], contents: new Map(), pos: y.pos(at, true) };
    if (s.hint !== undefined) {
      if (Buffer.byteLength(s.hint) > 40) errors.push(y.error([...at, 'hint'], `slice ${key}: hint is longer than 40 bytes`, 'hint'));
      if (/[\t\n\r]/.test(s.hint) || /[^\P{C}]/u.test(s.hint))
        errors.push(y.error([...at, 'hint'], `slice ${key}: hint must be printable, with no tabs or newlines`, 'hint'));
      slice.hint = s.hint;
    }
    if (s.mutate !== undefined) slice.mutate = s.mutate;
    if (s.checks !== undefined) slice.checks = readChecks(y, [...at, 'checks'], key, s.checks, errors);
    slice.essential = readEssentials(at, s.essential, s['v3-essential'], `slice ${key}`);
    for (const e of slice.essential) {
      if (e.slice === key) errors.push(y.error([...at, 'essential'], `slice ${key} cannot list itself as essential`, 'essential'));
      if (pkg.essential.some((p) => p.slice === e.slice))
        errors.push(y.error([...at, 'essential'], `slice ${key}: essential ${e.slice} is already listed by the package`, 'essential'));
    }
    for (const [p, info] of Object.entries(s.contents ?? {})) {
      const pi = parsePath(y, [...at, 'contents', p], key, pkgName, p, info, errors, warnings);
      if (pi) slice.contents.set(p, pi);
    }
    if (s.keystores) slice.keystores = readKeystores(y, at, slice, s.keystores, errors);
    pkg.slices.set(name, slice);
  }
  return pkg;
}

/** The `keystores:` of a slice: each path must be a plain mutable path of the same slice, fed from absolute bundles. */
function readKeystores(
  y: YamlDoc,
  at: Array<string | number>,
  slice: SliceDef,
  raw: NonNullable<RawSlice['keystores']>,
  errors: ChiselError[],
): KeystoreDef[] {
  const key = sliceKey(slice.package, slice.name);
  const out: KeystoreDef[] = [];
  for (const [p, r] of Object.entries(raw)) {
    const where = [...at, 'keystores', p];
    const err = (msg: string, sub?: string) =>
      errors.push(y.error(sub ? [...where, sub] : where, `slice ${key}: keystore ${p}: ${msg}`, 'keystore', !sub));
    const info = slice.contents.get(p);
    if (!info) err('is not a path of this slice; list it under contents with {text: "", mutable: true}');
    else if (info.kind === 'glob' || info.kind === 'dir' || p.endsWith('/')) err('must be a single file path, not a glob or a directory');
    else if (!info.mutable) err('must be mutable (mark it {mutable: true} in contents)');
    const certificates = r?.certificates ?? [];
    if (certificates.length === 0)
      err('lists no certificates; give the PEM bundles it is built from', r?.certificates ? 'certificates' : undefined);
    for (const c of certificates)
      if (!c.startsWith('/') || isGlob(c))
        err(`certificates: ${JSON.stringify(c)} must be an absolute path with no wildcards`, 'certificates');
    out.push({ path: p, certificates, password: r?.password ?? 'changeit', pos: y.pos(where, true) });
  }
  return out;
}

/** `checks:` (chisel-ts extension): each a program given by its absolute path inside the root, with arguments. */
function readChecks(
  y: YamlDoc,
  at: Array<string | number>,
  key: string,
  raw: NonNullable<RawSlice['checks']>,
  errors: ChiselError[],
): SmokeTest[] {
  return raw.map((c, i) => {
    const prog = c.run[0]!;
    if (!prog.startsWith('/') || cleanPathError(prog))
      errors.push(
        y.error(
          [...at, i, 'run', 0],
          `slice ${key}: check ${i + 1} runs "${prog}": give the program's absolute, clean path inside the root (as /usr/bin/x)`,
          'checks',
        ),
      );
    return { run: [...c.run], ...(c.expect !== undefined ? { expect: c.expect } : {}), pos: y.pos([...at, i]) };
  });
}

function readArch(r: NonNullable<RawPath>, info: PathInfo, err: (msg: string, sub?: string) => void): void {
  if (r.arch === undefined) return;
  const archs = Array.isArray(r.arch) ? r.arch : [r.arch];
  for (const a of archs) if (!ARCHS.has(a)) err(`has an invalid arch "${a}"`, 'arch');
  info.arch = archs;
}

function parseMode(y: YamlDoc, at: Array<string | number>, value: number): number {
  const src = y.source(at) ?? String(value);
  if (/^0[0-7]+$/.test(src)) return parseInt(src, 8);
  if (/^0o[0-7]+$/i.test(src)) return parseInt(src.slice(2), 8);
  return value;
}

export function cleanPathError(p: string): string | undefined {
  if (!p.startsWith('/')) return 'must be absolute';
  if (p === '/') return 'must not be the root itself';
  if (p.includes('\0')) return 'contains a NUL character';
  const body = p.endsWith('/') ? p.slice(0, -1) : p;
  if (body.includes('//') || body.endsWith('/')) return 'is not clean (double slash)';
  if (body.includes('/.') && /\/\.{1,2}(?:\/|$)/.test(body)) return 'is not clean ("." or ".." component)';
  return undefined;
}

function parsePath(
  y: YamlDoc,
  at: Array<string | number>,
  key: string,
  pkgName: string,
  p: string,
  raw: RawPath,
  errors: ChiselError[],
  warnings: ChiselError[],
): PathInfo | undefined {
  const err = (msg: string, sub?: string) => errors.push(y.error(sub ? [...at, sub] : at, `slice ${key}: path ${p} ${msg}`, 'path', !sub));
  const warn = (msg: string, sub: string) => warnings.push(y.warning([...at, sub], `slice ${key}: path ${p} ${msg}`, 'path'));
  const bad = cleanPathError(p);
  if (bad) {
    err(bad);
    return undefined;
  }
  const r = raw ?? {};
  // Chisel reads "text: ~" as no text (the path is copied) and a number or boolean as its source text.
  let text: string | undefined;
  if (r.text === null)
    warn('has "text: ~" (null), which is no text: the path is copied from its package; write text: "" for an empty file', 'text');
  else if (typeof r.text === 'string') text = r.text;
  else if (r.text !== undefined) {
    text = y.source([...at, 'text']) ?? String(r.text);
    warn(`has a text that is not a string: read as ${JSON.stringify(text)}; quote it`, 'text');
  }
  const kinds: PathKind[] = [];
  if (r.copy !== undefined) kinds.push('copy');
  if (r.make) kinds.push('dir');
  if (text !== undefined) kinds.push('text');
  if (r.symlink !== undefined) kinds.push('symlink');
  if (r.generate !== undefined) kinds.push('generate');
  const glob = isGlob(p);
  if (glob && r.generate === undefined) {
    if (kinds.length) {
      err(`is a glob and cannot also be ${kinds.join(', ')}`);
      return undefined;
    }
    kinds.push('glob');
  }
  if (kinds.length > 1) {
    err(`has more than one kind (${kinds.join(', ')}); choose one of copy, make, text, symlink, generate`);
    return undefined;
  }
  const kind: PathKind = kinds[0] ?? 'copy';
  const info: PathInfo = { kind, mutable: Boolean(r.mutable), pos: y.pos(at, true) };
  if (kind === 'copy' && r.copy !== undefined) {
    // Chisel accepts any source; the package is searched for the path as written, so a cut finds no content there.
    const b = cleanPathError(r.copy);
    if (b || isGlob(r.copy))
      warn(`copies from "${r.copy}", which ${b ?? 'is a glob'}: no package holds such a path, so a cut that selects it fails`, 'copy');
    info.info = r.copy;
  }
  if (kind === 'text') info.info = text!;
  if (kind === 'symlink') info.info = r.symlink!;
  if (kind === 'generate') info.info = r.generate!;
  if (kind === 'dir' && !p.endsWith('/')) err(`must end in "/" for "make" to be valid`);
  if (kind === 'generate') {
    if (!p.endsWith('/**') || isGlob(p.slice(0, -3))) err(`has invalid generate path: must be "/dir/**" with no other wildcard`);
    // Chisel checks the generator's name only when a cut selects the slice.
    if (info.info !== 'manifest')
      warn(`has "generate: ${info.info}", but only "manifest" can be generated: a cut that selects this slice fails`, 'generate');
    const extra = (['mode', 'mutable', 'until', 'prefer', 'uid', 'gid'] as const).filter((k) => r[k] !== undefined);
    if (extra.length) err(`has invalid options for generate: ${extra.join(', ')}`);
    readArch(r, info, err);
    return info;
  }
  if (kind === 'glob') {
    const extra = (['mode', 'mutable', 'prefer', 'uid', 'gid'] as const).filter((k) => r[k] !== undefined);
    if (extra.length) err(`is a glob and accepts only "until" and "arch" (not ${extra.join(', ')})`);
  }
  if (r.mode !== undefined) {
    const mode = parseMode(y, [...at, 'mode'], r.mode);
    if (kind === 'symlink') warn(`has a mode, which a symlink does not have: ignored`, 'mode');
    else if (mode > 0o7777) {
      warn(`has mode 0${mode.toString(8)}, with bits above 07777: only 0${(mode & 0o7777).toString(8)} is used`, 'mode');
      info.mode = mode & 0o7777;
    } else info.mode = mode;
  }
  if (r.mutable && !(kind === 'text' || (kind === 'copy' && !p.endsWith('/'))))
    err(`cannot be mutable: only text paths and copied regular files can`, 'mutable');
  if (r.until === '') warn('has an empty "until", which Chisel reads as no "until"; remove it or write "until: mutate"', 'until');
  else if (r.until !== undefined) info.until = 'mutate';
  readArch(r, info, err);
  if (r.prefer !== undefined) {
    if (r.prefer === pkgName) err(`cannot "prefer" its own package ${pkgName}`, 'prefer');
    else if (!PACKAGE_NAME.test(r.prefer)) err(`prefers an invalid package name "${r.prefer}"`, 'prefer');
    info.prefer = r.prefer;
  }
  for (const k of ['uid', 'gid'] as const) {
    if (r[k] === undefined) continue;
    if (kind !== 'dir' && kind !== 'text' && kind !== 'symlink') err(`"${k}" is only allowed on make, text and symlink paths`, k);
    info[k] = r[k];
  }
  return info;
}
