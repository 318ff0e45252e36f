// A finished build -> the SBOM input: each package with its control fields,
// its licence (from its machine-readable copyright file, read from the content
// cache), the slices and the files it shipped; the distro from os-release.

import path from 'node:path';
import type { ContentStore } from '../cache/store.js';
import { parseControlParagraph } from '../deb/index.js';
import type { ArchBuild } from '../image/build.js';
import { VERSION } from '../version.js';
import { licenseFromCopyright } from './license.js';
import type { SbomInput, SbomPackage } from './model.js';

function osRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=("?)(.*)\2$/.exec(line.trim());
    if (m) out[m[1]!] = m[3]!;
  }
  return out;
}

async function distroOf(a: ArchBuild, store: ContentStore, releaseDir: string): Promise<SbomInput['distro']> {
  const byPath = new Map(a.tree.entries.map((e) => [e.path, e]));
  const file = byPath.get('/usr/lib/os-release') ?? byPath.get('/etc/os-release');
  if (file?.type === 'file') {
    const o = osRelease((await store.readContent(file.sha256!)).toString('utf8'));
    if (o.ID && o.VERSION_ID) return { id: o.ID, versionId: o.VERSION_ID, ...(o.VERSION_CODENAME ? { codename: o.VERSION_CODENAME } : {}) };
  }
  const m = /^([a-z]+)-(\d[\d.]*)$/.exec(path.basename(releaseDir));
  return m ? { id: m[1]!, versionId: m[2]! } : { id: 'debian', versionId: 'unknown' };
}

export async function sbomInput(opts: {
  archs: ArchBuild[];
  store: ContentStore;
  releaseDir: string;
  name: string;
  digest?: string;
  epoch: number;
}): Promise<SbomInput> {
  const packages: SbomPackage[] = [];
  for (const a of opts.archs) {
    const owned = new Map<string, Array<{ path: string; sha256?: string; size: number }>>();
    for (const n of a.cut.built.nodes.values()) {
      if (!n.package || !n.explicit || n.entry.type !== 'file') continue;
      const list = owned.get(n.package) ?? [];
      list.push({ path: n.entry.path, sha256: n.entry.sha256!, size: n.entry.size });
      owned.set(n.package, list);
    }
    for (const { pkg, listing } of a.cut.packages.values()) {
      const f = parseControlParagraph(listing.control, pkg.name);
      const src = /^(\S+)(?:\s+\(([^)]+)\))?$/.exec(f.get('Source') ?? '');
      const copyright = listing.entries.find((e) => e.path === `/usr/share/doc/${pkg.name}/copyright` && e.sha256);
      const lic = copyright ? licenseFromCopyright((await opts.store.readContent(copyright.sha256!)).toString('utf8')) : {};
      packages.push({
        name: pkg.name,
        version: pkg.version,
        arch: pkg.arch,
        archive: pkg.archive,
        sha256: pkg.sha256,
        ...(src ? { source: src[1]!, sourceVersion: src[2] ?? pkg.version } : {}),
        ...(f.get('Maintainer') ? { maintainer: f.get('Maintainer')! } : {}),
        ...(f.get('Homepage') ? { homepage: f.get('Homepage')! } : {}),
        ...(f.get('Description') ? { description: f.get('Description')!.split('\n')[0]! } : {}),
        ...(lic.license ? { license: lic.license } : {}),
        ...(lic.copyright ? { copyright: lic.copyright } : {}),
        slices: a.cut.selection.slices.filter((s) => s.package === pkg.name).map((s) => `${s.package}_${s.name}`),
        files: owned.get(pkg.name) ?? [],
      });
    }
  }
  return {
    name: opts.name,
    ...(opts.digest ? { digest: opts.digest } : {}),
    distro: await distroOf(opts.archs[0]!, opts.store, opts.releaseDir),
    archs: opts.archs.map((a) => a.arch),
    epoch: opts.epoch,
    toolVersion: VERSION,
    packages,
  };
}
