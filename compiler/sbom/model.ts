// What an SBOM is made from (the packages a cut used, with their slices and
// files), and its canonical form: packages merged and sorted, and a digest of
// the content that names the document deterministically.

import { createHash } from 'node:crypto';

export interface SbomPackage {
  name: string;
  version: string;
  arch: string; // Debian arch or "all"
  archive: string; // archive name in the release, e.g. "debian"
  sha256: string; // sha256 hex of the .deb
  source?: string;
  sourceVersion?: string; // from the control "Source:" field ("src (ver)")
  maintainer?: string;
  homepage?: string;
  description?: string; // first line
  license?: string; // SPDX license expression, if known
  copyright?: string; // copyright holders text, if known
  slices: string[]; // "pkg_slice" used from this package
  files: Array<{ path: string; sha256?: string; size: number }>; // regular files shipped from it
}

export interface SbomInput {
  name: string; // image/rootfs name, e.g. "example/python:3.13" or "rootfs"
  digest?: string; // "sha256:..." of the image manifest (or index) or the rootfs tar
  distro: { id: string; versionId: string; codename?: string }; // e.g. {id:'debian', versionId:'13', codename:'trixie'}
  archs: string[];
  epoch: number; // SOURCE_DATE_EPOCH seconds; all timestamps from it
  toolVersion: string; // chisel-ts version
  packages: SbomPackage[];
  /** A layered image: every arch's layers, bottom first (absent for one layer). */
  layers?: SbomLayer[];
}

export interface SbomLayer {
  arch: string;
  /** sha256:... of the compressed blob and of the uncompressed tar. */
  digest: string;
  diffId: string;
}

/** One line per layer: "layer <arch> <n>/<count> <digest> diff_id <diffId>". */
export function layerLines(layers: SbomLayer[]): string[] {
  return layers.map((l) => {
    const mine = layers.filter((x) => x.arch === l.arch);
    return `layer ${l.arch} ${mine.indexOf(l) + 1}/${mine.length} ${l.digest} diff_id ${l.diffId}`;
  });
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The packages sorted by name then arch, slices and files sorted. The same
 * package listed more than once (an "all" package in several platforms of an
 * image index) is merged; two different debs for one name/arch is an error.
 */
export function sortedPackages(pkgs: readonly SbomPackage[]): SbomPackage[] {
  const byKey = new Map<string, SbomPackage>();
  for (const p of pkgs) {
    const key = `${p.name}\0${p.arch}`;
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, { ...p, slices: [...p.slices], files: [...p.files] });
    } else if (seen.version !== p.version || seen.sha256 !== p.sha256) {
      throw new Error(`sbom: package ${p.name}:${p.arch} listed as both ${seen.version} and ${p.version}`);
    } else {
      seen.slices.push(...p.slices);
      seen.files.push(...p.files);
    }
  }
  return [...byKey.values()]
    .map((p) => ({
      ...p,
      slices: [...new Set(p.slices)].sort(cmp),
      files: [...new Map(p.files.map((f) => [f.path, f])).values()].sort((a, b) => cmp(a.path, b.path)),
    }))
    .sort((a, b) => cmp(a.name, b.name) || cmp(a.arch, b.arch));
}

/** JSON with object keys sorted at every level; undefined members dropped. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{${entries
      .sort(([a], [b]) => cmp(a, b))
      .map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * sha256 hex of the canonical serialisation of the input's content. The epoch
 * is left out: re-stamping the same content changes timestamps only, not the
 * document's identity.
 */
export function contentDigest(input: SbomInput): string {
  const { epoch: _epoch, ...content } = input;
  const canonical = { ...content, archs: [...new Set(input.archs)].sort(cmp), packages: sortedPackages(input.packages) };
  return createHash('sha256').update(canonicalJson(canonical)).digest('hex');
}

/** ISO 8601 UTC timestamp of SOURCE_DATE_EPOCH seconds, without milliseconds. */
export function isoTimestamp(epoch: number): string {
  return new Date(Math.trunc(epoch) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "Name <email>" → its parts (email absent when there is none). */
export function parseMaintainer(m: string): { name: string; email?: string } {
  const match = /^(.*?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(m.trim());
  return match ? { name: match[1] || match[2]!, email: match[2]! } : { name: m.trim() };
}
