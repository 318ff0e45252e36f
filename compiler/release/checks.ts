// Release-wide validation, over the whole release (not only a selection):
// path conflicts, glob overlaps, `prefer` rules, essentials, sets, pins.

import { KNOWN_ARCHS, UBUNTU_ARCHS } from '../util/arch.js';
import { ChiselError } from '../util/errors.js';
import { globMatch, globsOverlap, isGlob, literalPrefix, segmentsDisjoint } from './glob.js';
import type { SourcePos } from '../yaml/file.js';
import type { PathInfo, Release, SliceDef } from './model.js';
import { parseSliceKey, sliceKey } from './model.js';

interface PathRef {
  path: string;
  info: PathInfo;
  slice: SliceDef;
  key: string;
}

function at(pos: SourcePos | undefined, message: string, code: string, subject?: string): ChiselError {
  return new ChiselError(message, { code, location: { ...(pos ?? {}), ...(subject ? { subject } : {}) } });
}

function sameContent(a: PathInfo, b: PathInfo): boolean {
  return a.kind === b.kind && (a.info ?? '') === (b.info ?? '') && (a.mode ?? -1) === (b.mode ?? -1) && a.mutable === b.mutable;
}

export function checkRelease(release: Release, errors: ChiselError[], pending: ReadonlySet<string> = new Set()): void {
  const refs: PathRef[] = [];
  for (const pkg of release.packages.values()) {
    if (pkg.archive !== undefined && !release.archives.has(pkg.archive)) {
      errors.push(
        new ChiselError(
          `package ${pkg.name} pins archive "${pkg.archive}", which the release does not define (archives: ${[...release.archives.keys()].join(', ')})`,
          { code: 'archive', location: { file: pkg.file, line: 1, col: 1 } },
        ),
      );
    }
    for (const slice of pkg.slices.values()) {
      const key = sliceKey(pkg.name, slice.name);
      for (const [path, info] of slice.contents) refs.push({ path, info, slice, key });
    }
  }
  checkPaths(refs, errors);
  if (release.archives.has('ubuntu')) checkUbuntuArchs(refs, errors);
  checkEssentials(release, errors, pending);
  checkSets(release, errors, pending);
}

/**
 * A package about to be scaffolded into the release (and without a file yet):
 * the sets and essentials that name its slices were written ahead of it.
 */
function isPending(release: Release, pending: ReadonlySet<string>, pkg: string): boolean {
  return pending.has(pkg) && !release.packages.has(pkg);
}

/**
 * A release with an "ubuntu" archive is one Chisel reads: a path's arch must
 * be one Chisel knows (armel and the other Debian-only names are refused, as
 * Chisel refuses them). Other releases (Debian's) accept every Debian arch.
 * Names no release knows are reported where the file is parsed.
 */
function checkUbuntuArchs(refs: PathRef[], errors: ChiselError[]): void {
  for (const r of refs)
    for (const a of r.info.arch ?? [])
      if (!UBUNTU_ARCHS.has(a) && KNOWN_ARCHS.has(a))
        errors.push(
          at(
            r.info.pos,
            `slice ${r.key}: path ${r.path} has an invalid arch "${a}" (not an Ubuntu architecture: ${[...UBUNTU_ARCHS].join(', ')})`,
            'arch',
            r.path,
          ),
        );
}

