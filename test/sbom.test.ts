// SBOM documents: purls, licences from debian/copyright, and SPDX 2.3 /
// CycloneDX 1.6 output that validates and is byte-for-byte deterministic.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { SPDX, Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cycloneDxDocument,
  debPurl,
  licenseFromCopyright,
  sbomDocument,
  spdxDocument,
  spdxExpression,
  spdxLicenseId,
  type SbomInput,
  type SbomPackage,
} from '../compiler/sbom/index.js';
import { SPDX_LICENSE_IDS } from '../compiler/sbom/license.js';
import { validatorWith } from './support/schema.js';

const _require = createRequire(import.meta.url);
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const TRIXIE = { id: 'debian', versionId: '13', codename: 'trixie' };

describe('debPurl', () => {
  it.each([
    [
      { name: 'libc6', version: '2.41-12', arch: 'amd64', source: 'glibc' },
      'pkg:deb/debian/libc6@2.41-12?arch=amd64&distro=debian-13&upstream=glibc',
    ],
    [
      { name: 'zlib1g', version: '1:1.3.dfsg+really1.3.1-1+b1', arch: 'arm64', source: 'zlib' },
      'pkg:deb/debian/zlib1g@1%3A1.3.dfsg%2Breally1.3.1-1%2Bb1?arch=arm64&distro=debian-13&upstream=zlib',
    ],
    [{ name: 'tzdata', version: '2025b-4+deb13u1', arch: 'all' }, 'pkg:deb/debian/tzdata@2025b-4%2Bdeb13u1?arch=all&distro=debian-13'],
    [
      { name: 'python3.13', version: '3.13.5-2', arch: 'amd64', source: 'python3.13' },
      'pkg:deb/debian/python3.13@3.13.5-2?arch=amd64&distro=debian-13',
    ],
    [
      { name: 'libstdc++6', version: '14.2.0-19', arch: 'amd64', source: 'gcc-14' },
      'pkg:deb/debian/libstdc%2B%2B6@14.2.0-19?arch=amd64&distro=debian-13&upstream=gcc-14',
    ],
    [
      { name: 'libgcc-s1', version: '12.2.0-14~bpo1', arch: 'i386', source: 'gcc-12' },
      'pkg:deb/debian/libgcc-s1@12.2.0-14~bpo1?arch=i386&distro=debian-13&upstream=gcc-12',
    ],
  ])('%o → %s', (pkg, want) => {
    expect(debPurl(pkg, TRIXIE)).toBe(want);
  });

  it('namespaces by the distro id', () => {
    expect(debPurl({ name: 'bash', version: '5.2.21-2ubuntu4', arch: 'amd64' }, { id: 'ubuntu', versionId: '24.04' })).toBe(
      'pkg:deb/ubuntu/bash@5.2.21-2ubuntu4?arch=amd64&distro=ubuntu-24.04',
    );
  });
});

/** Every id of an expression (not operators, not LicenseRefs) is on the SPDX licence list. */
function expectKnownIds(expr: string): void {
  for (const tok of expr.replace(/[()]/g, ' ').split(/\s+/).filter(Boolean)) {
    if (/^(AND|OR|WITH)$/.test(tok) || tok.startsWith('LicenseRef-') || tok.includes('exception')) continue;
    expect(SPDX.isSupportedSpdxId(tok), `${tok} is an SPDX id`).toBe(true);
  }
}

