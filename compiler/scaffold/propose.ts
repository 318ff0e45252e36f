// A first slice definition for a package, from its file list and control
// paragraph: files sorted into bins, libs, config, data and copyright (docs,
// man pages and the like left out), the multiarch triplet written as
// *-linux-*, big directories collapsed to /**, and essentials taken from
// Depends / Pre-Depends where the release has slices for them. A starting
// point for a human, not a finished definition.

import type { Release } from '../release/model.js';

export interface ScaffoldEntry {
  path: string;
  type: 'dir' | 'file' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  /** The architectures whose package has this path (written as *-linux-*), when not all of those scaffolded. */
  arch?: string[];
  /** Permission bits, when known: a program under /usr/lib is sorted into bins. */
  mode?: number;
  /** A symlink's target: the slice it is in needs the slice of the target. */
  link?: string;
}

/** A dependency's slice names, or undefined when the release (or the batch) has none for it. */
export type KnownSlices = (pkg: string) => readonly string[] | undefined;

export interface ScaffoldInput {
  name: string;
  version: string;
  /** Depends and Pre-Depends, as in the control paragraph. */
  depends: string[];
  entries: ScaffoldEntry[];
  release: Release;
  /** Slices of other packages (default: the release's); a batch adds the packages it wrote before this one. */
  known?: KnownSlices;
  /** Directories (written as *-linux-*) where another package has paths too: never collapsed to `dir/**`, which would conflict. */
  shared?: (dir: string) => boolean;
  /** Paths another package already ships: left out of this one (two packages may not both ship a path). */
  claimed?: (path: string) => boolean;
  /** Dependencies to leave out (install-time only, or a loop back to a package that depends on this one), each with why. */
  skip?: Map<string, string>;
  /** Dependencies that hold on some architectures only. */
  depArch?: Map<string, string[]>;
  /** Lines for the file's header comment. */
  notes?: string[];
}

export type Category = 'bins' | 'libs' | 'config' | 'data' | 'copyright';
const ORDER: Category[] = ['bins', 'libs', 'config', 'data', 'copyright'];

/** Directories with at least this many shipped paths become one `dir/**` glob. */
export const COLLAPSE_AT = 8;

const LEFT_OUT = [
  /^\/usr\/share\/(man|info|lintian|bug|doc-base|locale|bash-completion|zsh|fish|menu|pixmaps|applications|icons)\//,
  /^\/usr\/share\/doc\//,
  /^\/etc\/(init\.d|cron\.[a-z]+|logrotate\.d)\//,
  /^\/lib\/systemd\/|^\/usr\/lib\/systemd\//,
];
const TRIPLET = /\/(?:[a-z0-9_]+-linux-gnu[a-z0-9]*|[a-z0-9_]+-linux-musl[a-z0-9]*)(?=\/|$)/;

/**
 * A package named for a target (gcc-14-aarch64-linux-gnu, libc6-arm64-cross): its triplet directories are
 * the target's, on every architecture, not the multiarch directory of the one it is installed on.
 */
export function namesTarget(pkg: string): boolean {
  return /-linux-gnu[a-z0-9]*(-|$)|-cross(-|$)/.test(pkg);
}

/** The path with its multiarch directory written as *-linux-* (kept for a package named for a target). */
export function archIndependent(p: string, pkg?: string): string {
  // the JVM directory is named after the Debian architecture (java-21-openjdk-amd64)
  const jvm = p.replace(/^(\/usr\/lib\/jvm\/java-[0-9]+-openjdk)-[a-z0-9]+(?=\/|$)/, '$1-*');
  return pkg !== undefined && namesTarget(pkg) ? jvm : jvm.replace(TRIPLET, '/*-linux-*');
}

