// CycloneDX 1.6 JSON BOM of an image or root filesystem: the image is the
// metadata component, each Debian package a library component keyed by its
// purl. Deterministic: the serial number derives from the content, the
// timestamp from SOURCE_DATE_EPOCH.

import { contentDigest, isoTimestamp, layerLines, parseMaintainer, sortedPackages, type SbomInput, type SbomPackage } from './model.js';
import { debPurl } from './purl.js';

const IMAGE_REF = 'chisel-ts:image';

/** An RFC 4122 UUID (version 5 layout, variant 10) from the first 128 bits of a sha256 hex. */
export function uuidFromDigest(hex: string): string {
  const h = hex.toLowerCase().slice(0, 32).split('');
  h[12] = '5';
  h[16] = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

function supplier(maintainer: string): object {
  const m = parseMaintainer(maintainer);
  return { name: m.name, contact: m.email ? [{ name: m.name, email: m.email }] : undefined };
}

function component(p: SbomPackage, distro: SbomInput['distro']): object {
  const purl = debPurl(p, distro);
  return {
    type: 'library',
    'bom-ref': purl,
    supplier: p.maintainer ? supplier(p.maintainer) : undefined,
    publisher: p.maintainer,
    name: p.name,
    version: p.version,
    description: p.description,
    hashes: [{ alg: 'SHA-256', content: p.sha256.toLowerCase() }],
    licenses: p.license ? [{ expression: p.license }] : undefined,
    copyright: p.copyright,
    purl,
    externalReferences: p.homepage ? [{ type: 'website', url: p.homepage }] : undefined,
    properties: [...p.slices.map((s) => ({ name: 'chisel-ts:slice', value: s })), { name: 'chisel-ts:archive', value: p.archive }],
  };
}

function imageComponent(input: SbomInput): object {
  const digest = /^sha256:([0-9a-f]{64})$/i.exec(input.digest ?? '');
  return {
    type: 'container',
    'bom-ref': IMAGE_REF,
    name: input.name,
    version: input.digest,
    hashes: digest ? [{ alg: 'SHA-256', content: digest[1]!.toLowerCase() }] : undefined,
    properties: [
      { name: 'chisel-ts:distro', value: `${input.distro.id}-${input.distro.versionId}` },
      ...[...new Set(input.archs)].sort().map((a) => ({ name: 'chisel-ts:arch', value: a })),
      ...layerLines(input.layers ?? []).map((value) => ({ name: 'chisel-ts:layer', value })),
    ],
  };
}

export function cycloneDxDocument(input: SbomInput): object {
  const pkgs = sortedPackages(input.packages);
  const components = pkgs.map((p) => component(p, input.distro));
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${uuidFromDigest(contentDigest(input))}`,
    version: 1,
    metadata: {
      timestamp: isoTimestamp(input.epoch),
      tools: { components: [{ type: 'application', name: 'chisel-ts', version: input.toolVersion }] },
      component: imageComponent(input),
    },
    components,
    dependencies: [{ ref: IMAGE_REF, dependsOn: pkgs.map((p) => debPurl(p, input.distro)) }],
  };
}
