// Scaffolding many packages at once: the runtime-dependency closure of the
// packages asked for, ordered so that each package comes after the ones it
// depends on (its `essential` lists then name slices that exist), loops
// broken, the listings of several architectures merged (paths on some of
// them only get `arch:`), and no `dir/**` where another package has paths.

import type { Release } from '../release/model.js';
import { archIndependent, categoryOf, type KnownSlices, propose, releaseSlices, type ScaffoldEntry, scaffoldYaml } from './propose.js';

/** One package as one architecture's archive has it. */
export interface ArchListing {
  version: string;
  /** Depends and Pre-Depends, as in the control paragraph. */
  depends: string[];
  entries: Array<{ path: string; type: ScaffoldEntry['type']; mode?: number; link?: string }>;
}

/** Fetches a package for an architecture; undefined when that archive has no such package. */
export type FetchListing = (name: string, arch: string) => Promise<ArchListing | undefined>;

/**
 * Dependencies that only matter while dpkg installs a package (maintainer
 * scripts, triggers, configuration prompts): a cut runs none of them, so a
 * slice does not need them.
 */
export const INSTALL_TIME: ReadonlyMap<string, string> = new Map([
  ['debconf', 'maintainer scripts only'],
  ['debconf-2.0', 'maintainer scripts only'],
  ['cdebconf', 'maintainer scripts only'],
  ['dpkg', 'maintainer scripts only'],
  ['install-info', 'maintainer scripts only'],
  ['init-system-helpers', 'maintainer scripts only'],
  ['adduser', 'maintainer scripts only'],
  ['ucf', 'maintainer scripts only'],
  ['lsb-base', 'init scripts only'],
  ['sysvinit-utils', 'init scripts only'],
  ['systemd', 'service manager, not run in a cut'],
  ['systemd-sysv', 'service manager, not run in a cut'],
  ['libpam-systemd', 'service manager, not run in a cut'],
  ['dbus', 'service, not run in a cut'],
  ['usrmerge', 'merged /usr is in base-files'],
  ['usr-is-merged', 'merged /usr is in base-files'],
  ['libc-bin', 'ldconfig and locale tools, run by maintainer scripts'],
  ['debianutils', 'maintainer scripts only (add-shell, run-parts)'],
  ['dpkg-dev', 'build tool'],
  ['sensible-utils', 'interactive helpers'],
  ['procps', 'maintainer scripts only'],
  ['passwd', 'maintainer scripts only (users and groups are made with base-passwd)'],
  ['login', 'interactive login'],
  ['openssl-provider-legacy', 'optional provider'],
]);

export interface BatchPackage {
  name: string;
  version: string;
  /** Per architecture scaffolded: its listing (absent where the archive has no such package). */
  perArch: Map<string, ArchListing>;
}

export interface BatchOptions {
  release: Release;
  /** Architectures to merge, the first one the reference. */
  archs: string[];
  fetch: FetchListing;
  /** Also take every runtime dependency (Depends, Pre-Depends) of what is asked, and of the release's packages. */
  deps: boolean;
  /** Packages never scaffolded (another file owns them); a dependency on one is noted. */
  exclude?: ReadonlySet<string>;
  /** Parallel fetches. */
  concurrency?: number;
  onProgress?: (msg: string) => void;
}

export interface BatchFile {
  name: string;
  version: string;
  yaml: string;
  slices: string[];
}

export interface BatchResult {
  /** In dependency order. */
  files: BatchFile[];
  /** Names no scaffolded architecture has. */
  missing: string[];
  /** Names the release has slices for already (left as they are). */
  existing: string[];
  /** Packages with nothing to slice (only documentation): no file written. */
  empty: string[];
}

/** Depends-style fields as clauses of alternatives: package names without versions or arch qualifiers. */
export function dependencyClauses(fields: string[]): string[][] {
  const out: string[][] = [];
  for (const f of fields)
    for (const clause of f.split(',')) {
      const alts = clause
        .split('|')
        .map((a) => /^\s*([a-z0-9][a-z0-9+.-]*)/.exec(a)?.[1])
        .filter((a): a is string => a !== undefined);
      if (alts.length) out.push(alts);
    }
  return out;
}

const componentRe = (c: string): RegExp =>
  new RegExp(
    `^${c
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replaceAll('*', '[^/]*')
      .replaceAll('?', '[^/]')}$`,
  );

