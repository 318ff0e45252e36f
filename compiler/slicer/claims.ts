// Which package supplies each selected path: the paths of the selected slices,
// filtered by architecture, with `prefer` deciding between packages that list
// the same path. Pure functions of the release and the selection.

import type { PathInfo, Release, SliceDef } from '../release/model.js';
import { sliceKey } from '../release/model.js';
import { globMatch } from '../release/glob.js';
import { ChiselError } from '../util/errors.js';
import type { Selection } from './selection.js';

export interface Claim {
  /** The path as written in the slice ("/etc/", "/usr/lib/*.so*"). */
  path: string;
  info: PathInfo;
  slice: SliceDef;
  /** "pkg_slice" */
  sliceKey: string;
}

/** Claims of the selection, per package, after arch filtering and `prefer`. */
export function collectClaims(sel: Selection): Map<string, Claim[]> {
  const byPath = new Map<string, Claim[]>();
  for (const slice of sel.slices) {
    for (const [path, info] of slice.contents) {
      if (info.arch && !info.arch.includes(sel.arch)) continue;
      // validation only warns (Chisel loads such a release); cutting the slice fails, as in Chisel
      if (info.kind === 'generate' && info.info !== 'manifest') {
        throw new ChiselError(
          `slice ${sliceKey(slice.package, slice.name)}: path ${path} cannot be cut: unknown generate type "${info.info}"`,
          {
            code: 'generate',
            hint: 'only "generate: manifest" can be generated; fix the slice definition',
          },
        );
      }
      const claim: Claim = { path, info, slice, sliceKey: sliceKey(slice.package, slice.name) };
      const list = byPath.get(path);
      if (list) list.push(claim);
      else byPath.set(path, [claim]);
    }
  }
  const byPackage = new Map<string, Claim[]>();
  for (const [path, claims] of byPath) {
    const pkgs = new Set(claims.map((c) => c.slice.package));
    let kept = claims;
    if (pkgs.size > 1 && claims.some((c) => c.info.prefer !== undefined || hasPreferFor(sel.release, path))) {
      const winner = preferWinner(sel.release, path, pkgs);
      kept = claims.filter((c) => c.slice.package === winner);
    }
    for (const c of kept) {
      const list = byPackage.get(c.slice.package);
      if (list) list.push(c);
      else byPackage.set(c.slice.package, [c]);
    }
  }
  return byPackage;
}

function hasPreferFor(release: Release, path: string): boolean {
  for (const pkg of release.packages.values()) {
    for (const s of pkg.slices.values()) if (s.contents.get(path)?.prefer) return true;
  }
  return false;
}

/** The `prefer` edges of a path across the release: package -> the package it prefers. */
function preferEdges(release: Release, path: string): Map<string, string> {
  const edges = new Map<string, string>();
  for (const pkg of release.packages.values()) {
    for (const s of pkg.slices.values()) {
      const p = s.contents.get(path)?.prefer;
      if (p) edges.set(pkg.name, p);
    }
  }
  return edges;
}

/** Follow the prefer chain (A prefers B prefers C): the last selected package on it wins. */
export function preferWinner(release: Release, path: string, selected: Set<string>): string {
  const edges = preferEdges(release, path);
  const targets = new Set(edges.values());
  // The chain's head: a selected holder nobody prefers, or any holder of the chain.
  const heads = [...new Set([...edges.keys(), ...selected])].filter((p) => !targets.has(p)).sort();
  let winner: string | undefined;
  for (const head of heads) {
    const seen = new Set<string>();
    let cur: string | undefined = head;
    let last: string | undefined;
    while (cur && !seen.has(cur)) {
      seen.add(cur);
      if (selected.has(cur)) last = cur;
      cur = edges.get(cur);
    }
    if (last && [...selected].every((p) => seen.has(p))) {
      winner = last;
      break;
    }
  }
  if (!winner) {
    throw new ChiselError(`slices of packages ${[...selected].sort().join(', ')} conflict on ${path} and no "prefer" chain connects them`, {
      code: 'path-conflict',
      location: { subject: path },
      hint: `add {prefer: <package>} to ${path} in the slices that should yield`,
    });
  }
  return winner;
}

/**
 * The package paths whose content a package's claims can take (copies and
 * globs; buildTree decides), plus its copyright file (for the SBOM). A cold
 * cut stores only these; another cut that needs more unpacks the package again.
 */
export function wantedContent(claims: Claim[], pkg: string): (path: string) => boolean {
  const exact = new Set<string>([`/usr/share/doc/${pkg}/copyright`]);
  const globs: string[] = [];
  for (const c of claims) {
    if (c.info.kind === 'copy') exact.add(trimSlash(c.info.info ?? c.path));
    else if (c.info.kind === 'glob') globs.push(c.path);
  }
  return (path) => exact.has(path) || globs.some((g) => globMatch(g, path));
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}
