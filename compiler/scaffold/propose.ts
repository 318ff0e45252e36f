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
}

export interface ScaffoldInput {
  name: string;
  version: string;
  /** Depends and Pre-Depends, as in the control paragraph. */
  depends: string[];
  entries: ScaffoldEntry[];
  release: Release;
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

/** The path with its multiarch directory written as *-linux-*. */
export function archIndependent(p: string): string {
  return p.replace(TRIPLET, '/*-linux-*');
}

export function categoryOf(pkg: string, p: string): Category | undefined {
  if (p === `/usr/share/doc/${pkg}/copyright`) return 'copyright';
  if (LEFT_OUT.some((r) => r.test(p))) return undefined;
  if (/^\/(usr\/)?s?bin\//.test(p) || /^\/usr\/libexec\//.test(p)) return 'bins';
  if (p.startsWith('/etc/')) return 'config';
  if (/^\/(usr\/)?lib(32|64|x32)?\/[^/]*-linux-[^/]*\//.test(p) || /^\/(usr\/)?lib\/[^/]+\.so(\.[0-9.]+)?$/.test(p)) return 'libs';
  return 'data';
}

/** Shipped paths (no directories) -> their globs: a directory deep enough with COLLAPSE_AT paths or more is one `dir/**`. */
export function collapse(paths: string[]): string[] {
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
      if (i - 1 >= minDepth(dir) && (counts.get(dir) ?? 0) >= COLLAPSE_AT) {
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
  /** Essentials per slice (slice keys of this or other packages). */
  essentials: Map<Category, string[]>;
  /** Dependencies the release has no slice for (noted in the YAML). */
  unsliced: string[];
  /** Dependencies with several slices, none obviously the one: their slice keys (noted in the YAML). */
  choose: string[];
  /** Paths left out (docs, man pages, ...). */
  leftOut: number;
}

/** The slice a dependency offers to ours: its libs, else its only slice besides copyright. */
function sliceFor(release: Release, dep: string): string | undefined {
  const p = release.packages.get(dep);
  if (!p) return undefined;
  if (p.slices.has('libs')) return `${dep}_libs`;
  const others = [...p.slices.keys()].filter((s) => s !== 'copyright');
  return others.length === 1 ? `${dep}_${others[0]}` : undefined;
}

export function propose(input: ScaffoldInput): Proposal {
  const by = new Map<Category, string[]>();
  let leftOut = 0;
  for (const e of input.entries) {
    if (e.type === 'dir') continue;
    const c = categoryOf(input.name, e.path);
    if (!c) {
      leftOut++;
      continue;
    }
    by.set(c, [...(by.get(c) ?? []), archIndependent(e.path)]);
  }
  const slices = new Map<Category, string[]>();
  for (const c of ORDER) if (by.has(c)) slices.set(c, c === 'copyright' ? by.get(c)! : collapse(by.get(c)!));

  const deps = dependencyNames(input.depends).filter((d) => d !== input.name);
  const depSlices = deps.map((d) => sliceFor(input.release, d)).filter((s): s is string => s !== undefined);
  const unsliced = deps.filter((d) => !input.release.packages.has(d));
  const choose = deps
    .filter((d) => input.release.packages.has(d) && !sliceFor(input.release, d))
    .flatMap((d) => [...input.release.packages.get(d)!.slices.keys()].filter((s) => s !== 'copyright').map((s) => `${d}_${s}`));
  const essentials = new Map<Category, string[]>();
  const own = (c: Category) => (slices.has(c) ? [`${input.name}_${c}`] : []);
  if (slices.has('libs')) essentials.set('libs', [...own('config'), ...own('data'), ...depSlices]);
  if (slices.has('bins'))
    essentials.set('bins', [...own('libs'), ...own('config'), ...own('data'), ...(slices.has('libs') ? [] : depSlices)]);
  return { slices, essentials, unsliced, choose, leftOut };
}

const PLAIN = /^[A-Za-z0-9/._+*@~-]+$/;
const key = (s: string): string => (PLAIN.test(s) ? s : JSON.stringify(s));

/** The proposal as a slice file in the v3 format (essentials as maps). */
export function scaffoldYaml(input: ScaffoldInput, p: Proposal): string {
  const lines = [
    `# Proposed by \`chisel-ts scaffold ${input.name}\` from ${input.name} ${input.version}.`,
    '# Review it: split big slices, drop what your image does not need, add',
    '# mutate scripts or arch-specific paths where the package needs them.',
  ];
  if (p.leftOut) lines.push(`# ${p.leftOut} paths left out (documentation, man pages, init scripts and the like).`);
  lines.push(`package: ${key(input.name)}`, '');
  if (p.slices.has('copyright')) lines.push('essential:', `  ${input.name}_copyright:`, '');
  lines.push('slices:');
  const cats = [...p.slices.keys()];
  for (const [i, c] of cats.entries()) {
    lines.push(`  ${c}:`);
    const ess = p.essentials.get(c) ?? [];
    if (ess.length) {
      lines.push('    essential:');
      for (const e of ess) lines.push(`      ${key(e)}:`);
    }
    if (c === 'libs' || (c === 'bins' && !p.slices.has('libs'))) {
      if (p.choose.length) lines.push(`    # also depends on one or more of: ${p.choose.join(', ')}`);
      if (p.unsliced.length)
        lines.push(
          `    # depends on ${p.unsliced.join(', ')}: no slices for ${p.unsliced.length === 1 ? 'it' : 'them'} in this release yet`,
        );
    }
    lines.push('    contents:');
    for (const g of p.slices.get(c)!) lines.push(`      ${key(g)}:`);
    if (i < cats.length - 1) lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
