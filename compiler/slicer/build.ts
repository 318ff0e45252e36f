// Claims + package listings -> the cut tree (before mutate scripts).
// Extracted paths first (sorted, so parents come before children and the
// result does not depend on the order of the request), then text / make /
// symlink paths. Parents missing from the selection are created implicitly,
// with the package's mode for that directory when the package has it.

import { posix } from 'node:path';
import { globMatch } from '../release/glob.js';
import type { PathInfo } from '../release/model.js';
import { comparePaths, type EntryType, type TreeEntry } from '../tree/model.js';
import { ChiselError } from '../util/errors.js';
import type { ContentStore } from '../cache/store.js';
import type { Claim } from './claims.js';
import type { DebListing, ListedEntry } from './unpack.js';

/** A path of the cut tree with what the later stages need to know about it. */
export interface Node {
  entry: TreeEntry;
  /** Listed by a slice (not an implicit parent). */
  explicit: boolean;
  /** The path as the slices name it (dirs end in '/'); may differ from entry.path when a parent is a symlink. */
  declared: string;
  /** Slices that list this path. */
  slices: Set<string>;
  /** Slices that list it without `until: mutate`: those the manifest credits it to, as Chisel's report does. */
  reported: Set<string>;
  /** The package it came from ('' for implicit parents). */
  package: string;
  mutable: boolean;
  /** True while every slice listing it said `until: mutate`. */
  untilMutate: boolean;
  /** sha256 as extracted (before mutate scripts). */
  originalSha256?: string;
  /** Hard-link group number, from 1, in path order. */
  inode?: number;
  /** Set for `generate: manifest` directories: where the manifest goes. */
  generate?: 'manifest';
}

export interface BuiltTree {
  nodes: Map<string, Node>;
  /** Manifest files to generate: path of manifest.wall -> slices that asked. */
  manifests: Map<string, Set<string>>;
  /** The tree path a slice path lands on (parents resolved through the tree's symlinks). */
  resolve(path: string): string;
  /** Files whose setuid / setgid bits were dropped because no slice asked for them (`mode:` on the path). */
  setIdDropped: Array<{ path: string; pkg: string; mode: number }>;
}

/** A path a package shipped: listed by one of its slices (not an implicit parent), as it is in the tree. */
export interface ShippedPath {
  path: string;
  type: EntryType;
  mode: number;
  size: number;
  sha256?: string;
  /** sha256 as extracted, when a mutate script may have changed it. */
  originalSha256?: string;
  /** The slices (package_slice) that list it, sorted. */
  slices: string[];
}

/** Package -> the paths it shipped (explicit nodes, in node order): computed once, for dpkg metadata, lockfiles and SBOMs. */
export function shippedPaths(built: BuiltTree): Map<string, ShippedPath[]> {
  const out = new Map<string, ShippedPath[]>();
  for (const n of built.nodes.values()) {
    if (!n.package || !n.explicit) continue;
    const list = out.get(n.package) ?? [];
    const e = n.entry;
    list.push({
      path: e.path,
      type: e.type,
      mode: e.mode,
      size: e.size,
      ...(e.sha256 ? { sha256: e.sha256 } : {}),
      ...(n.originalSha256 ? { originalSha256: n.originalSha256 } : {}),
      slices: [...n.slices].sort(),
    });
    out.set(n.package, list);
  }
  return out;
}

interface Pending {
  dest: string;
  claim: Claim;
  pkg: string;
  source?: ListedEntry;
}

const MAX_LINK_DEPTH = 40;

/** Claims + listings -> the tree's nodes, in named steps: paths, extracted entries, hard-link groups, created entries. */
export async function buildTree(
  claimsByPackage: Map<string, Claim[]>,
  listings: Map<string, DebListing>,
  store: ContentStore,
  opts: { keepSetId?: boolean } = {},
): Promise<BuiltTree> {
  const { extracted, created, manifests, listingIndex } = pendingPaths(claimsByPackage, listings);
  const nodes = new NodeMap(listingIndex);
  const { setIdDropped, groups } = placeExtracted(nodes, extracted, Boolean(opts.keepSetId));
  linkHardLinkGroups(nodes, groups);
  await placeCreated(nodes, created, store);
  return { nodes: nodes.nodes, manifests, resolve: (p: string) => nodes.resolve(trimSlash(p)), setIdDropped };
}

