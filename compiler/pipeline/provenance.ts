// The provenance of a build as a SLSA v1 predicate (attested with --attest):
// what chisel-ts (which version) made the image from: the slices and
// architectures asked for, the release files the cut read (chisel.yaml and
// the slice definitions of the packages cut) with their sha256, the
// lockfile it was held to (--locked), and every .deb with its sha256. No
// times and no host details: the same inputs give the same bytes.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../cache/store.js';
import { VERSION } from '../version.js';
import { releaseInputFiles } from '../release/layers.js';
import type { ArchBuild, BuildSpec } from './spec.js';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** The buildType of a chisel-ts cut (a URN: no host to resolve). */
export const BUILD_TYPE = 'urn:chisel-ts:build-type:cut:v1';

interface ResourceDescriptor {
  name: string;
  digest: { sha256: string };
  annotations?: Record<string, string>;
}

export async function provenancePredicate(spec: BuildSpec, archs: ArchBuild[]): Promise<Record<string, unknown>> {
  const release = spec.release;
  const files = releaseInputFiles(
    release,
    archs.flatMap((a) => a.cut.packages.map((p) => p.name)),
  );
  const deps: ResourceDescriptor[] = [];
  for (const f of files) deps.push({ name: `release/${f.name}`, digest: { sha256: sha256Hex(await fs.readFile(f.file)) } });
  if (spec.lockfile)
    deps.push({ name: `lockfile/${path.basename(spec.lockfile)}`, digest: { sha256: sha256Hex(await fs.readFile(spec.lockfile)) } });
  const debs = new Map<string, ResourceDescriptor>();
  for (const a of archs)
    for (const p of a.cut.packages)
      debs.set(p.sha256, {
        name: `${p.name}_${p.version}_${p.arch}.deb`,
        digest: { sha256: p.sha256 },
        annotations: { archive: p.archive },
      });
  deps.push(...[...debs.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)));
  return {
    buildDefinition: {
      buildType: BUILD_TYPE,
      externalParameters: {
        slices: [...spec.slices],
        archs: [...spec.archs],
        ...(spec.tag ? { tag: spec.tag } : {}),
        ...(spec.outputs.push ? { push: spec.outputs.push } : {}),
        locked: Boolean(spec.lockfile),
      },
      resolvedDependencies: deps,
    },
    runDetails: { builder: { id: 'urn:chisel-ts', version: { 'chisel-ts': VERSION } }, metadata: {} },
  };
}
