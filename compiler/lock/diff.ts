// What changed between two lockfiles, for a pull-request review: packages
// added / removed / upgraded (with, once compiler/changelog has read them,
// the changelog entries, urgency and CVEs of each upgrade), slices,
// per-package contents, sizes, outputs; as text, a markdown table or JSON.

import type { ChangelogEntry } from '../changelog/index.js';
import type { Lockfile, LockPackage } from './lockfile.js';

/** A package whose version or .deb changed. */
export interface ChangedPackage {
  name: string;
  arch: string;
  from: string;
  to: string;
  /** What it puts in the root, old and new (bytes of files). */
  bytes: [number, number];
  /** Filled in from the new package's changelog: the package it was read from, or "none". */
  changelog?: string;
  entries?: ChangelogEntry[];
  urgency?: string;
  cves?: string[];
}

export interface LockDiff {
  inputs: string[];
  packages: {
    added: Array<{ name: string; arch: string; version: string }>;
    removed: Array<{ name: string; arch: string; version: string }>;
    changed: ChangedPackage[];
  };
  slices: { added: string[]; removed: string[] };
  /** Packages whose contents differ (files, bytes). */
  contents: Array<{ name: string; arch: string; files: [number, number]; bytes: [number, number] }>;
  bytes: [number, number];
  outputs: { image: [string, string] | undefined; archs: Record<string, { rootfs?: [string, string]; manifest?: [string, string] }> };
  same: boolean;
}

const key = (p: LockPackage) => `${p.name}:${p.arch}`;

export function diffLocks(a: Lockfile, b: Lockfile): LockDiff {
  const pa = new Map(a.packages.map((p) => [key(p), p]));
  const pb = new Map(b.packages.map((p) => [key(p), p]));
  const d: LockDiff = {
    inputs: [],
    packages: { added: [], removed: [], changed: [] },
    slices: { added: [], removed: [] },
    contents: [],
    bytes: [sum(a.packages), sum(b.packages)],
    outputs: { image: a.outputs.image === b.outputs.image ? undefined : [a.outputs.image, b.outputs.image], archs: {} },
    same: false,
  };
  if (a.inputs.release.digest !== b.inputs.release.digest) d.inputs.push(`release ${b.inputs.release.name} definitions changed`);
  if (a.inputs.slices.join() !== b.inputs.slices.join())
    d.inputs.push(`requested slices: ${a.inputs.slices.join(' ')} -> ${b.inputs.slices.join(' ')}`);
  if (a.inputs.archs.join() !== b.inputs.archs.join()) d.inputs.push(`archs: ${a.inputs.archs.join(',')} -> ${b.inputs.archs.join(',')}`);
  if (JSON.stringify(a.inputs.image) !== JSON.stringify(b.inputs.image)) d.inputs.push('image configuration changed');
  if (a.inputs.sourceDateEpoch !== b.inputs.sourceDateEpoch)
    d.inputs.push(`SOURCE_DATE_EPOCH: ${a.inputs.sourceDateEpoch} -> ${b.inputs.sourceDateEpoch}`);
  for (const [k, p] of pb) {
    const old = pa.get(k);
    if (!old) d.packages.added.push({ name: p.name, arch: p.arch, version: p.version });
    else if (old.version !== p.version || old.sha256 !== p.sha256)
      d.packages.changed.push({
        name: p.name,
        arch: p.arch,
        from: old.version,
        to: p.version,
        bytes: [old.contents.bytes, p.contents.bytes],
      });
    if (old && old.contents.digest !== p.contents.digest)
      d.contents.push({
        name: p.name,
        arch: p.arch,
        files: [old.contents.files, p.contents.files],
        bytes: [old.contents.bytes, p.contents.bytes],
      });
  }
  for (const [k, p] of pa) if (!pb.has(k)) d.packages.removed.push({ name: p.name, arch: p.arch, version: p.version });
  const slices = (l: Lockfile) => new Set(l.packages.flatMap((p) => p.slices.map((s) => `${p.name}_${s}`)));
  const sa = slices(a);
  const sb = slices(b);
  d.slices.added = [...sb].filter((s) => !sa.has(s)).sort();
  d.slices.removed = [...sa].filter((s) => !sb.has(s)).sort();
  for (const arch of new Set([...Object.keys(a.outputs.archs), ...Object.keys(b.outputs.archs)])) {
    const x = a.outputs.archs[arch];
    const y = b.outputs.archs[arch];
    const e: { rootfs?: [string, string]; manifest?: [string, string] } = {};
    if (x?.rootfs !== y?.rootfs) e.rootfs = [x?.rootfs ?? '-', y?.rootfs ?? '-'];
    if (x?.manifest !== y?.manifest) e.manifest = [x?.manifest ?? '-', y?.manifest ?? '-'];
    if (e.rootfs || e.manifest) d.outputs.archs[arch] = e;
  }
  d.same =
    !d.inputs.length &&
    !d.packages.added.length &&
    !d.packages.removed.length &&
    !d.packages.changed.length &&
    !d.contents.length &&
    !d.outputs.image &&
    !Object.keys(d.outputs.archs).length;
  return d;
}