/** Step 1: every path the claims ask for, extracted (from a listing) or created, in path order; and the manifests to generate. */
function pendingPaths(
  claimsByPackage: Map<string, Claim[]>,
  listings: Map<string, DebListing>,
): { extracted: Pending[]; created: Pending[]; manifests: Map<string, Set<string>>; listingIndex: Map<string, Map<string, ListedEntry>> } {
  const manifests = new Map<string, Set<string>>();
  const extracted: Pending[] = [];
  const created: Pending[] = [];
  const listingIndex = new Map<string, Map<string, ListedEntry>>();
  for (const pkg of [...claimsByPackage.keys()].sort()) {
    const claims = claimsByPackage.get(pkg)!;
    const listing = listings.get(pkg);
    const index = new Map<string, ListedEntry>();
    if (listing) for (const e of listing.entries) index.set(e.path, e);
    listingIndex.set(pkg, index);
    for (const claim of claims) {
      const { info } = claim;
      switch (info.kind) {
        case 'copy': {
          const src = trimSlash(info.info ?? claim.path);
          const entry = index.get(src);
          if (!entry) throw noContent(claim, pkg, info.info ?? claim.path);
          extracted.push({ dest: trimSlash(claim.path), claim, pkg, source: entry });
          break;
        }
        case 'glob': {
          if (!listing) break;
          let matched = false;
          for (const e of listing.entries) {
            if (e.path === '/') continue;
            const candidate = e.type === 'dir' ? `${e.path}/` : e.path;
            if (!globMatch(claim.path, candidate)) continue;
            extracted.push({ dest: e.path, claim, pkg, source: e });
            matched = true;
          }
          if (!matched) throw noContent(claim, pkg, claim.path);
          break;
        }
        case 'generate': {
          const dir = claim.path.replace(/\*\*$/, '');
          const wall = `${dir}manifest.wall`;
          const set = manifests.get(wall) ?? new Set<string>();
          set.add(claim.sliceKey);
          manifests.set(wall, set);
          created.push({ dest: trimSlash(dir), claim, pkg });
          break;
        }
        default:
          created.push({ dest: trimSlash(claim.path), claim, pkg });
      }
    }
  }
  const byPath = (a: Pending, b: Pending) => comparePaths(a.dest, b.dest) || a.claim.sliceKey.localeCompare(b.claim.sliceKey);
  extracted.sort(byPath);
  created.sort(byPath);
  return { extracted, created, manifests, listingIndex };
}

/** A copy or glob path the package does not have (Chisel: "no content at ..."). */
function noContent(claim: Claim, pkg: string, source: string): ChiselError {
  return new ChiselError(`slice ${claim.sliceKey}: no content at ${source} in package ${pkg}`, {
    code: 'no-content',
    location: { subject: claim.path },
    hint: `check the path against the package's file list ("dpkg-deb -c" of the .deb), or restrict it with {arch: [...]}`,
  });
}

/** The nodes of the tree being built: paths resolved through its symlinks, implicit parents, conflicts. */
class NodeMap {
  readonly nodes = new Map<string, Node>();
  constructor(private readonly listingIndex: Map<string, Map<string, ListedEntry>>) {}

  /** The tree path of `path`: a parent that is a symlink of the tree leads where it points, as on a real filesystem; ".." never climbs above the root. */
  resolve(path: string): string {
    return `${this.resolveAll(posix.dirname(path), 0)}/${posix.basename(path)}`;
  }

  private resolveAll(path: string, depth: number): string {
    let cur = '';
    for (const part of path.split('/').filter(Boolean)) {
      const cand = `${cur}/${part}`;
      const node = this.nodes.get(cand);
      if (node?.entry.type !== 'symlink') {
        cur = cand;
        continue;
      }
      if (depth >= MAX_LINK_DEPTH)
        throw new ChiselError(`too many levels of symbolic links resolving ${path}`, { code: 'symlink-loop', location: { subject: path } });
      const t = node.entry.link!;
      const abs = posix.normalize(t.startsWith('/') ? t : posix.join(cur || '/', t));
      cur = abs === '/' ? '' : this.resolveAll(abs, depth + 1);
    }
    return cur;
  }

