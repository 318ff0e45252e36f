// SPDX 2.3 JSON document of an image or root filesystem: one package for the
// image, one per Debian package it was cut from. Deterministic: the namespace
// derives from the content, the timestamp from SOURCE_DATE_EPOCH.

import { contentDigest, isoTimestamp, layerLines, parseMaintainer, sortedPackages, type SbomInput, type SbomPackage } from './model.js';
import { debPurl } from './purl.js';

const NOASSERTION = 'NOASSERTION';

const spdxId = (s: string): string => s.replace(/[^A-Za-z0-9.-]/g, '-');

/** SPDXRef-Package-deb-<name>-<arch>, made unique should sanitising collide. */
function packageIds(pkgs: SbomPackage[]): string[] {
  const used = new Set<string>();
  return pkgs.map((p) => {
    const base = `SPDXRef-Package-deb-${spdxId(p.name)}-${spdxId(p.arch)}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
    used.add(id);
    return id;
  });
}

/** "Organization: Name (email)", the SPDX form of a Maintainer field. */
function supplier(maintainer: string): string {
  const m = parseMaintainer(maintainer);
  return `Organization: ${m.name}${m.email ? ` (${m.email})` : ''}`;
}

function debPackage(p: SbomPackage, id: string, distro: SbomInput['distro']): object {
  const source =
    p.source && (p.source !== p.name || (p.sourceVersion && p.sourceVersion !== p.version))
      ? `built from Debian source package ${p.source} ${p.sourceVersion ?? p.version}`
      : undefined;
  return {
    SPDXID: id,
    name: p.name,
    versionInfo: p.version,
    supplier: p.maintainer ? supplier(p.maintainer) : NOASSERTION,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: p.sha256.toLowerCase() }],
    homepage: p.homepage,
    sourceInfo: source,
    licenseConcluded: NOASSERTION,
    licenseDeclared: p.license ?? NOASSERTION,
    copyrightText: p.copyright ?? NOASSERTION,
    summary: p.description,
    comment: `slices: ${p.slices.join(' ')}`,
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: debPurl(p, distro) }],
  };
}

function imagePackage(input: SbomInput): object {
  const digest = /^sha256:([0-9a-f]{64})$/i.exec(input.digest ?? '');
  return {
    SPDXID: 'SPDXRef-Image',
    name: input.name,
    versionInfo: input.digest,
    supplier: NOASSERTION,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    checksums: digest ? [{ algorithm: 'SHA256', checksumValue: digest[1]!.toLowerCase() }] : undefined,
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    primaryPackagePurpose: 'CONTAINER',
    // a layered image: each layer's digest and diff_id, bottom first
    annotations: input.layers?.length
      ? layerLines(input.layers).map((comment) => ({
          annotationDate: isoTimestamp(input.epoch),
          annotationType: 'OTHER',
          annotator: `Tool: chisel-ts-${input.toolVersion}`,
          comment,
        }))
      : undefined,
    comment: `${input.distro.id} ${input.distro.versionId}${input.distro.codename ? ` (${input.distro.codename})` : ''}; archs: ${[...new Set(input.archs)].sort().join(' ')}`,
  };
}

/** The URI path of a name: each "/"-separated segment percent-encoded. */
const uriPath = (name: string): string => name.split('/').map(encodeURIComponent).join('/');

export function spdxDocument(input: SbomInput): object {
  const pkgs = sortedPackages(input.packages);
  const ids = packageIds(pkgs);
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: input.name,
    documentNamespace: `https://chisel-ts.invalid/spdx/${uriPath(input.name)}/${contentDigest(input)}`,
    creationInfo: { created: isoTimestamp(input.epoch), creators: [`Tool: chisel-ts-${input.toolVersion}`] },
    packages: [imagePackage(input), ...pkgs.map((p, i) => debPackage(p, ids[i]!, input.distro))],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Image' },
      ...ids.map((id) => ({ spdxElementId: 'SPDXRef-Image', relationshipType: 'CONTAINS', relatedSpdxElement: id })),
    ],
  };
}
