// SBOMs of what a cut shipped, as SPDX 2.3 or CycloneDX 1.6 JSON.

import { cycloneDxDocument } from './cyclonedx.js';
import type { SbomInput } from './model.js';
import { spdxDocument } from './spdx.js';

export { cycloneDxDocument, uuidFromDigest } from './cyclonedx.js';
export { licenseFromCopyright, spdxExpression, spdxLicenseId } from './license.js';
export { contentDigest, isoTimestamp, sortedPackages, type SbomInput, type SbomPackage } from './model.js';
export { debPurl } from './purl.js';
export { spdxDocument } from './spdx.js';

export type SbomFormat = 'spdx' | 'cyclonedx';

/** The document as JSON text: 2-space indentation, trailing newline. */
export function sbomDocument(input: SbomInput, format: SbomFormat): string {
  const doc = format === 'spdx' ? spdxDocument(input) : cycloneDxDocument(input);
  return `${JSON.stringify(doc, null, 2)}\n`;
}