function checkPaths(refs: PathRef[], errors: ChiselError[]): void {
  const literal = new Map<string, PathRef[]>();
  const wild: PathRef[] = [];
  for (const r of refs) {
    if (r.info.kind === 'glob' || r.info.kind === 'generate') wild.push(r);
    else {
      const list = literal.get(r.path);
      if (list) list.push(r);
      else literal.set(r.path, [r]);
    }
  }
  for (const [path, list] of literal) {
    const preferred = list.some((r) => r.info.prefer !== undefined);
    if (preferred) checkPrefer(path, list, errors);
    if (list.length < 2) continue;
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        const samePkg = a.slice.package === b.slice.package;
        if (!samePkg && preferred) continue;
        const ok = sameContent(a.info, b.info) && (samePkg || (a.info.kind !== 'copy' && b.info.kind !== 'copy'));
        if (!ok) {
          errors.push(
            at(
              b.info.pos,
              `slices ${a.key} and ${b.key} conflict on ${path}${samePkg || a.info.kind !== 'copy' ? ' (different definitions)' : ' (both copy it from their packages; use {prefer: <package>})'}`,
              'path-conflict',
              path,
            ),
          );
          break;
        }
      }
    }
  }
  // Globs and generate paths against the paths a segment trie says may overlap.
  const trie = new PathTrie();
  for (const r of refs) trie.insert(r);
  const reported = new Set<string>();
  for (const g of wild) {
    for (const o of trie.candidates(g.path)) {
      if (o === g || (o.path === g.path && o.slice.package === g.slice.package && o.info.kind === g.info.kind)) continue;
      // Several packages may generate a manifest in the same directory (Chisel accepts it; the manifest lists them all).
      if (o.path === g.path && o.info.kind === 'generate' && g.info.kind === 'generate') continue;
      const samePkg = o.slice.package === g.slice.package;
      if (samePkg) {
        const gen = g.info.kind === 'generate' || o.info.kind === 'generate';
        if (!gen && (o.info.kind === 'copy' || o.info.kind === 'glob')) continue;
      }
      if (!globsOverlap(g.path, o.path)) continue;
      const id = [g.key, g.path, o.key, o.path].sort().join('\0');
      if (reported.has(id)) continue;
      reported.add(id);
      errors.push(at(g.info.pos, `slices ${g.key} and ${o.key} conflict on ${g.path} and ${o.path}`, 'path-conflict', g.path));
    }
  }
}

/** Paths by segment, so a glob is compared only with paths that can match it segment by segment. */
class PathTrie {
  private readonly root = new TrieNode();
  insert(r: PathRef): void {
    const p = r.path;
    let node = this.root;
    // Segments as split('/') gives them: "/usr/bin/" ends in an empty one.
    let from = 1;
    while (from <= p.length) {
      let to = p.indexOf('/', from);
      if (to === -1) to = p.length;
      const seg = p.slice(from, to);
      if (seg.includes('**')) {
        (node.deep ??= []).push(r);
        return;
      }
      node = node.child(seg);
      from = to + 1;
    }
    (node.refs ??= []).push(r);
  }
  candidates(pattern: string): Set<PathRef> {
    const segs = pattern.split('/').slice(1);
    const out = new Set<PathRef>();
    const walk = (node: TrieNode, k: number): void => {
      if (node.deep) for (const r of node.deep) out.add(r);
      if (k === segs.length) {
        if (node.refs) for (const r of node.refs) out.add(r);
        return;
      }
      const seg = segs[k]!;
      if (seg.includes('**')) {
        node.collect(out);
        return;
      }
      if (!node.wildChildren && !isGlob(seg)) {
        // The common case: a literal segment and no glob siblings.
        const c = node.children?.get(seg);
        if (c) walk(c, k + 1);
        return;
      }
      for (const c of node.next(seg)) walk(c, k + 1);
    };
    walk(this.root, 0);
    return out;
  }
}

/** One segment of the trie; its maps and lists are made only when needed (a release has tens of thousands of nodes). */
class TrieNode {
  children: Map<string, TrieNode> | undefined;
  wildChildren: Map<string, TrieNode> | undefined;
  refs: PathRef[] | undefined;
  deep: PathRef[] | undefined;
  /** Children a segment (literal or glob) may match; memoised, as many globs share segments. */
  private memo: Map<string, TrieNode[]> | undefined;
  private index: { literals: string[]; wildByPrefix: Map<string, string[]>; wildPrefixes: string[]; prefixLengths: number[] } | undefined;

  child(seg: string): TrieNode {
    const children = (this.children ??= new Map());
    let c = children.get(seg);
    if (!c) {
      c = new TrieNode();
      children.set(seg, c);
      if (isGlob(seg)) (this.wildChildren ??= new Map()).set(seg, c);
      this.memo = undefined;
      this.index = undefined;
    }
    return c;
  }

