// `find`: Chisel's fuzzy slice search (edit distance <= 1, globs allowed,
// "_x" matches slice names), plus paths: which slices ship a given path.

import { globMatch, isGlob } from './glob.js';
import type { Release, SliceDef } from './model.js';
import { sliceKey } from './model.js';

export interface FindResult {
  slice: string;
  summary: string;
  /** For path queries: the slice path that ships it. */
  via?: string;
}

function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

function matchName(term: string, name: string): boolean {
  if (isGlob(term)) return globMatch(term, name);
  return name.includes(term) || distance(term, name, 1) <= 1;
}

function matchTerm(term: string, pkg: string, slice: string): boolean {
  const i = term.indexOf('_');
  if (i < 0) return matchName(term, pkg);
  const p = term.slice(0, i);
  const s = term.slice(i + 1);
  return (p === '' || matchName(p, pkg)) && (s === '' || matchName(s, slice));
}

export function findSlices(release: Release, terms: string[]): FindResult[] {
  const out: FindResult[] = [];
  const paths = terms.filter((t) => t.startsWith('/'));
  const names = terms.filter((t) => !t.startsWith('/'));
  for (const pkg of [...release.packages.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    for (const slice of [...pkg.slices.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (names.length && names.every((t) => matchTerm(t, pkg.name, slice.name)))
        out.push({ slice: sliceKey(pkg.name, slice.name), summary: slice.hint ?? '-' });
      for (const p of paths) {
        const via = shipping(slice, p);
        if (via) out.push({ slice: sliceKey(pkg.name, slice.name), summary: slice.hint ?? '-', via });
      }
    }
  }
  return out;
}

function shipping(slice: SliceDef, path: string): string | undefined {
  const dir = path.endsWith('/') ? path : `${path}/`;
  for (const [p, info] of slice.contents) {
    if (info.kind === 'glob') {
      if (globMatch(p, path) || globMatch(p, dir)) return p;
    } else if (p === path || p === dir || (info.kind === 'generate' && globMatch(p, path))) return p;
  }
  return undefined;
}