describe('licence short names', () => {
  it('the known ids are all on the SPDX licence list', () => {
    for (const id of SPDX_LICENSE_IDS) expect(SPDX.isSupportedSpdxId(id), id).toBe(true);
  });

  it.each([
    ['GPL-2+', 'GPL-2.0-or-later'],
    ['GPL-2', 'GPL-2.0-only'],
    ['GPL-2.0+', 'GPL-2.0-or-later'],
    ['GPLv3+', 'GPL-3.0-or-later'],
    ['GPL-3.0-only', 'GPL-3.0-only'],
    ['LGPL-2.1+', 'LGPL-2.1-or-later'],
    ['LGPL-2', 'LGPL-2.0-only'],
    ['AGPL-3+', 'AGPL-3.0-or-later'],
    ['GFDL-1.3+', 'GFDL-1.3-or-later'],
    ['BSD-3-clause', 'BSD-3-Clause'],
    ['BSD-2-Clause', 'BSD-2-Clause'],
    ['Expat', 'MIT'],
    ['MIT', 'MIT'],
    ['Apache-2.0', 'Apache-2.0'],
    ['MPL-2.0', 'MPL-2.0'],
    ['Zlib', 'Zlib'],
    ['PSF-2', 'PSF-2.0'],
    ['ISC', 'ISC'],
    ['curl', 'curl'],
    ['Artistic', 'Artistic-1.0-Perl'],
    ['OpenLDAP-2.8', 'OLDAP-2.8'],
    ['public-domain', 'LicenseRef-public-domain'],
    ['GPL', 'LicenseRef-GPL'],
    ['GPL-4+', 'LicenseRef-GPL-4'],
    ['MIT/X11', 'LicenseRef-MIT-X11'],
    ['BSD-BY-LC-NE', 'LicenseRef-BSD-BY-LC-NE'],
  ])('%s → %s', (name, want) => {
    expect(spdxLicenseId(name)).toBe(want);
    expectKnownIds(want);
  });

  it.each([
    ['BSD-3-clause or GPL-2', 'BSD-3-Clause OR GPL-2.0-only'],
    ['GPL-1+ or Artistic', 'GPL-1.0-or-later OR Artistic-1.0-Perl'],
    ['LGPL-3+ or GPL-2+', 'LGPL-3.0-or-later OR GPL-2.0-or-later'],
    ['BSL-1.0 and Zlib', 'BSL-1.0 AND Zlib'],
    ['GPL-2+ or Artistic-2.0, and BSD-3-clause', '(GPL-2.0-or-later OR Artistic-2.0) AND BSD-3-Clause'],
    ['MIT and Expat or ISC', 'MIT AND MIT OR ISC'],
    ['GPL-3+ with Bison exception', 'GPL-3.0-or-later WITH Bison-exception-2.2'],
    ['GPL-2+ with Autoconf exception', 'GPL-2.0-or-later WITH Autoconf-exception-2.0'],
    ['GPL-3+ with Autoconf exception', 'GPL-3.0-or-later WITH Autoconf-exception-3.0'],
    ['GPL-2+ with OpenSSL exception', 'LicenseRef-GPL-2-with-OpenSSL-exception'],
    ['  BSD-3-Clause', 'BSD-3-Clause'],
    ['', undefined],
    ['Permission to use, copy, modify, and distribute this software and its', undefined],
    ['GPL-2+ or', undefined],
    ['and MIT', undefined],
  ])('%j → %s', (line, want) => {
    expect(spdxExpression(line)).toBe(want);
    if (want) expectKnownIds(want);
  });
});

// Short excerpts written for these tests, in the shape of real debian/copyright files.
const DEP5_PERLISH = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Example-Module
Source: https://example.invalid/Example-Module

Files: *
Copyright: 2001-2019, Jane Author <jane@example.invalid>
 2020, Other Contributor
License: Artistic or GPL-1+