  /** Children `seg` may match (candidates() walks a literal segment with no glob siblings itself). */
  next(seg: string): TrieNode[] {
    if (!this.children) return NONE;
    let out = this.memo?.get(seg);
    if (out) return out;
    out = [];
    if (isGlob(seg)) {
      const prefix = literalPrefix(seg);
      const names = prefix === '' ? [...this.children.keys()] : [...this.literalsWithPrefix(prefix), ...this.wildCompatible(prefix)];
      // A literal child either matches the glob segment or not; two globs may overlap unless cheaply disjoint.
      for (const name of names)
        if (this.wildChildren?.has(name) ? !segmentsDisjoint(seg, name) : globMatch(seg, name)) out.push(this.children.get(name)!);
    } else {
      const c = this.children.get(seg);
      if (c && !this.wildChildren?.has(seg)) out.push(c);
      for (const name of this.wildPrefixedBy(seg, seg.length)) if (globMatch(name, seg)) out.push(this.children.get(name)!);
    }
    (this.memo ??= new Map()).set(seg, out);
    return out;
  }

  private idx(): NonNullable<TrieNode['index']> {
    if (!this.index) {
      const wildByPrefix = new Map<string, string[]>();
      for (const name of this.wildChildren?.keys() ?? []) {
        const p = literalPrefix(name);
        const list = wildByPrefix.get(p);
        if (list) list.push(name);
        else wildByPrefix.set(p, [name]);
      }
      const literals = [...(this.children?.keys() ?? [])].filter((n) => !this.wildChildren?.has(n)).sort();
      const wildPrefixes = [...wildByPrefix.keys()].sort();
      const prefixLengths = [...new Set(wildPrefixes.map((p) => p.length))].sort((a, b) => a - b);
      this.index = { literals, wildByPrefix, wildPrefixes, prefixLengths };
    }
    return this.index;
  }

  /** Literal children starting with `prefix` (a sorted range). */
  private literalsWithPrefix(prefix: string): string[] {
    const { literals } = this.idx();
    const out: string[] = [];
    for (let i = lowerBound(literals, prefix); i < literals.length && literals[i]!.startsWith(prefix); i++) out.push(literals[i]!);
    return out;
  }

  /** Glob children whose literal prefix is compatible with `prefix` (one starts with the other). */
  private wildCompatible(prefix: string): string[] {
    const { wildByPrefix, wildPrefixes } = this.idx();
    const out = this.wildPrefixedBy(prefix, prefix.length - 1);
    for (let i = lowerBound(wildPrefixes, prefix); i < wildPrefixes.length && wildPrefixes[i]!.startsWith(prefix); i++)
      out.push(...wildByPrefix.get(wildPrefixes[i]!)!);
    return out;
  }

  /** Glob children whose literal prefix is a prefix of `s` no longer than `max`. */
  private wildPrefixedBy(s: string, max: number): string[] {
    if (!this.wildChildren) return [];
    const { wildByPrefix, prefixLengths } = this.idx();
    const out: string[] = [];
    for (const n of prefixLengths) {
      if (n > max) break;
      const list = wildByPrefix.get(s.slice(0, n));
      if (list) out.push(...list);
    }
    return out;
  }

  collect(out: Set<PathRef>): void {
    if (this.refs) for (const r of this.refs) out.add(r);
    if (this.deep) for (const r of this.deep) out.add(r);
    if (this.children) for (const c of this.children.values()) c.collect(out);
  }
}

const NONE: TrieNode[] = [];

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkPrefer(path: string, list: PathRef[], errors: ChiselError[]): void {
  const holders = new Set(list.map((r) => r.slice.package));
  const edges = new Map<string, string>();
  const inbound = new Map<string, string>();
  for (const r of list) {
    const target = r.info.prefer;
    const pkg = r.slice.package;
    if (target === undefined || target === pkg) continue; // own package: reported where it is parsed
    const prev = edges.get(pkg);
    if (prev !== undefined && prev !== target) {
      errors.push(
        at(r.info.pos, `package ${pkg} prefers both ${prev} and ${target} for ${path}: a package may prefer only one`, 'prefer', path),
      );
      return;
    }
    if (prev !== undefined) continue;
    if (!holders.has(target)) {
      errors.push(
        at(r.info.pos, `slice ${r.key} prefers package ${target} for ${path}, but ${target} has no slice with that path`, 'prefer', path),
      );
      return;
    }
    const other = inbound.get(target);
    if (other !== undefined && other !== pkg)
      errors.push(at(r.info.pos, `packages ${other} and ${pkg} both prefer ${target} for ${path}`, 'prefer', path));
    edges.set(pkg, target);
    inbound.set(target, pkg);
  }
  for (const start of edges.keys()) {
    const seen: string[] = [];
    let cur: string | undefined = start;
    while (cur !== undefined && !seen.includes(cur)) {
      seen.push(cur);
      cur = edges.get(cur);
    }
    if (cur !== undefined) {
      const r = list.find((x) => x.slice.package === start)!;
      errors.push(at(r.info.pos, `prefer loop for ${path}: ${[...seen.slice(seen.indexOf(cur)), cur].join(' -> ')}`, 'prefer', path));
      return;
    }
  }
  const ends = [...holders].filter((h) => !edges.has(h)).sort();
  if (ends.length > 1) {
    const r = list.find((x) => x.slice.package === ends[1])!;
    errors.push(at(r.info.pos, `packages ${ends.join(', ')} hold ${path} but are not connected by "prefer"`, 'prefer', path));
  }
}