export function categoryOf(pkg: string, p: string, mode?: number, type?: ScaffoldEntry['type']): Category | undefined {
  if (p === `/usr/share/doc/${pkg}/copyright`) return 'copyright';
  if (LEFT_OUT.some((r) => r.test(p))) return undefined;
  if (/^\/(usr\/)?s?bin\//.test(p) || /^\/usr\/libexec\//.test(p)) return 'bins';
  if (p.startsWith('/etc/')) return 'config';
  if (/^\/(usr\/)?lib(32|64|x32)?\/[^/]*-linux-[^/]*\//.test(p) || /^\/(usr\/)?lib\/[^/]+\.so(\.[0-9.]+)?$/.test(p)) return 'libs';
  // plugins and helper programs in a package's own directory under /usr/lib need the package's dependencies too
  if (p.startsWith('/usr/lib/') && (type === undefined || type === 'file' || type === 'hardlink')) {
    if (/\.so(\.[0-9.]+)?$/.test(p)) return 'libs';
    if (mode !== undefined && (mode & 0o111) !== 0) return 'bins';
  }
  return 'data';
}

/** A symlink's target as an absolute clean path. */
function linkTarget(p: string, link: string): string {
  const parts = (link.startsWith('/') ? link : `${p.slice(0, p.lastIndexOf('/'))}/${link}`).split('/');
  const out: string[] = [];
  for (const x of parts) {
    if (x === '' || x === '.') continue;
    if (x === '..') out.pop();
    else out.push(x);
  }
  return `/${out.join('/')}`;
}

/** Shipped paths (no directories) -> their globs: a directory deep enough with COLLAPSE_AT paths or more is one `dir/**`. */
export function collapse(paths: string[], shared: (dir: string) => boolean = () => false): string[] {
  // never collapse a top directory: at least /usr/share/X, /usr/lib/*-linux-*/X, /lib/*-linux-*/X or /etc/X
  const minDepth = (dir: string) => (dir.startsWith('/etc/') ? 2 : /^\/usr\/lib\/\*-linux-\*/.test(dir) ? 4 : 3);
  const counts = new Map<string, number>();
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 2; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      counts.set(dir, (counts.get(dir) ?? 0) + 1);
    }
  }
  const out = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/');
    let glob = p;
    for (let i = 2; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (i - 1 >= minDepth(dir) && (counts.get(dir) ?? 0) >= COLLAPSE_AT && !shared(dir)) {
        glob = `${dir}/**`;
        break;
      }
    }
    out.add(glob);
  }
  return [...out].sort();
}

/** Package names of Depends-style fields: the first alternative of each, without versions or arch qualifiers. */
export function dependencyNames(fields: string[]): string[] {
  const names = new Set<string>();
  for (const f of fields) {
    for (const clause of f.split(',')) {
      const first = clause.split('|')[0]!.trim();
      const m = /^([a-z0-9][a-z0-9+.-]*)/.exec(first);
      if (m) names.add(m[1]!);
    }
  }
  return [...names];
}

export interface Proposal {
  /** category -> globs */
  slices: Map<Category, string[]>;
  /** Globs present on some of the scaffolded architectures only. */
  arch: Map<string, string[]>;
  /** Essentials per slice (slice keys of this or other packages). */
  essentials: Map<Category, string[]>;
  /** Essentials that hold on some architectures only. */
  essentialArch: Map<string, string[]>;
  /** Dependencies left out, with why (noted in the YAML). */
  skipped: Array<[string, string]>;
  /** Paths left out because another package ships them. */
  claimed: string[];
  /** Dependencies the release has no slice for (noted in the YAML). */
  unsliced: string[];
  /** Dependencies with several slices, none obviously the one: their slice keys (noted in the YAML). */
  choose: string[];
  /** Paths left out (docs, man pages, ...). */
  leftOut: number;
}

/** The slices a dependency offers to ours: its libs, else its only slice besides copyright; in a batch, else its bins, else all but copyright. */
function slicesFor(known: KnownSlices, dep: string, batch: boolean): string[] {
  const names = known(dep);
  if (!names) return [];
  const others = names.filter((s) => s !== 'copyright');
  if (batch) {
    // a library's libs; a program package's bins (which take its libs); else all but copyright
    if (names.includes('libs') && (dep.startsWith('lib') || !names.includes('bins'))) return [`${dep}_libs`];
    if (names.includes('bins')) return [`${dep}_bins`];
    return others.map((s) => `${dep}_${s}`);
  }
  if (names.includes('libs')) return [`${dep}_libs`];
  if (others.length === 1) return [`${dep}_${others[0]}`];
  return [];
}

/** The release's slices as a KnownSlices. */
export function releaseSlices(release: Release): KnownSlices {
  return (pkg) => {
    const p = release.packages.get(pkg);
    return p ? [...p.slices.keys()] : undefined;
  };
}

