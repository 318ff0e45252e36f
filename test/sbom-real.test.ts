// SBOMs of real Debian 13 cuts, read by real consumers: Trivy (the binary
// cdxgen ships) scans the cut root and must find exactly the packages
// chisel-ts used; the CycloneDX library validates our CycloneDX; the SPDX
// document validates against the SPDX 2.3 JSON schema; two runs agree byte
// for byte; --sbom-in-image puts the document in the layer.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/cutenv.js';
import { blob, decompressLayer, manifestsOf, tarEntries } from './support/oci.js';
import { validatorWith } from './support/schema.js';
import { trivyBinary } from './support/trivy.js';

const CLI = path.join(__dirname, '..', 'bin', 'chisel-ts.js');
const cache = tempDir('chisel-ts-real-sbom-cache-');
const EPOCH = '1700000000';

function cut(args: string[]): any {
  const r = spawnSync(
    process.execPath,
    [CLI, 'cut', '--release', 'debian-13', '--arch', 'amd64', '--cache-dir', cache, '--json', ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', SOURCE_DATE_EPOCH: EPOCH },
    },
  );
  if (r.status !== 0) throw new Error(`cut failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

interface Run {
  report: any;
  root: string;
  spdx: string;
  cdx: string;
  layout: string;
}

function run(dir: string): Run {
  const root = path.join(dir, 'root');
  const spdx = path.join(dir, 'sbom.spdx.json');
  const cdx = path.join(dir, 'sbom.cdx.json');
  const layout = path.join(dir, 'layout');
  const report = cut(['--root', root, '--oci', layout, '--tag', 'py', '--sbom', spdx, 'python3']);
  cut(['--oci', path.join(dir, 'layout2'), '--tag', 'py', '--sbom', cdx, '--sbom-format', 'cyclonedx', 'python3']);
  return { report, root, spdx, cdx, layout };
}

describe('SBOMs of a Debian 13 python3 cut', () => {
  let a: Run;
  let b: Run;
  let used: string[];
  beforeAll(() => {
    a = run(tempDir('chisel-ts-sbom-a-'));
    b = run(tempDir('chisel-ts-sbom-b-'));
    used = a.report.archs[0].packages.map((p: any) => `${p.name}@${p.version}`).sort();
    expect(used.length).toBeGreaterThan(10);
  }, 600_000);

  it('Trivy finds exactly the packages chisel-ts used, with their versions, on Debian 13', () => {
    const out = path.join(tempDir('chisel-ts-trivy-'), 'bom.json');
    const t = spawnSync(trivyBinary(), ['rootfs', '--quiet', '--format', 'cyclonedx', '--output', out, a.root], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, TRIVY_CACHE_DIR: tempDir('chisel-ts-trivy-cache-') },
    });
    expect(t.status, t.stderr).toBe(0);
    const bom = JSON.parse(readFileSync(out, 'utf8'));
    const os = bom.components.filter((c: any) => c.type === 'operating-system');
    expect(os.map((c: any) => c.name)).toEqual(['debian']);
    expect(os[0].version).toMatch(/^13(\.|$)/);
    const found = bom.components
      .filter((c: any) => typeof c.purl === 'string' && c.purl.startsWith('pkg:deb/'))
      .map((c: any) => `${c.name}@${c.version}`)
      .sort();
    expect(found).toEqual(used);
    // the same name, version and arch as our CycloneDX says (Trivy's purls
    // put the epoch in a qualifier and the point release in distro=)
    const key = (p: string): string => {
      const m = /^pkg:deb\/debian\/([^@]+)@([^?]+)\?(.*)$/.exec(p)!;
      const q = new URLSearchParams(m[3]);
      const v = decodeURIComponent(m[2]!);
      return `${m[1]}@${q.get('epoch') ? `${q.get('epoch')}:` : ''}${v}/${q.get('arch')}`;
    };
    const ours = JSON.parse(readFileSync(a.cdx, 'utf8'))
      .components.map((c: any) => c.purl)
      .filter(Boolean)
      .map(key)
      .sort();
    const theirs = bom.components
      .map((c: any) => c.purl)
      .filter((p: any) => p?.startsWith('pkg:deb/'))
      .map(key)
      .sort();
    expect(ours).toEqual(theirs);
  }, 600_000);

  it('the same cut without dpkg metadata is empty to Trivy (the test can fail)', () => {
    const d = tempDir('chisel-ts-trivy-empty-');
    const root = path.join(d, 'root');
    cut(['--root', root, '--no-package-metadata', 'python3']);
    const out = path.join(d, 'bom.json');
    const t = spawnSync(trivyBinary(), ['rootfs', '--quiet', '--format', 'cyclonedx', '--output', out, root], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, TRIVY_CACHE_DIR: tempDir('chisel-ts-trivy-cache-') },
    });
    expect(t.status, t.stderr).toBe(0);
    const bom = JSON.parse(readFileSync(out, 'utf8'));
    expect((bom.components ?? []).filter((c: any) => c.purl?.startsWith('pkg:deb/'))).toEqual([]);
  }, 600_000);

  it('CycloneDX validates with @cyclonedx/cyclonedx-library and names every package by purl', async () => {
    const text = readFileSync(a.cdx, 'utf8');
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(text)).toBeNull();
    const bom = JSON.parse(text);
    const purls = bom.components.filter((c: any) => c.type === 'library').map((c: any) => c.purl);
    expect(purls.length).toBe(used.length);
    for (const p of purls) expect(p).toMatch(/^pkg:deb\/debian\/[^@]+@[^?]+\?arch=(amd64|all)&distro=debian-13(&upstream=[^&]+)?$/);
    expect(bom.metadata.component.type).toBe('container');
  });

  it('SPDX validates against the SPDX 2.3 schema; the image is the root, by digest', () => {
    const doc = JSON.parse(readFileSync(a.spdx, 'utf8'));
    const validate = validatorWith(path.join(__dirname, '..', 'runtime-schema', 'spdx-2.3.schema.json'));
    expect(validate(doc), JSON.stringify(validate.errors, null, 1)).toBe(true);
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    const described = doc.relationships.filter((r: any) => r.spdxElementId === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBES');
    expect(described.length).toBe(1);
    const root = doc.packages.find((p: any) => p.SPDXID === described[0].relatedSpdxElement);
    expect(root.primaryPackagePurpose).toBe('CONTAINER');
    expect(JSON.stringify(root)).toContain(a.report.image.digest.replace('sha256:', ''));
    const debs = doc.packages.filter((p: any) =>
      (p.externalRefs ?? []).some((r: any) => r.referenceType === 'purl' && r.referenceLocator.startsWith('pkg:deb/')),
    );
    expect(debs.map((p: any) => `${p.name}@${p.versionInfo}`).sort()).toEqual(used);
    expect(debs.filter((p: any) => p.licenseDeclared && p.licenseDeclared !== 'NOASSERTION').length).toBeGreaterThan(0);
  });

  it('two runs give byte-identical SBOMs', () => {
    expect(readFileSync(b.spdx)).toEqual(readFileSync(a.spdx));
    expect(readFileSync(b.cdx)).toEqual(readFileSync(a.cdx));
  });

  it('--sbom-in-image puts the document in the layer', async () => {
    const d = tempDir('chisel-ts-sbom-in-');
    const layout = path.join(d, 'layout');
    cut(['--oci', layout, '--tag', 'py', '--sbom-in-image', '--sbom-format', 'cyclonedx', 'python3']);
    const [m] = manifestsOf(layout);
    const layer = await decompressLayer(blob(layout, m!.manifest.layers[0].digest), m!.manifest.layers[0].mediaType);
    const entry = (await tarEntries(layer)).find((e) => e.name === 'usr/share/sbom/chisel-ts.cyclonedx.json');
    expect(entry).toBeDefined();
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(entry!.content.toString())).toBeNull();
  });
});
