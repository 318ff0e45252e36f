// The in-memory model of a release: what the loader produces and every later
// stage (selection, cut, lock) consumes. Plain data; no I/O here.

import type { ChiselError } from '../util/errors.js';
import type { SourcePos } from '../yaml/file.js';

export type Format = 'v1' | 'v2' | 'v3';

export interface Maintenance {
  standard: string; // YYYY-MM-DD
  expanded?: string;
  legacy?: string;
  endOfLife: string;
}

export interface ArchiveDef {
  name: string;
  version: string;
  suites: string[];
  components: string[];
  /** Resolved priority (v1 `default` already turned into a number). */
  priority: number;
  /** `fips` | `fips-updates` | `esm-apps` | `esm-infra` when set. */
  pro?: string;
  publicKeys: string[];
  /** chisel-ts extension: the APT archive's base URL. */
  url?: string;
  pos?: SourcePos;
}

export interface PublicKeyDef {
  name: string;
  /** 16 upper-case hex digits: the primary key's key id. */
  id: string;
  armor: string;
  pos?: SourcePos;
}

export type PathKind = 'copy' | 'glob' | 'text' | 'dir' | 'symlink' | 'generate';

export interface PathInfo {
  kind: PathKind;
  /** copy: source path in the package (defaults to the path itself);
   *  text: the content; symlink: the target; generate: "manifest". */
  info?: string;
  /** Explicit mode, when given. */
  mode?: number;
  mutable: boolean;
  until?: 'mutate';
  arch?: string[];
  /** Name of the package whose entry wins over this one. */
  prefer?: string;
  /** chisel-ts extension: owner of a made/text/symlink path in the outputs. */
  uid?: number;
  gid?: number;
  pos?: SourcePos;
}

export interface EssentialRef {
  /** "pkg_slice" */
  slice: string;
  /** Only on these archs, when set. */
  arch?: string[];
}

/** chisel-ts extension: a smoke test of a slice (`checks:`), run by `chisel-ts check` in the cut root. */
export interface SmokeTest {
  /** The program (absolute path inside the root) and its arguments. */
  run: string[];
  /** A substring its output (stdout and stderr) must hold; it must also exit 0. */
  expect?: string;
  pos?: SourcePos;
}

export interface SliceDef {
  package: string;
  name: string;
  hint?: string;
  essential: EssentialRef[];
  /** Ordered as in the file. Keys are the YAML paths (dirs end in '/'). */
  contents: Map<string, PathInfo>;
  mutate?: string;
  /** chisel-ts extension: Java trust stores built after the mutate scripts. */
  keystores?: KeystoreDef[];
  /** chisel-ts extension: smoke tests (Chisel ignores the key). */
  checks?: SmokeTest[];
  pos?: SourcePos;
}

/** chisel-ts extension: a JKS trust store written at `path` (a mutable path of the slice) from PEM bundles. */
export interface KeystoreDef {
  path: string;
  /** Absolute paths of PEM bundles in the cut tree. */
  certificates: string[];
  /** The store's integrity password (Java's default: changeit). */
  password: string;
  pos?: SourcePos;
}

export interface PackageDef {
  name: string;
  /** Pinned archive name. */
  archive?: string;
  /** Package-level essentials (added to each slice except itself). */
  essential: EssentialRef[];
  slices: Map<string, SliceDef>;
  /** Absolute path of the slice definition file. */
  file: string;
}

/** One directory of a release that extends another (`extends:` in chisel.yaml). */
export interface ReleaseLayer {
  /** Absolute path of the layer's directory (it holds chisel.yaml and, maybe, slices/). */
  dir: string;
  /**
   * How the lock and the provenance name the layer's files: "" for the
   * release's own directory, the release's name for a shipped one
   * (`extends: debian-13`), else the path from the release's directory.
   */
  label: string;
}

export interface Release {
  /** Absolute path of the release directory (an overlay's own directory, not its base's). */
  dir: string;
  /** An overlay's layers, the bottom base first and `dir` last; absent for a release that extends none. */
  layers?: ReleaseLayer[];
  format: Format;
  maintenance?: Maintenance;
  archives: Map<string, ArchiveDef>;
  publicKeys: Map<string, PublicKeyDef>;
  packages: Map<string, PackageDef>;
  /** chisel-ts extension: named groups of slices (`sets:` in chisel.yaml), members are "pkg_slice" or other set names. */
  sets?: Map<string, string[]>;
  /** Where each set's members are written (for errors), by set name. */
  setPos?: Map<string, SourcePos[]>;
  /** Problems Chisel accepts (printed by `validate`, never failing), sorted by position. */
  warnings?: ChiselError[];
  /** sha256 of the files the release was loaded from (every layer's chisel.yaml, each slice file): the cut cache's key. */
  digest?: string;
}

export function sliceKey(pkg: string, slice: string): string {
  return `${pkg}_${slice}`;
}

export function parseSliceKey(key: string): { package: string; slice: string } | undefined {
  const m = /^([a-z0-9](?:-?[.a-z0-9+]){1,})_([a-z](?:-?[a-z0-9]){2,})$/.exec(key);
  if (!m) return undefined;
  return { package: m[1]!, slice: m[2]! };
}