  private ensureParents(path: string, pkg: string): void {
    const parent = posix.dirname(path);
    if (parent === '/' || this.nodes.has(parent)) {
      const p = this.nodes.get(parent);
      if (p && p.entry.type !== 'dir') {
        throw new ChiselError(`cannot create ${path}: its parent ${parent} is a ${p.entry.type}, not a directory`, {
          code: 'path-conflict',
          location: { subject: path },
        });
      }
      return;
    }
    this.ensureParents(parent, pkg);
    const fromPkg = this.listingIndex.get(pkg)?.get(parent);
    const mode = fromPkg?.type === 'dir' ? fromPkg.mode : 0o755 | this.setgidFromParent(parent);
    this.nodes.set(parent, {
      entry: { path: parent, type: 'dir', mode, uid: 0, gid: 0, size: 0 },
      explicit: false,
      declared: `${parent}/`,
      slices: new Set(),
      reported: new Set(),
      package: '',
      mutable: false,
      untilMutate: true,
    });
  }

  /** The setgid bit a directory made with mkdir(2) at tree path `path` gets on Linux: its parent's (as under Chisel). */
  setgidFromParent(path: string): number {
    const parent = this.nodes.get(posix.dirname(path));
    return parent?.entry.type === 'dir' ? parent.entry.mode & 0o2000 : 0;
  }

  /** Put `entry` (of pending path `p`) in the tree: merged with an identical one, else a conflict. */
  add(p: Pending, entry: TreeEntry, mutable: boolean): void {
    const path = this.resolve(entry.path);
    entry.path = path;
    const existing = this.nodes.get(path);
    const until = p.claim.info.until === 'mutate';
    if (existing) {
      if (!existing.explicit && entry.type === 'dir' && existing.entry.type === 'dir') {
        existing.entry = entry;
        existing.explicit = true;
        existing.declared = p.claim.info.kind === 'glob' ? `${p.dest}/` : p.claim.path;
        existing.package = p.pkg;
        existing.untilMutate = until;
      } else if (!sameEntry(existing.entry, entry)) {
        throw new ChiselError(
          `slices ${[...existing.slices].join(', ')} and ${p.claim.sliceKey} both write ${path} with different content (${describe(existing.entry)} vs ${describe(entry)})`,
          { code: 'path-conflict', location: { subject: path }, hint: 'make the definitions identical, or use {prefer: <package>}' },
        );
      } else {
        existing.untilMutate &&= until;
        existing.mutable ||= mutable;
      }
      existing.slices.add(p.claim.sliceKey);
      if (!until) existing.reported.add(p.claim.sliceKey);
      return;
    }
    this.ensureParents(path, p.pkg);
    const declared = p.claim.info.kind === 'glob' ? (entry.type === 'dir' ? `${p.dest}/` : p.dest) : p.claim.path;
    this.nodes.set(path, {
      entry,
      explicit: true,
      declared,
      slices: new Set([p.claim.sliceKey]),
      reported: new Set(until ? [] : [p.claim.sliceKey]),
      package: p.pkg,
      mutable,
      untilMutate: until,
      ...(entry.sha256 ? { originalSha256: entry.sha256 } : {}),
    });
  }
}

/** Step 2: the extracted paths into the tree; returns the setuid/setgid bits dropped and the hard-link groups (package + target -> paths). */
function placeExtracted(
  nodes: NodeMap,
  extracted: Pending[],
  keepSetId: boolean,
): { setIdDropped: BuiltTree['setIdDropped']; groups: Map<string, string[]> } {
  // Hard links inside one package: both ends selected -> kept as a group.
  const selectedFiles = new Map<string, Set<string>>(); // pkg -> source paths of selected regular files
  for (const p of extracted) {
    if (p.source?.type === 'file' && p.dest === p.source.path) {
      const set = selectedFiles.get(p.pkg) ?? new Set<string>();
      set.add(p.source.path);
      selectedFiles.set(p.pkg, set);
    }
  }
  const setIdDropped: BuiltTree['setIdDropped'] = [];
  const groups = new Map<string, string[]>();
  for (const p of extracted) {
    const src = p.source!;
    if (src.type === 'char' || src.type === 'block' || src.type === 'fifo') {
      throw new ChiselError(
        `package ${p.pkg}: ${src.path} is a ${src.type === 'fifo' ? 'fifo' : 'device node'}, which chisel-ts refuses to create`,
        {
          code: 'device-node',
          location: { subject: src.path },
          hint: `remove ${p.claim.path} from slice ${p.claim.sliceKey}`,
        },
      );
    }
    const mutable = p.claim.info.mutable && src.type === 'file';
    let entry: TreeEntry;
    if (src.type === 'dir') {
      entry = { path: p.dest, type: 'dir', mode: src.mode, uid: src.uid, gid: src.gid, size: 0 };
    } else if (src.type === 'symlink') {
      entry = { path: p.dest, type: 'symlink', mode: 0o777, uid: src.uid, gid: src.gid, size: 0, link: src.link! };
    } else {
      // setuid / setgid only when the slice asks for them with `mode:` on the path, or the cut keeps
      // them all (--keep-setid, as Chisel does)
      const setId = src.mode & 0o6000;
      const kept = keepSetId ? setId : setId & (p.claim.info.mode ?? 0);
      if (setId !== kept) setIdDropped.push({ path: p.dest, pkg: p.pkg, mode: src.mode });
      entry = {
        path: p.dest,
        type: 'file',
        mode: (src.mode & ~0o6000) | kept,
        uid: src.uid,
        gid: src.gid,
        size: src.size,
        sha256: src.sha256!,
      };
      const target = src.type === 'hardlink' ? src.link! : src.path;
      const targetSelected = src.type === 'file' || selectedFiles.get(p.pkg)?.has(target);
      if (targetSelected && p.dest === src.path) {
        const key = `${p.pkg}\0${target}`;
        const g = groups.get(key) ?? [];
        g.push(p.dest);
        groups.set(key, g);
      }
    }
    nodes.add(p, entry, mutable);
  }
  return { setIdDropped, groups };
}

