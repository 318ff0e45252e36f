// Selection: the requested slices plus their transitive essentials, filtered
// by architecture, ordered dependencies first. A pure function of the release.

import { ChiselError } from '../util/errors.js';
import { parseSliceKey, sliceKey, type Release, type SliceDef } from '../release/model.js';

export interface Selection {
  release: Release;
  arch: string;
  /** Every selected slice, dependencies before dependents, ties broken by name. */
  slices: SliceDef[];
  /** Why each slice is selected: the slice (or "requested"/set name) that pulled it in. */
  reasons: Map<string, string>;
}

/** Expand set names (chisel-ts `sets:` extension) into slice keys. */
function expandRequest(release: Release, requested: string[]): Array<{ key: string; reason: string }> {
  const out: Array<{ key: string; reason: string }> = [];
  const seen = new Set<string>();
  const visit = (name: string, reason: string, stack: string[]): void => {
    if (parseSliceKey(name)) {
      out.push({ key: name, reason });
      return;
    }
    const members = release.sets?.get(name);
    if (!members) {
      throw new ChiselError(`"${name}" is neither a slice (package_slice) nor a set of release ${release.dir}`, {
        code: 'unknown-slice',
        hint: `run "chisel-ts find ${name}" to search the release's slices${release.sets?.size ? `; sets: ${[...release.sets.keys()].sort().join(', ')}` : ''}`,
      });
    }
    if (stack.includes(name)) throw new ChiselError(`set loop: ${[...stack, name].join(' -> ')}`, { code: 'set-loop' });
    if (seen.has(name)) return;
    seen.add(name);
    for (const m of members) visit(m, `set ${name}`, [...stack, name]);
  };
  for (const r of requested) visit(r, 'requested', []);
  return out;
}

function lookup(release: Release, key: string, from: string): SliceDef {
  const ref = parseSliceKey(key);
  const slice = ref && release.packages.get(ref.package)?.slices.get(ref.slice);
  if (!ref || !slice) {
    const pkg = ref && release.packages.get(ref.package);
    throw new ChiselError(`slice ${key} not found${from === 'requested' ? '' : ` (needed by ${from})`}`, {
      code: 'unknown-slice',
      hint: pkg
        ? `package ${pkg.name} has slices: ${[...pkg.slices.keys()].sort().join(', ')}`
        : `no package "${ref?.package ?? key}" in release ${release.dir}; run "chisel-ts find ${ref?.package ?? key}"`,
    });
  }
  return slice;
}

/** Essentials of a slice that apply on `arch`: package-level ones first, then the slice's own. */
export function essentialsOf(release: Release, slice: SliceDef, arch: string): string[] {
  const pkg = release.packages.get(slice.package);
  const refs = [...(pkg?.essential ?? []), ...slice.essential];
  const self = sliceKey(slice.package, slice.name);
  const out: string[] = [];
  for (const r of refs) {
    if (r.slice === self) continue;
    if (r.arch && !r.arch.includes(arch)) continue;
    if (!out.includes(r.slice)) out.push(r.slice);
  }
  return out;
}

export function select(release: Release, requested: string[], arch: string): Selection {
  if (requested.length === 0)
    throw new ChiselError('no slices requested', {
      code: 'usage',
      hint: 'name at least one slice, e.g. "chisel-ts cut --root out libc6_libs"',
      exitCode: 2,
    });
  const reasons = new Map<string, string>();
  const byKey = new Map<string, SliceDef>();
  const queue = expandRequest(release, requested);
  while (queue.length > 0) {
    const { key, reason } = queue.shift()!;
    if (byKey.has(key)) continue;
    const slice = lookup(release, key, reason);
    byKey.set(key, slice);
    reasons.set(key, reason);
    for (const dep of essentialsOf(release, slice, arch)) queue.push({ key: dep, reason: key });
  }
  // Topological order, dependencies first; among ready slices the smallest name first,
  // so the order does not depend on the order of the request.
  const keys = [...byKey.keys()].sort();
  const deps = new Map(keys.map((k) => [k, essentialsOf(release, byKey.get(k)!, arch)]));
  const done = new Set<string>();
  const ordered: SliceDef[] = [];
  while (ordered.length < keys.length) {
    const ready = keys.find((k) => !done.has(k) && deps.get(k)!.every((d) => done.has(d)));
    if (!ready) {
      const left = keys.filter((k) => !done.has(k));
      throw new ChiselError(`essential loop among ${left.join(', ')}`, { code: 'essential-loop' });
    }
    done.add(ready);
    ordered.push(byKey.get(ready)!);
  }
  return { release, arch, slices: ordered, reasons };
}

/** Names of the packages the selection needs, sorted. */
export function selectedPackages(sel: Selection): string[] {
  return [...new Set(sel.slices.map((s) => s.package))].sort();
}
