// The build's results mapped to the plain data the lock and SBOM stages
// define for themselves (they know nothing of builds).

import type { LockBuild, LockSubject } from '../lock/index.js';
import type { SbomArch } from '../sbom/frombuild.js';
import { selectedPackages, type Selection } from '../slicer/selection.js';
import { splitTag } from '../registry/reference.js';
import { effectiveConfig, specEpoch, type ArchBuild, type BuildResult, type BuildSpec } from './spec.js';

/** What a lock's inputs are made of: the spec, and the packages of its selections. */
export function lockSubject(spec: BuildSpec, selections: Selection[]): LockSubject {
  const { name, tag } = splitTag(spec.tag);
  return {
    release: spec.release,
    slices: spec.slices,
    archs: spec.archs,
    packages: new Set(selections.flatMap(selectedPackages)),
    image: {
      tag: `${name ? `${name}:` : ''}${tag}`,
      compression: spec.compression ?? 'gzip',
      nonroot: Boolean(spec.nonroot),
      packageMetadata: spec.packageMetadata ?? true,
      keepSetId: Boolean(spec.keepSetId),
      config: effectiveConfig(spec),
      ...(spec.files ? { files: spec.files } : {}),
      sbomInImage: spec.sbom?.inImage ? spec.sbom.format : 'none',
      ...(spec.layers ? { layers: spec.layers } : {}),
    },
    epoch: specEpoch(spec),
    store: spec.store,
  };
}

/** What a lock records of a build. */
export function lockBuild(result: BuildResult): LockBuild {
  return {
    archs: result.archs.map((a) => ({ archives: a.archives, packages: a.cut.packages, tree: a.tree })),
    ...(result.image ? { image: result.image } : {}),
  };
}

/** One arch of a build as the SBOM needs it. */
export function sbomArch(a: ArchBuild): SbomArch {
  return { arch: a.arch, tree: a.tree, packages: a.cut.packages };
}
