// Package URLs of Debian packages, per the purl spec's "deb" type:
// pkg:deb/<distro id>/<name>@<version>?arch=<arch>&distro=<id>-<versionId>[&upstream=<source>]

import type { SbomInput, SbomPackage } from './model.js';

/** Percent-encoding of a purl component: everything but unreserved characters (":" → %3A, "+" → %2B). */
function enc(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function debPurl(p: Pick<SbomPackage, 'name' | 'version' | 'arch' | 'source'>, distro: SbomInput['distro']): string {
  const ns = distro.id.toLowerCase();
  const qualifiers: Record<string, string> = {
    arch: p.arch,
    distro: `${ns}-${distro.versionId}`,
  };
  if (p.source && p.source !== p.name) qualifiers.upstream = p.source;
  const q = Object.keys(qualifiers)
    .sort()
    .map((k) => `${k}=${enc(qualifiers[k]!)}`)
    .join('&');
  return `pkg:deb/${enc(ns)}/${enc(p.name.toLowerCase())}@${enc(p.version)}?${q}`;
}
