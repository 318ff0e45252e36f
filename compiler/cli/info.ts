// chisel-ts info: show slice definitions as YAML, like Chisel's info.

import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadRelease, resolveReleaseDir } from '../release/index.js';
import type { PathInfo, Release, SliceDef } from '../release/model.js';
import { parseSliceKey } from '../release/model.js';
import { ChiselError } from '../util/errors.js';
import { addCacheOption, addReleaseOption, releaseCacheDir } from './common.js';

export function register(program: Command): void {
  addCacheOption(addReleaseOption(program.command('info')))
    .description('show the definitions of packages or slices as YAML')
    .argument('<pkg|pkg_slice...>', 'packages or slices')
    .option('--json', 'print JSON instead of YAML')
    .action(async (queries: string[], flags: { release?: string; json?: boolean; cacheDir?: string }) => {
      const release = await loadRelease(resolveReleaseDir(flags.release), { cacheDir: releaseCacheDir(flags) });
      const docs = infoDocs(release, queries);
      if (flags.json) process.stdout.write(`${JSON.stringify(docs, null, 2)}\n`);
      else process.stdout.write(docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n'));
    });
}

export function infoDocs(release: Release, queries: string[]): Array<Record<string, unknown>> {
  const wanted = new Map<string, Set<string> | 'all'>();
  for (const q of queries) {
    const ref = parseSliceKey(q);
    const pkgName = ref ? ref.package : q;
    const pkg = release.packages.get(pkgName);
    if (!pkg || (ref && !pkg.slices.has(ref.slice))) {
      throw new ChiselError(`no ${ref ? 'slice' : 'package'} "${q}" in release ${release.dir}`, {
        code: 'not-found',
        hint: `run "chisel-ts find ${pkgName}"`,
      });
    }
    const cur = wanted.get(pkgName);
    if (!ref) wanted.set(pkgName, 'all');
    else if (cur !== 'all') wanted.set(pkgName, new Set([...(cur ?? []), ref.slice]));
  }
  const docs: Array<Record<string, unknown>> = [];
  for (const name of [...wanted.keys()].sort()) {
    const pkg = release.packages.get(name)!;
    const w = wanted.get(name)!;
    const slices: Record<string, unknown> = {};
    for (const s of [...pkg.slices.values()].sort((a, b) => (a.name < b.name ? -1 : 1)))
      if (w === 'all' || w.has(s.name)) slices[s.name] = sliceDoc(s);
    docs.push({ package: pkg.name, ...(pkg.archive ? { archive: pkg.archive } : {}), slices });
  }
  return docs;
}

function sliceDoc(s: SliceDef): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  if (s.hint) doc.hint = s.hint;
  if (s.essential.length) doc.essential = s.essential.map((e) => e.slice);
  if (s.contents.size) {
    const contents: Record<string, unknown> = {};
    for (const [p, i] of s.contents) contents[p] = pathDoc(i);
    doc.contents = contents;
  }
  if (s.mutate) doc.mutate = s.mutate;
  if (s.keystores?.length)
    doc.keystores = Object.fromEntries(
      s.keystores.map((k) => [k.path, { certificates: k.certificates, ...(k.password !== 'changeit' ? { password: k.password } : {}) }]),
    );
  return doc;
}

function pathDoc(i: PathInfo): Record<string, unknown> | null {
  const d: Record<string, unknown> = {};
  if (i.kind === 'copy' && i.info) d.copy = i.info;
  if (i.kind === 'dir') d.make = true;
  if (i.kind === 'text') d.text = i.info;
  if (i.kind === 'symlink') d.symlink = i.info;
  if (i.kind === 'generate') d.generate = i.info;
  if (i.mode !== undefined) d.mode = `0${i.mode.toString(8)}`;
  if (i.mutable) d.mutable = true;
  if (i.until) d.until = i.until;
  if (i.arch) d.arch = i.arch.length === 1 ? i.arch[0] : i.arch;
  if (i.prefer) d.prefer = i.prefer;
  if (i.uid !== undefined) d.uid = i.uid;
  if (i.gid !== undefined) d.gid = i.gid;
  return Object.keys(d).length ? d : null;
}