function sum(ps: LockPackage[]): number {
  return ps.reduce((n, p) => n + p.contents.bytes, 0);
}

function size(n: number): string {
  const sign = n < 0 ? '-' : '+';
  const a = Math.abs(n);
  return a >= 1048576 ? `${sign}${(a / 1048576).toFixed(1)} MiB` : a >= 1024 ? `${sign}${(a / 1024).toFixed(1)} KiB` : `${sign}${a} B`;
}

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

export function formatLockDiff(d: LockDiff): string {
  if (d.same) return 'no changes\n';
  const out: string[] = [];
  for (const i of d.inputs) out.push(`input: ${i}`);
  for (const p of d.packages.changed) {
    out.push(`~ ${p.name} (${p.arch}) ${p.from} -> ${p.to}${p.urgency ? ` [urgency ${p.urgency}]` : ''}`);
    if (p.changelog === 'none') out.push('    (no changelog in the package)');
    for (const e of p.entries ?? [])
      out.push(`    ${e.version} ${e.distributions.join(' ')}; urgency=${e.urgency}${e.cves.length ? `: ${e.cves.join(' ')}` : ''}`);
  }
  for (const p of d.packages.added) out.push(`+ ${p.name} (${p.arch}) ${p.version}`);
  for (const p of d.packages.removed) out.push(`- ${p.name} (${p.arch}) ${p.version}`);
  for (const s of d.slices.added) out.push(`+ slice ${s}`);
  for (const s of d.slices.removed) out.push(`- slice ${s}`);
  for (const c of d.contents) {
    const files = c.files[1] - c.files[0];
    out.push(
      `  contents of ${c.name} (${c.arch}) changed: ${c.files[1]} files (${files >= 0 ? '+' : ''}${files}), ${size(c.bytes[1] - c.bytes[0])}`,
    );
  }
  out.push(`size: ${(d.bytes[0] / 1048576).toFixed(1)} MiB -> ${(d.bytes[1] / 1048576).toFixed(1)} MiB (${size(d.bytes[1] - d.bytes[0])})`);
  for (const [arch, e] of Object.entries(d.outputs.archs)) {
    if (e.rootfs) out.push(`${arch} rootfs: ${short(e.rootfs[0])} -> ${short(e.rootfs[1])}`);
    if (e.manifest) out.push(`${arch} manifest: ${short(e.manifest[0])} -> ${short(e.manifest[1])}`);
  }
  if (d.outputs.image) out.push(`image: ${d.outputs.image[0]} -> ${d.outputs.image[1]}`);
  return `${out.join('\n')}\n`;
}

/**
 * The diff as a pull-request comment: a table of the changed packages
 * (package, old -> new, urgency, CVEs, size change), then the added and
 * removed ones, the total size and the image digest.
 */
export function markdownLockDiff(d: LockDiff): string {
  if (d.same) return 'No changes to the lockfile.\n';
  const out: string[] = [];
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  if (d.packages.changed.length) {
    const cves = new Set(d.packages.changed.flatMap((p) => p.cves ?? []));
    out.push(
      `**${d.packages.changed.length} package${d.packages.changed.length === 1 ? '' : 's'} updated${cves.size ? `, fixing ${cves.size} CVE${cves.size === 1 ? '' : 's'}` : ''}**`,
      '',
      '| package | old → new | urgency | CVEs | size change |',
      '| --- | --- | --- | --- | ---: |',
    );
    for (const p of d.packages.changed) {
      const urgency = p.changelog === 'none' ? 'no changelog' : (p.urgency ?? '-');
      out.push(
        `| ${cell(p.name)} (${p.arch}) | ${cell(p.from)} → ${cell(p.to)} | ${urgency} | ${p.cves?.length ? p.cves.join(', ') : '-'} | ${size(p.bytes[1] - p.bytes[0])} |`,
      );
    }
    out.push('');
  }
  for (const p of d.packages.added) out.push(`* added: ${p.name} (${p.arch}) ${p.version}`);
  for (const p of d.packages.removed) out.push(`* removed: ${p.name} (${p.arch}) ${p.version}`);
  for (const i of d.inputs) out.push(`* input: ${i}`);
  if (d.packages.added.length || d.packages.removed.length || d.inputs.length) out.push('');
  out.push(`Size: ${(d.bytes[0] / 1048576).toFixed(1)} MiB → ${(d.bytes[1] / 1048576).toFixed(1)} MiB (${size(d.bytes[1] - d.bytes[0])})`);
  if (d.outputs.image) out.push('', `Image: \`${d.outputs.image[0]}\` → \`${d.outputs.image[1]}\``);
  return `${out.join('\n')}\n`;
}