/** Step 3: groups of more than one path become a primary file plus hard links, numbered in path order. */
function linkHardLinkGroups(nodes: NodeMap, groups: Map<string, string[]>): void {
  let inode = 0;
  const linkGroups = [...groups.values()]
    .filter((g) => g.length > 1)
    .map((g) => [...new Set(g.map((d) => nodes.nodes.get(nodes.resolve(d))!.entry.path))].sort(comparePaths));
  linkGroups.sort((a, b) => comparePaths(a[0]!, b[0]!));
  for (const g of linkGroups) {
    if (g.length < 2) continue;
    inode++;
    const [primary, ...links] = g;
    nodes.nodes.get(primary!)!.inode = inode;
    for (const l of links) {
      const n = nodes.nodes.get(l)!;
      n.inode = inode;
      n.entry.type = 'hardlink';
      n.entry.link = primary!;
    }
  }
}

/** Step 4: text, dir, symlink and generate paths, after every extracted one. */
async function placeCreated(nodes: NodeMap, created: Pending[], store: ContentStore): Promise<void> {
  for (const p of created) {
    const info = p.claim.info;
    const entry = await createdEntry(p.dest, info, store);
    nodes.add(p, entry, info.kind === 'text' && info.mutable);
    // a made directory (not one a package listed) inherits the setgid bit of its parent
    if (info.kind === 'dir' && nodes.nodes.get(entry.path)?.entry === entry) entry.mode |= nodes.setgidFromParent(entry.path);
    if (info.kind === 'generate') {
      const n = nodes.nodes.get(nodes.resolve(p.dest))!;
      n.generate = 'manifest';
    }
  }
}

async function createdEntry(path: string, info: PathInfo, store: ContentStore): Promise<TreeEntry> {
  const uid = info.uid ?? 0;
  const gid = info.gid ?? 0;
  switch (info.kind) {
    case 'text': {
      const data = Buffer.from(info.info ?? '', 'utf8');
      const sha256 = await store.putBuffer(data);
      return { path, type: 'file', mode: info.mode ?? 0o644, uid, gid, size: data.length, sha256 };
    }
    case 'symlink':
      return { path, type: 'symlink', mode: 0o777, uid, gid, size: 0, link: info.info! };
    case 'dir':
      // `make: true`: Chisel makes it with mkdir(2), which on Linux ignores the setuid and setgid bits of the
      // mode (the sticky bit stays): `mode: 02775` gives 0775, in the tree and in the manifest
      return { path, type: 'dir', mode: (info.mode ?? 0o755) & ~0o6000, uid, gid, size: 0 };
    case 'generate':
      return { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 };
    default:
      throw new Error(`unexpected path kind ${info.kind}`);
  }
}

function sameEntry(a: TreeEntry, b: TreeEntry): boolean {
  return a.type === b.type && (a.type === 'dir' || (a.mode === b.mode && a.sha256 === b.sha256 && a.link === b.link));
}

function describe(e: TreeEntry): string {
  if (e.type === 'symlink') return `symlink to ${e.link}`;
  if (e.type === 'dir') return `directory ${e.mode.toString(8)}`;
  return `file sha256 ${e.sha256?.slice(0, 12)} mode ${e.mode.toString(8)}`;
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}