Files: debian/*
Copyright: 2021, Debian Perl Group <pkg-perl@example.invalid>
License: Artistic or GPL-1+

License: Artistic
 This program is free software; you can redistribute it and/or modify
 it under the terms of the Artistic License.
 .
 On Debian systems, the complete text is in /usr/share/common-licenses/Artistic.
`;

const DEP5_FILES_NOT_FIRST = `Format: http://www.debian.org/doc/packaging-manuals/copyright-format/1.0
Upstream-Name: libexample
# a comment line, ignored

Files: src/compat/*
Copyright: 1995 Someone Else
License: Zlib

Files: *
Copyright: 2010-2024 Example Project Authors
License: BSD-3-clause, and Expat
 Redistribution and use in source and binary forms, with or without
 modification, are permitted provided that the conditions are met.

Files: debian/*
Copyright: 2015 A Maintainer <maint@example.invalid>
License: GPL-2+
`;

const FREE_FORM = `This is the Debian prepackaged version of the Example utilities.

Copyright (C) 1999-2023 The Example Authors.

License: GPL-2+ (see /usr/share/common-licenses/GPL-2)
`;

describe('licenseFromCopyright', () => {
  it('takes licence and copyright of the Files: * paragraph', () => {
    expect(licenseFromCopyright(DEP5_PERLISH)).toEqual({
      license: 'Artistic-1.0-Perl OR GPL-1.0-or-later',
      copyright: '2001-2019, Jane Author <jane@example.invalid>\n2020, Other Contributor',
    });
  });

  it('finds Files: * wherever it is; comma groups; http format URL without slash', () => {
    expect(licenseFromCopyright(DEP5_FILES_NOT_FIRST)).toEqual({
      license: 'BSD-3-Clause AND MIT',
      copyright: '2010-2024 Example Project Authors',
    });
  });

  it('does not guess from free-form copyright files', () => {
    expect(licenseFromCopyright(FREE_FORM)).toEqual({});
    expect(licenseFromCopyright('')).toEqual({});
    expect(licenseFromCopyright(DEP5_PERLISH.replace(/^Format:.*$/m, 'Format-Specification: http://svn.debian.org/dep5'))).toEqual({});
  });

  it('reads CRLF files and a header-only licence', () => {
    const text =
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\r\nLicense: Apache-2.0\r\nCopyright: 2024 X\r\n';
    expect(licenseFromCopyright(text)).toEqual({ license: 'Apache-2.0', copyright: '2024 X' });
  });
});

// Real copyright files from Debian packages, when `apt-get download` works here.
describe('licenseFromCopyright on real Debian packages', () => {
  const REAL: Record<string, { license?: string }> = {
    tzdata: { license: 'LicenseRef-public-domain' },
    zlib1g: { license: 'Zlib' },
    libffi8: { license: 'MIT' },
    netbase: { license: 'GPL-2.0-only' },
    'base-files': {},
  };
  const cacheDir = path.join(os.tmpdir(), 'chisel-ts-test-sbom-debs');
  const copyrights = new Map<string, string>();
  let extracted = '';
  let unavailable = '';

  beforeAll(() => {
    extracted = mkdtempSync(path.join(os.tmpdir(), 'chisel-sbom-copyright-'));
    mkdirSync(cacheDir, { recursive: true });
    const find = (p: string) => readdirSync(cacheDir).find((n) => n.startsWith(`${p}_`) && n.endsWith('.deb'));
    const missing = Object.keys(REAL).filter((p) => !find(p));
    if (missing.length) {
      const r = spawnSync('apt-get', ['download', ...missing], { cwd: cacheDir, encoding: 'utf8' });
      if (r.status !== 0) {
        unavailable = `apt-get download failed: ${r.error?.message ?? r.stderr}`;
        return;
      }
    }
    for (const p of Object.keys(REAL)) {
      const dir = path.join(extracted, p);
      const r = spawnSync('dpkg-deb', ['-x', path.join(cacheDir, find(p)!), dir], { encoding: 'utf8' });
      const file = path.join(dir, 'usr/share/doc', p, 'copyright');
      if (r.status !== 0 || !existsSync(file)) {
        unavailable = `dpkg-deb -x ${p}: ${r.error?.message ?? r.stderr}`;
        return;
      }
      copyrights.set(p, readFileSync(file, 'utf8'));
    }
  });
  afterAll(() => {
    if (extracted) rmSync(extracted, { recursive: true, force: true });
  });

  it.for(Object.entries(REAL))('%s', ([pkg, want], ctx) => {
    if (unavailable) ctx.skip(unavailable);
    const got = licenseFromCopyright(copyrights.get(pkg)!);
    expect(got.license).toBe(want.license);
    if (want.license) expect(got.copyright).toMatch(/\S/);
    else expect(got).toEqual({});
  });
});

function pkg(name: string, version: string, arch: string, extra: Partial<SbomPackage> = {}): SbomPackage {
  return {
    name,
    version,
    arch,
    archive: 'debian',
    sha256: sha(`${name}_${version}_${arch}.deb`),
    slices: [`${name}_libs`],
    files: [{ path: `/usr/share/doc/${name}/copyright`, size: 100, sha256: sha(name) }],
    ...extra,
  };
}

const INPUT: SbomInput = {
  name: 'example/python:3.13',
  digest: `sha256:${sha('manifest')}`,
  distro: TRIXIE,
  archs: ['amd64'],
  epoch: 1_750_000_000,
  toolVersion: '0.1.0',
  packages: [
    pkg('python3.13', '3.13.5-2', 'amd64', {
      source: 'python3.13',
      maintainer: 'Matthias Klose <doko@debian.org>',
      homepage: 'https://www.python.org/',
      description: 'Interactive high-level object-oriented language (version 3.13)',
      license: 'PSF-2.0',
      slices: ['python3.13_standard', 'python3.13_core', 'python3.13_bins'],
    }),
    pkg('zlib1g', '1:1.3.dfsg+really1.3.1-1+b1', 'amd64', {
      source: 'zlib',
      sourceVersion: '1:1.3.dfsg+really1.3.1-1',
      maintainer: 'Mark Brown <broonie@debian.org>',
      homepage: 'http://zlib.net/',
      description: 'compression library - runtime',
      license: 'Zlib',
      copyright: '1995-2024 Jean-loup Gailly and Mark Adler',
    }),
    pkg('tzdata', '2025b-4+deb13u1', 'all', {
      maintainer: 'GNU Libc Maintainers <debian-glibc@lists.debian.org>',
      license: 'LicenseRef-public-domain',
      description: 'time zone and daylight-saving time data',
      slices: ['tzdata_zoneinfo', 'tzdata_base'],
    }),
    pkg('libc6', '2.41-12', 'amd64', {
      source: 'glibc',
      maintainer: 'GNU Libc Maintainers <debian-glibc@lists.debian.org>',
      homepage: 'https://www.gnu.org/software/libc/libc.html',
      description: 'GNU C Library: Shared libraries',
    }),
    pkg('libzstd1', '1.5.7+dfsg-1', 'amd64', {
      source: 'libzstd',
      license: 'BSD-3-Clause OR GPL-2.0-only',
      copyright: 'Meta Platforms, Inc. and affiliates',
    }),
    pkg('ca-certificates', '20250419', 'all', {
      maintainer: 'Julien Cristau <jcristau@debian.org>',
      license: 'GPL-2.0-or-later AND MPL-2.0',
      slices: ['ca-certificates_data'],
    }),
    pkg('libstdc++6', '14.2.0-19', 'amd64', { source: 'gcc-14', maintainer: 'Debian GCC Maintainers' }),
    pkg('base-files', '13.8+deb13u1', 'amd64', { maintainer: 'Santiago Vila <sanvila@debian.org>' }),
  ],
};

describe('SPDX 2.3 document', () => {
  const validate = validatorWith(path.join(import.meta.dirname, '..', 'runtime-schema', 'spdx-2.3.schema.json'));
  const doc = JSON.parse(sbomDocument(INPUT, 'spdx')) as {
    documentNamespace: string;
    creationInfo: { created: string; creators: string[] };
    packages: Array<Record<string, unknown> & { SPDXID: string; name: string }>;
    relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
  };

  it('validates against runtime-schema/spdx-2.3.schema.json', () => {
    expect(validate(doc), JSON.stringify(validate.errors, null, 1)).toBe(true);
  });

  it('the schema rejects what SPDX 2.3 forbids', () => {
    const broken = (f: (d: typeof doc) => void) => {
      const d = structuredClone(doc);
      f(d);
      return validate(d);
    };
    expect(
      broken((d) => {
        delete d.packages[1]!.downloadLocation;
      }),
    ).toBe(false);
    expect(
      broken((d) => {
        d.relationships[0]!.relationshipType = 'HAS';
      }),
    ).toBe(false);
    expect(
      broken((d) => {
        d.packages[1]!.SPDXID = 'SPDXRef-a_b';
      }),
    ).toBe(false);
    expect(
      broken((d) => {
        d.creationInfo.created = '2025-06-15T15:06:40.000Z';
      }),
    ).toBe(false);
    expect(
      broken((d) => {
        d.packages[1]!.checksums = [{ algorithm: 'SHA256', checksumValue: 'abc' }];
      }),
    ).toBe(false);
    expect(
      broken((d) => {
        d.packages[1]!.licenceDeclared = 'MIT';
      }),
    ).toBe(false);
  });

  it('has unique ids, and relationships only between them', () => {
    const ids = doc.packages.map((p) => p.SPDXID);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('SPDXRef-Package-deb-libstdc--6-amd64');
    const known = new Set(['SPDXRef-DOCUMENT', ...ids]);
    for (const r of doc.relationships) expect(known.has(r.spdxElementId) && known.has(r.relatedSpdxElement)).toBe(true);
    expect(doc.relationships[0]).toEqual({
      spdxElementId: 'SPDXRef-DOCUMENT',
      relationshipType: 'DESCRIBES',
      relatedSpdxElement: 'SPDXRef-Image',
    });
    expect(doc.relationships.filter((r) => r.relationshipType === 'CONTAINS')).toHaveLength(INPUT.packages.length);
  });

  it('describes each Debian package, sorted by name then arch', () => {
    expect(doc.packages.map((p) => p.name)).toEqual([
      'example/python:3.13',
      'base-files',
      'ca-certificates',
      'libc6',
      'libstdc++6',
      'libzstd1',
      'python3.13',
      'tzdata',
      'zlib1g',
    ]);
    expect(doc.packages[0]).toMatchObject({
      SPDXID: 'SPDXRef-Image',
      primaryPackagePurpose: 'CONTAINER',
      checksums: [{ algorithm: 'SHA256', checksumValue: sha('manifest') }],
    });
    expect(doc.packages.find((p) => p.name === 'zlib1g')).toEqual({
      SPDXID: 'SPDXRef-Package-deb-zlib1g-amd64',
      name: 'zlib1g',
      versionInfo: '1:1.3.dfsg+really1.3.1-1+b1',
      supplier: 'Organization: Mark Brown (broonie@debian.org)',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: sha('zlib1g_1:1.3.dfsg+really1.3.1-1+b1_amd64.deb') }],
      homepage: 'http://zlib.net/',
      sourceInfo: 'built from Debian source package zlib 1:1.3.dfsg+really1.3.1-1',
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'Zlib',
      copyrightText: '1995-2024 Jean-loup Gailly and Mark Adler',
      summary: 'compression library - runtime',
      comment: 'slices: zlib1g_libs',
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: 'pkg:deb/debian/zlib1g@1%3A1.3.dfsg%2Breally1.3.1-1%2Bb1?arch=amd64&distro=debian-13&upstream=zlib',
        },
      ],
    });
    expect(doc.packages.find((p) => p.name === 'python3.13')?.comment).toBe('slices: python3.13_bins python3.13_core python3.13_standard');
    expect(doc.packages.find((p) => p.name === 'base-files')).toMatchObject({
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
    });
    expect(doc.packages.find((p) => p.name === 'libzstd1')).toMatchObject({ supplier: 'NOASSERTION' });
  });

  it('names itself from the content, on a host that does not exist', () => {
    expect(doc.documentNamespace).toMatch(/^https:\/\/chisel-ts\.invalid\/spdx\/example\/python%3A3\.13\/[0-9a-f]{64}$/);
    expect(doc.creationInfo).toEqual({ created: '2025-06-15T15:06:40Z', creators: ['Tool: chisel-ts-0.1.0'] });
  });
});

describe('CycloneDX 1.6 document', () => {
  const text = sbomDocument(INPUT, 'cyclonedx');
  const doc = JSON.parse(text) as {
    serialNumber: string;
    metadata: Record<string, unknown>;
    components: Array<{ 'bom-ref': string; name: string; purl: string } & Record<string, unknown>>;
    dependencies: Array<{ ref: string; dependsOn?: string[] }>;
  };

  it("validates with the CycloneDX library's strict JSON validator", async () => {
    const errors = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(text);
    expect(errors).toBeNull();
  });

  it('the validator rejects a broken BOM (it is really validating)', async () => {
    const bad = structuredClone(doc);
    (bad.components[0] as Record<string, unknown>).type = 'debian-package';
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(JSON.stringify(bad))).not.toBeNull();
  });

  it('has a valid RFC 4122 serial number and a container as its subject', () => {
    expect(doc.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(doc.metadata).toMatchObject({
      timestamp: '2025-06-15T15:06:40Z',
      tools: { components: [{ type: 'application', name: 'chisel-ts', version: '0.1.0' }] },
      component: {
        type: 'container',
        name: 'example/python:3.13',
        version: INPUT.digest,
        hashes: [{ alg: 'SHA-256', content: sha('manifest') }],
      },
    });
  });

  it('one library component per package, keyed by purl, all depended on by the image', () => {
    const refs = doc.components.map((c) => c['bom-ref']);
    expect(new Set(refs).size).toBe(INPUT.packages.length);
    expect(doc.components.every((c) => c['bom-ref'] === c.purl)).toBe(true);
    expect(doc.dependencies).toEqual([{ ref: 'chisel-ts:image', dependsOn: refs }]);
    expect(doc.components.find((c) => c.name === 'python3.13')).toEqual({
      type: 'library',
      'bom-ref': 'pkg:deb/debian/python3.13@3.13.5-2?arch=amd64&distro=debian-13',
      supplier: { name: 'Matthias Klose', contact: [{ name: 'Matthias Klose', email: 'doko@debian.org' }] },
      publisher: 'Matthias Klose <doko@debian.org>',
      name: 'python3.13',
      version: '3.13.5-2',
      description: 'Interactive high-level object-oriented language (version 3.13)',
      hashes: [{ alg: 'SHA-256', content: sha('python3.13_3.13.5-2_amd64.deb') }],
      licenses: [{ expression: 'PSF-2.0' }],
      purl: 'pkg:deb/debian/python3.13@3.13.5-2?arch=amd64&distro=debian-13',
      externalReferences: [{ type: 'website', url: 'https://www.python.org/' }],
      properties: [
        { name: 'chisel-ts:slice', value: 'python3.13_bins' },
        { name: 'chisel-ts:slice', value: 'python3.13_core' },
        { name: 'chisel-ts:slice', value: 'python3.13_standard' },
        { name: 'chisel-ts:archive', value: 'debian' },
      ],
    });
  });
});

describe('determinism', () => {
  const strip = (doc: string): unknown => {
    const d = JSON.parse(doc) as { creationInfo?: { created?: string }; metadata?: { timestamp?: string } };
    if (d.creationInfo) d.creationInfo.created = 'T';
    if (d.metadata) d.metadata.timestamp = 'T';
    return d;
  };

  it.each(['spdx', 'cyclonedx'] as const)('%s: byte-identical across calls and package order; 2-space JSON with newline', (format) => {
    const a = sbomDocument(INPUT, format);
    expect(sbomDocument(structuredClone(INPUT), format)).toBe(a);
    const shuffled = { ...INPUT, packages: [...INPUT.packages].reverse().map((p) => ({ ...p, slices: [...p.slices].reverse() })) };
    expect(sbomDocument(shuffled, format)).toBe(a);
    expect(a.endsWith('}\n')).toBe(true);
    expect(a).toBe(`${JSON.stringify(JSON.parse(a), null, 2)}\n`);
  });

  it.each(['spdx', 'cyclonedx'] as const)('%s: another epoch changes the timestamps only', (format) => {
    const a = sbomDocument(INPUT, format);
    const b = sbomDocument({ ...INPUT, epoch: INPUT.epoch + 86_400 }, format);
    expect(b).not.toBe(a);
    expect(strip(b)).toEqual(strip(a));
    expect(b).toContain('2025-06-16T15:06:40Z');
  });

  it('other content gives another namespace and serial number', () => {
    const other = { ...INPUT, packages: INPUT.packages.slice(1) };
    const ns = (i: SbomInput) => (spdxDocument(i) as { documentNamespace: string }).documentNamespace;
    const sn = (i: SbomInput) => (cycloneDxDocument(i) as { serialNumber: string }).serialNumber;
    expect(ns(other)).not.toBe(ns(INPUT));
    expect(sn(other)).not.toBe(sn(INPUT));
  });

  it('merges the same "all" package listed by two platforms; rejects two debs for one name/arch', () => {
    const tz = INPUT.packages.find((p) => p.name === 'tzdata')!;
    const multi: SbomInput = {
      ...INPUT,
      archs: ['arm64', 'amd64'],
      packages: [...INPUT.packages, { ...tz, slices: ['tzdata_base', 'tzdata_right'] }],
    };
    const spdx = spdxDocument(multi) as { packages: Array<{ name: string; comment?: string }> };
    expect(spdx.packages.filter((p) => p.name === 'tzdata')).toHaveLength(1);
    expect(spdx.packages.find((p) => p.name === 'tzdata')?.comment).toBe('slices: tzdata_base tzdata_right tzdata_zoneinfo');
    const clash = { ...INPUT, packages: [...INPUT.packages, { ...tz, version: '2025a-1' }] };
    expect(() => sbomDocument(clash, 'spdx')).toThrow(/tzdata:all listed as both/);
  });

  it('works without a digest', () => {
    const { digest: _d, ...noDigest } = INPUT;
    const spdx = JSON.parse(sbomDocument(noDigest, 'spdx')) as { packages: Array<Record<string, unknown>> };
    expect(spdx.packages[0]).not.toHaveProperty('checksums');
    const cdx = JSON.parse(sbomDocument(noDigest, 'cyclonedx')) as { metadata: { component: Record<string, unknown> } };
    expect(cdx.metadata.component).not.toHaveProperty('version');
  });
});