export function propose(input: ScaffoldInput): Proposal {
  const by = new Map<Category, string[]>();
  const pathArch = new Map<string, string[] | undefined>();
  const claimed: string[] = [];
  let leftOut = 0;
  for (const e of input.entries) {
    if (e.type === 'dir') continue;
    const c = categoryOf(input.name, e.path, e.mode, e.type);
    if (!c) {
      leftOut++;
      continue;
    }
    const p = archIndependent(e.path, input.name);
    if (input.claimed?.(p)) {
      claimed.push(p);
      continue;
    }
    if (!pathArch.has(p)) {
      by.set(c, [...(by.get(c) ?? []), p]);
      pathArch.set(p, e.arch);
      continue;
    }
    const prev = pathArch.get(p);
    pathArch.set(p, prev === undefined || e.arch === undefined ? undefined : [...new Set([...prev, ...e.arch])].sort());
  }
  // which of our categories each symlink needs (its target's), for essentials between our own slices
  const catOf = new Map<string, Category>();
  for (const [c, ps] of by) for (const x of ps) catOf.set(x, c);
  const targetCat = (t: string): Category | undefined => {
    const c = catOf.get(t);
    if (c) return c;
    for (const [x, o] of catOf) if (x.startsWith(`${t}/`)) return o;
    return undefined;
  };
  const links: Array<{ path: string; target: string }> = [];
  for (const e of input.entries)
    if (e.type === 'symlink' && e.link)
      links.push({ path: archIndependent(e.path, input.name), target: archIndependent(linkTarget(e.path, e.link), input.name) });
  // a link into a slice that already needs the link's slice (data's https -> bins' http) goes with its target:
  // the other way round would be a loop, and the link would dangle in a cut of its own slice
  for (const l of links) {
    const from = catOf.get(l.path);
    const to = targetCat(l.target);
    if (!from || !to || from === 'copyright' || to === 'copyright' || !ownNeeds(to, (c) => by.has(c)).includes(from)) continue;
    const rest = by.get(from)!.filter((x) => x !== l.path);
    if (rest.length) by.set(from, rest);
    else by.delete(from);
    by.set(to, [...by.get(to)!, l.path].sort());
    catOf.set(l.path, to);
  }
  const linkNeeds = new Map<Category, Set<Category>>();
  for (const l of links) {
    const from = catOf.get(l.path);
    if (!from) continue;
    const to = targetCat(l.target);
    if (to && to !== from && to !== 'copyright' && from !== 'copyright') linkNeeds.set(from, new Set([...(linkNeeds.get(from) ?? []), to]));
  }
  const slices = new Map<Category, string[]>();
  const arch = new Map<string, string[]>();
  for (const c of ORDER) {
    if (!by.has(c)) continue;
    const paths = by.get(c)!;
    // a directory that also holds paths of our other slices stays a list (a dir/** would take them too)
    const elsewhere = new Set<string>();
    for (const [o, ps] of by)
      if (o !== c) for (const x of ps) for (let i = x.indexOf('/', 1); i > 0; i = x.indexOf('/', i + 1)) elsewhere.add(x.slice(0, i));
    const globs = c === 'copyright' ? paths : collapse(paths, (dir) => elsewhere.has(dir) || (input.shared?.(dir) ?? false));
    slices.set(c, globs);
    // a glob holds on the architectures of the paths it stands for
    for (const g of globs) {
      const covered = g.endsWith('/**') ? paths.filter((p) => p.startsWith(g.slice(0, -2))) : [g];
      const archs = covered.map((p) => pathArch.get(p));
      if (archs.some((a) => a === undefined)) continue;
      arch.set(g, [...new Set(archs.flatMap((a) => a!))].sort());
    }
  }

  const known = input.known ?? releaseSlices(input.release);
  const batch = input.known !== undefined;
  const skipped = [...(input.skip ?? new Map<string, string>())].sort();
  const deps = dependencyNames(input.depends).filter((d) => d !== input.name && !input.skip?.has(d));
  const depSlices = deps.flatMap((d) => slicesFor(known, d, batch));
  const unsliced = deps.filter((d) => !known(d));
  const choose = deps
    .filter((d) => known(d) && slicesFor(known, d, batch).length === 0)
    .flatMap((d) =>
      known(d)!
        .filter((s) => s !== 'copyright')
        .map((s) => `${d}_${s}`),
    );
  const essentialArch = new Map<string, string[]>();
  for (const d of deps) {
    const a = input.depArch?.get(d);
    if (a) for (const s of slicesFor(known, d, batch)) essentialArch.set(s, a);
  }
  const essentials = new Map<Category, string[]>();
  const own = (c: Category) => ownNeeds(c, (o) => slices.has(o)).map((o) => `${input.name}_${o}`);
  if (slices.has('libs')) essentials.set('libs', [...own('libs'), ...depSlices]);
  if (slices.has('bins')) essentials.set('bins', [...own('bins'), ...(slices.has('libs') ? [] : depSlices)]);
  // a package of data or config only takes its dependencies on its first slice
  if (!slices.has('libs') && !slices.has('bins') && depSlices.length) {
    const first = ORDER.find((c) => c !== 'copyright' && slices.has(c));
    if (first) essentials.set(first, depSlices);
  }
  // a symlink into another of our slices: that slice too, unless it would close a loop
  const needs = (from: Category, to: Category, seen = new Set<Category>()): boolean => {
    if (from === to) return true;
    seen.add(from);
    for (const e of essentials.get(from) ?? []) {
      const c = e.startsWith(`${input.name}_`) ? (e.slice(input.name.length + 1) as Category) : undefined;
      if (c && slices.has(c) && !seen.has(c) && needs(c, to, seen)) return true;
    }
    return false;
  };
  for (const [from, tos] of linkNeeds)
    for (const to of [...tos].sort())
      if (slices.has(from) && slices.has(to) && !needs(from, to) && !needs(to, from))
        essentials.set(from, [...(essentials.get(from) ?? []), `${input.name}_${to}`]);
  return { slices, arch, essentials, essentialArch, unsliced, choose, skipped, claimed, leftOut };
}

