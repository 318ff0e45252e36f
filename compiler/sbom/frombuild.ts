// What a build cut (per arch: the tree and its packages, as plain data) -> the
// SBOM input: each package with its control fields, its licence (from its
// machine-readable copyright file, read from the content cache), the slices
// and the files it shipped; the distro from os-release.

import path from 'node:path';
import type { ContentStore } from '../cache/store.js';
import { parseControlParagraph } from '../deb/index.js';
import type { Tree } from '../tree/model.js';
import { VERSION } from '../version.js';
import { licenseFromCopyright } from './license.js';
import type { SbomInput, SbomLayer, SbomPackage } from './model.js';

function osRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=("?)(.*)\2$/.exec(line.trim());
    if (m) out[m[1]!] = m[3]!;
  }
  return out;
}

/** One arch of a build, as the SBOM needs it (compiler/build maps its result to it). */
export interface SbomArch {
  arch: string;
  tree: Tree;
  packages: Array<{
    name: string;
    version: string;
    arch: string;
    archive: string;
    sha256: string;
    /** Its control paragraph. */
    control: string;
    /** sha256 of its copyright file, when it has one. */
    copyright?: string;
    /** Its slices' names. */
    slices: string[];
    /** The paths it shipped. */
    shipped: Array<{ path: string; type: string; sha256?: string; size: number }>;
  }>;
}

async function distroOf(a: SbomArch, store: ContentStore, releaseDir: string): Promise<SbomInput['distro']> {
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
  archs: SbomArch[];
  store: ContentStore;
  releaseDir: string;
  name: string;
  digest?: string;
  layers?: SbomLayer[];
  epoch: number;
}): Promise<SbomInput> {
  const packages: SbomPackage[] = [];
  for (const a of opts.archs) {
    for (const pkg of a.packages) {
      const f = parseControlParagraph(pkg.control, pkg.name);
      const src = /^(\S+)(?:\s+\(([^)]+)\))?$/.exec(f.get('Source') ?? '');
      const lic = pkg.copyright ? licenseFromCopyright((await opts.store.readContent(pkg.copyright)).toString('utf8')) : {};
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
        slices: pkg.slices.map((s) => `${pkg.name}_${s}`),
        files: pkg.shipped.filter((p) => p.type === 'file').map((p) => ({ path: p.path, sha256: p.sha256!, size: p.size })),
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
    ...(opts.layers?.length ? { layers: opts.layers } : {}),
  };
}
