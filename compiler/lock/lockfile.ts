// The lockfile: a plain data structure, written and read by this module only.
// Stable order (packages by name then arch, keys in a fixed order) and one
// package per entry, so a version bump is a diff of a few lines. An
// `integrity` digest over the rest refuses hand edits.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { schemaValidator } from '../yaml/schema.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import { invalidRangeMessage, unmetRangeError, VERSION_KEY } from '../util/minversion.js';
import { writeFileAtomic } from '../util/tempfiles.js';

export const LOCKFILE_VERSION = 1;

export interface LockInputs {
  /** sha256 over everything below. */
  digest: string;
  release: { name: string; digest: string; files: number };
  slices: string[];
  archs: string[];
  image: {
    tag: string;
    compression: string;
    nonroot: boolean;
    packageMetadata: boolean;
    /** Present (true) only for a build that kept the setuid / setgid bits: older locks keep their digests. */
    keepSetId?: true;
    config: Record<string, unknown>;
    files: string;
    sbomInImage: string;
    /** The layering, when not the single layer (absent: one layer, so older locks keep their digest). */
    layers?: string;
  };
  sourceDateEpoch: number;
}

export interface LockArchive {
  name: string;
  suite: string;
  date: string;
  /** sha256 of the InRelease file. */
  inRelease: string;
}

export interface LockPackage {
  name: string;
  version: string;
  arch: string;
  archive: string;
  filename: string;
  size: number;
  sha256: string;
  /** Slice names used from this package. */
  slices: string[];
  /** What the package put in the root: counts and a digest of the sorted entry list. */
  contents: { files: number; bytes: number; digest: string };
}

export interface LockArchOutput {
  rootfs: string;
  manifest: string;
  layers?: Array<{ diffId: string; digest: string }>;
}

export interface LockOutputs {
  /**
   * Per arch: sha256 of the uncompressed rootfs tar (a layered image: the
   * OCI ChainID of its layers), the OCI manifest digest, and for a layered
   * image each layer's diff_id and digest, bottom first.
   */
  archs: Record<string, LockArchOutput>;
  /** The digest an OCI layout's index.json names (the manifest, or the index for several archs). */
  image: string;
}

export interface Lockfile {
  /**
   * The chisel-ts versions this lockfile needs (a semver range), added by
   * hand: the writer never writes it, and the integrity digest leaves it out.
   */
  'chisel-ts'?: string;
  lockfileVersion: number;
  integrity: string;
  inputs: LockInputs;
  archives: LockArchive[];
  packages: LockPackage[];
  outputs: LockOutputs;
}

export function sha256Of(text: string | Buffer): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The same structure with keys in a fixed order and lists sorted. */
export function normalize(lock: Omit<Lockfile, 'integrity'>): Omit<Lockfile, 'integrity'> {
  const i = lock.inputs;
  return {
    lockfileVersion: lock.lockfileVersion,
    inputs: {
      digest: i.digest,
      release: { name: i.release.name, digest: i.release.digest, files: i.release.files },
      slices: [...i.slices],
      archs: [...i.archs],
      image: i.image,
      sourceDateEpoch: i.sourceDateEpoch,
    },
    archives: [...lock.archives]
      .sort((a, b) => cmp(`${a.name}\0${a.suite}`, `${b.name}\0${b.suite}`))
      .map((a) => ({ name: a.name, suite: a.suite, date: a.date, inRelease: a.inRelease })),
    packages: [...lock.packages]
      .sort((a, b) => cmp(`${a.name}\0${a.arch}`, `${b.name}\0${b.arch}`))
      .map((p) => ({
        name: p.name,
        version: p.version,
        arch: p.arch,
        archive: p.archive,
        filename: p.filename,
        size: p.size,
        sha256: p.sha256,
        slices: [...p.slices].sort(),
        contents: { files: p.contents.files, bytes: p.contents.bytes, digest: p.contents.digest },
      })),
    outputs: {
      archs: Object.fromEntries(
        Object.keys(lock.outputs.archs)
          .sort()
          .map((a) => {
            const o = lock.outputs.archs[a]!;
            const layers = o.layers?.map((l) => ({ diffId: l.diffId, digest: l.digest }));
            return [a, { rootfs: o.rootfs, manifest: o.manifest, ...(layers ? { layers } : {}) }];
          }),
      ),
      image: lock.outputs.image,
    },
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The lockfile's text: 2-space JSON, packages one per entry, integrity first. */
export function serialize(lock: Omit<Lockfile, 'integrity'>): string {
  const body = normalize(lock);
  const integrity = sha256Of(JSON.stringify(body));
  const { lockfileVersion, ...rest } = body;
  return `${JSON.stringify({ lockfileVersion, integrity, ...rest }, null, 2)}\n`;
}

export async function writeLockfile(file: string, lock: Omit<Lockfile, 'integrity'>): Promise<string> {
  const text = serialize(lock);
  await writeFileAtomic(file, text);
  return text;
}

export async function readLockfile(file: string): Promise<Lockfile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new ChiselError(`cannot read lockfile ${file}`, {
      code: 'lock',
      hint: 'create it with `chisel-ts lock` (same arguments as the cut)',
    });
  }
  return parseLockfile(file, text);
}

export function parseLockfile(file: string, text: string): Lockfile {
  let doc: Lockfile;
  try {
    doc = JSON.parse(text) as Lockfile;
  } catch (e) {
    throw new ChiselError(`${file}: not JSON: ${(e as Error).message}`, { code: 'lock' });
  }
  checkVersionRange(file, text, doc);
  const validate = schemaValidator('lock.schema.json');
  if (!validate(doc)) {
    const e = validate.errors![0]!;
    throw new ChiselError(`${file}: ${e.instancePath || '/'} ${e.message ?? e.keyword} (schema lock.schema.json)`, {
      code: 'lock',
      hint: 'regenerate it with `chisel-ts lock`',
    });
  }
  const { integrity, ...rest } = doc;
  if (sha256Of(JSON.stringify(normalize(rest))) !== integrity) {
    throw new ChiselError(`${file}: the lockfile was edited by hand: its content does not match its integrity digest`, {
      code: 'lock-integrity',
      exitCode: ExitCode.FAILURE,
      hint: 'never edit a lockfile; run `chisel-ts lock` to update it',
    });
  }
  return doc;
}

/** A lockfile for a newer chisel-ts may hold what this one does not know: its version range is checked before its schema. */
function checkVersionRange(file: string, text: string, doc: unknown): void {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return;
  const range = (doc as Record<string, unknown>)[VERSION_KEY];
  if (typeof range !== 'string') return;
  const location = { file, line: topLevelKeyLine(text, VERSION_KEY) };
  const unmet = unmetRangeError(range, location);
  if (unmet) throw unmet;
  const invalid = invalidRangeMessage(range);
  if (invalid) throw new ChiselError(`${invalid} (schema lock.schema.json)`, { code: 'lock', location });
}

/** The 1-based line of a key of the top-level object of a JSON text. */
function topLevelKeyLine(text: string, key: string): number | undefined {
  const colon = /\s*:/y;
  let depth = 0;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      colon.lastIndex = i + 1;
      if (depth === 1 && colon.test(text) && JSON.parse(text.slice(start, i + 1)) === key) return line;
    }
  }
  return undefined;
}