/** A glob as a regular expression over whole paths (`**` any depth, `*` and `?` within a name). */
export function globRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Whether a glob of the release can match `dir` or a path under it (dir written as scaffold writes paths, `*-linux-*` and all). */
export function globReaches(glob: string, dir: string): boolean {
  const g = glob.split('/');
  const d = dir.split('/');
  for (let i = 0; i < d.length; i++) {
    if (i >= g.length) return false;
    if (g[i]!.includes('**')) return true;
    if (g[i] === d[i]) continue;
    if (!/[*?]/.test(g[i]!) || !componentRe(g[i]!).test(d[i]!)) return false;
  }
  return true;
}

async function mapLimit<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** Scaffolds `names` (and, with `deps`, their runtime-dependency closure) into slice files, in dependency order. */
export async function scaffoldBatch(names: string[], opts: BatchOptions): Promise<BatchResult> {
  const { release, archs } = opts;
  const got = new Map<string, BatchPackage | null>();
  const fetchOne = async (name: string): Promise<BatchPackage | null> => {
    if (opts.exclude?.has(name)) return null;
    const perArch = new Map<string, ArchListing>();
    for (const a of archs) {
      const l = await opts.fetch(name, a);
      if (l) perArch.set(a, l);
    }
    const first = [...perArch.values()][0];
    return first ? { name, version: first.version, perArch } : null;
  };
  // breadth-first over the dependency graph, a level at a time (each level fetched in parallel)
  let level = [...new Set(names)];
  if (opts.deps) level = [...new Set([...level, ...release.packages.keys()])];
  while (level.length) {
    const todo = level.filter((n) => !got.has(n));
    for (const n of todo) got.set(n, null);
    opts.onProgress?.(`fetching ${todo.length} packages (${got.size} so far)`);
    const fetched = await mapLimit(todo, opts.concurrency ?? 6, fetchOne);
    for (const [i, n] of todo.entries()) got.set(n, fetched[i]!);
    if (!opts.deps) break;
    const nextLevel = new Set<string>();
    for (const p of fetched) {
      if (!p) continue;
      for (const l of p.perArch.values())
        for (const alts of dependencyClauses(l.depends)) {
          if (alts.some((a) => INSTALL_TIME.has(a))) continue;
          // an alternative already at hand, else the first one
          const pick = alts.find((a) => got.get(a) || release.packages.has(a)) ?? alts.find((a) => !got.has(a) || got.get(a));
          if (pick && !got.has(pick)) nextLevel.add(pick);
        }
    }
    level = [...nextLevel];
  }

  const present = (n: string) => Boolean(got.get(n)) || release.packages.has(n);
  /** Per package: its dependencies (one name per clause) and the architectures each holds on (undefined: all). */
  const depsOf = new Map<string, Map<string, string[] | undefined>>();
  for (const [n, p] of got) {
    if (!p) continue;
    const m = new Map<string, string[] | undefined>();
    for (const [a, l] of p.perArch)
      for (const alts of dependencyClauses(l.depends)) {
        const pick = alts.find((x) => INSTALL_TIME.has(x)) ?? alts.find(present) ?? alts[0]!;
        m.set(pick, [...(m.get(pick) ?? []), a]);
      }
    for (const [d, as] of m) m.set(d, as!.length === p.perArch.size ? undefined : as);
    depsOf.set(n, m);
  }

  // dependency order: depth first, a package after its dependencies; an edge back into the path is a loop, left out
  const order: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const loops = new Map<string, Map<string, string>>();
  const visit = (n: string, via: string[]) => {
    state.set(n, 'open');
    for (const d of [...(depsOf.get(n)?.keys() ?? [])].sort()) {
      if (!got.get(d) || release.packages.has(d) || INSTALL_TIME.has(d)) continue;
      if (state.get(d) === 'open') {
        const m = loops.get(n) ?? new Map<string, string>();
        m.set(d, `a loop: ${[...via.slice(via.indexOf(d)), n, d].join(' -> ')}`);
        loops.set(n, m);
        continue;
      }
      if (!state.has(d)) visit(d, [...via, n]);
    }
    state.set(n, 'done');
    order.push(n);
  };
  const wanted = [...got.keys()].filter((n) => got.get(n) && !release.packages.has(n)).sort();
  for (const n of wanted) if (!state.has(n)) visit(n, []);

  // who has paths where: directories shared by packages are never collapsed; a path is shipped by one package
  const owners = new Map<string, Set<string>>();
  const own = (dir: string, pkg: string) => {
    const s = owners.get(dir) ?? new Set<string>();
    s.add(pkg);
    owners.set(dir, s);
  };
  const addAncestors = (p: string, pkg: string) => {
    for (let i = p.indexOf('/', 1); i > 0; i = p.indexOf('/', i + 1)) own(p.slice(0, i), pkg);
    own(p, pkg);
  };
  const shippedBy = new Map<string, string>();
  const releaseGlobs: Array<[string, string]> = [];
  const releaseRes: Array<{ prefix: string; re: RegExp; by: string }> = [];
  for (const [name, def] of release.packages)
    for (const s of def.slices.values())
      for (const p of s.contents.keys()) {
        const clean = p.endsWith('/') ? p.slice(0, -1) : p;
        if (/[*?]/.test(clean.replaceAll('*-linux-*', '').replace(/java-[0-9]+-openjdk-\*/, ''))) releaseGlobs.push([clean, name]);
        else {
          addAncestors(clean, name);
          shippedBy.set(clean, name);
        }
      }
  for (const [g, by] of releaseGlobs) {
    const lit = g.replaceAll('*-linux-*', '\0');
    const i = lit.search(/[*?]/);
    releaseRes.push({ prefix: (i < 0 ? lit : lit.slice(0, i)).split('\0')[0]!, re: globRegex(g), by });
  }
  for (const n of order)
    for (const l of got.get(n)!.perArch.values())
      for (const e of l.entries) if (e.type !== 'dir' && categoryOf(n, e.path, e.mode, e.type)) addAncestors(archIndependent(e.path, n), n);

  const written = new Map<string, string[]>();
  const base = releaseSlices(release);
  const known: KnownSlices = (pkg) => written.get(pkg) ?? base(pkg);
  const result: BatchResult = { files: [], missing: [], existing: [], empty: [] };
  for (const n of names) {
    if (release.packages.has(n)) result.existing.push(n);
    else if (!got.get(n) && !opts.exclude?.has(n)) result.missing.push(n);
  }
  for (const n of order) {
    const p = got.get(n)!;
    // the listings of all architectures, a path marked with those that have it
    const where = new Map<string, { type: ScaffoldEntry['type']; arch: string[]; mode?: number; link?: string }>();
    for (const [a, l] of p.perArch)
      for (const e of l.entries) {
        const k = archIndependent(e.path, n);
        const w = where.get(k) ?? {
          type: e.type,
          arch: [],
          ...(e.mode !== undefined ? { mode: e.mode } : {}),
          ...(e.link !== undefined ? { link: e.link } : {}),
        };
        w.arch.push(a);
        where.set(k, w);
      }
    const entries: ScaffoldEntry[] = [...where].map(([path, w]) => ({
      path,
      type: w.type,
      ...(w.mode !== undefined ? { mode: w.mode } : {}),
      ...(w.link !== undefined ? { link: w.link } : {}),
      ...(w.arch.length < p.perArch.size ? { arch: w.arch.sort() } : {}),
    }));
    const deps = depsOf.get(n)!;
    const skip = new Map<string, string>();
    for (const d of deps.keys()) {
      const why = INSTALL_TIME.get(d) ?? loops.get(n)?.get(d);
      if (why) skip.set(d, why);
    }
    const depArch = new Map<string, string[]>();
    for (const [d, as] of deps) if (as) depArch.set(d, as);
    const input = {
      name: n,
      version: p.version,
      depends: [[...deps.keys()].join(', ')],
      entries,
      release,
      known,
      shared: (dir: string) => (owners.get(dir)?.size ?? 0) > 1 || releaseGlobs.some(([g, by]) => by !== n && globReaches(g, dir)),
      claimed: (path: string) => {
        const by = shippedBy.get(path);
        if (by !== undefined && by !== n) return true;
        return releaseRes.some((g) => g.by !== n && path.startsWith(g.prefix) && g.re.test(path));
      },
      skip,
      depArch,
      notes:
        p.perArch.size < archs.length
          ? [
              `Only the ${[...p.perArch.keys()].join(', ')} archive${p.perArch.size > 1 ? 's have' : ' has'} this package (of ${archs.join(', ')}).`,
            ]
          : [],
    };
    const proposal = propose(input);
    const slices = [...proposal.slices.keys()];
    if (slices.length === 0) {
      result.empty.push(n);
      continue;
    }
    for (const globs of proposal.slices.values()) for (const g of globs) if (!shippedBy.has(g)) shippedBy.set(g, n);
    written.set(n, slices);
    result.files.push({ name: n, version: p.version, yaml: scaffoldYaml(input, proposal), slices });
  }
  return result;
}