/** The package's own slices that slice `c` takes, of those it has: bins its libs, config and data; libs its config and data. */
function ownNeeds(c: Category, has: (c: Category) => boolean): Category[] {
  const own: Category[] = c === 'bins' ? ['libs', 'config', 'data'] : c === 'libs' ? ['config', 'data'] : [];
  return own.filter(has);
}

const PLAIN = /^[A-Za-z0-9/._+*@~-]+$/;
const key = (s: string): string => (PLAIN.test(s) ? s : JSON.stringify(s));

const archMap = (a: string[] | undefined): string => (a ? ` {arch: [${a.join(', ')}]}` : '');

/** The proposal as a slice file in the v3 format (essentials as maps). */
export function scaffoldYaml(input: ScaffoldInput, p: Proposal): string {
  const lines = [
    `# Proposed by \`chisel-ts scaffold ${input.name}\` from ${input.name} ${input.version}.`,
    '# Review it: split big slices, drop what your image does not need, add',
    '# mutate scripts or arch-specific paths where the package needs them.',
  ];
  for (const n of input.notes ?? []) lines.push(`# ${n}`);
  if (p.leftOut) lines.push(`# ${p.leftOut} paths left out (documentation, man pages, init scripts and the like).`);
  if (p.claimed.length) lines.push(`# left out, shipped by another package's slices: ${p.claimed.join(', ')}`);
  lines.push(`package: ${key(input.name)}`, '');
  if (p.slices.has('copyright')) lines.push('essential:', `  ${input.name}_copyright:`, '');
  lines.push('slices:');
  const cats = [...p.slices.keys()];
  // the slice that takes the package's dependencies carries the notes about them
  const depsOn = cats.includes('libs') ? 'libs' : cats.includes('bins') ? 'bins' : cats.find((c) => c !== 'copyright');
  for (const [i, c] of cats.entries()) {
    lines.push(`  ${c}:`);
    const ess = p.essentials.get(c) ?? [];
    if (ess.length) {
      lines.push('    essential:');
      for (const e of ess) lines.push(`      ${key(e)}:${archMap(p.essentialArch.get(e))}`);
    }
    if (c === depsOn) {
      if (p.choose.length) lines.push(`    # also depends on one or more of: ${p.choose.join(', ')}`);
      if (p.unsliced.length)
        lines.push(
          `    # depends on ${p.unsliced.join(', ')}: no slices for ${p.unsliced.length === 1 ? 'it' : 'them'} in this release yet`,
        );
      for (const [d, why] of p.skipped) lines.push(`    # depends on ${d}: left out (${why})`);
    }
    lines.push('    contents:');
    for (const g of p.slices.get(c)!) lines.push(`      ${key(g)}:${archMap(p.arch.get(g))}`);
    if (i < cats.length - 1) lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