function checkEssentials(release: Release, errors: ChiselError[], pending: ReadonlySet<string>): void {
  const deps = new Map<string, string[]>();
  for (const pkg of release.packages.values()) {
    for (const slice of pkg.slices.values()) {
      const key = sliceKey(pkg.name, slice.name);
      const list: string[] = [];
      const all = pkg.essential.length ? [...pkg.essential, ...slice.essential] : slice.essential;
      for (let i = 0; i < all.length; i++) {
        const e = all[i]!;
        const fromPkg = i < pkg.essential.length;
        if (e.slice === key) continue; // a slice listing itself is reported where it is parsed
        // Checked by the parser: "<package>_<slice>", and neither name holds "_".
        const cut = e.slice.indexOf('_');
        if (!release.packages.get(e.slice.slice(0, cut))?.slices.has(e.slice.slice(cut + 1))) {
          if (isPending(release, pending, e.slice.slice(0, cut))) continue;
          if (!fromPkg || slice === [...pkg.slices.values()][0]) {
            errors.push(
              at(
                fromPkg ? { file: pkg.file, line: 1, col: 1 } : slice.pos,
                `${fromPkg ? `package ${pkg.name}` : `slice ${key}`} refers to missing slice ${e.slice}`,
                'essential',
                key,
              ),
            );
          }
          continue;
        }
        list.push(e.slice);
      }
      deps.set(key, list);
    }
  }
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (k: string): void => {
    state.set(k, 1);
    stack.push(k);
    for (const d of deps.get(k) ?? []) {
      const s = state.get(d);
      if (s === 1) {
        const loop = [...stack.slice(stack.indexOf(d)), d];
        const ref = parseSliceKey(k)!;
        errors.push(
          at(release.packages.get(ref.package)?.slices.get(ref.slice)?.pos, `essential loop: ${loop.join(' -> ')}`, 'essential-loop', k),
        );
      } else if (s === undefined) visit(d);
    }
    stack.pop();
    state.set(k, 2);
  };
  for (const k of [...deps.keys()].sort()) if (!state.has(k)) visit(k);
}

function checkSets(release: Release, errors: ChiselError[], pending: ReadonlySet<string>): void {
  const sets = release.sets ?? new Map();
  for (const [name, members] of sets) {
    for (const [i, m] of members.entries()) {
      const ref = parseSliceKey(m);
      const ok = ref ? release.packages.get(ref.package)?.slices.has(ref.slice) || isPending(release, pending, ref.package) : sets.has(m);
      if (!ok)
        errors.push(
          new ChiselError(`set ${name} refers to unknown ${ref ? 'slice' : 'set'} ${m}`, {
            code: 'sets',
            location: release.setPos?.get(name)?.[i] ?? { file: `${release.dir}/chisel.yaml`, subject: name },
          }),
        );
    }
  }
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (n: string, path: string[]): void => {
    if (done.has(n)) return;
    if (visiting.has(n)) {
      errors.push(
        new ChiselError(`set loop: ${[...path, n].join(' -> ')}`, {
          code: 'sets',
          location: release.setPos?.get(n)?.[0] ?? { file: `${release.dir}/chisel.yaml`, subject: n },
        }),
      );
      return;
    }
    visiting.add(n);
    for (const m of sets.get(n) ?? []) if (sets.has(m)) visit(m, [...path, n]);
    visiting.delete(n);
    done.add(n);
  };
  for (const n of sets.keys()) visit(n, []);
}
