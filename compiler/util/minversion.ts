// The chisel-ts versions a file may require: an image file or a lockfile can
// carry a top-level `chisel-ts` key holding a semver range (">=0.2",
// "^0.1.3"). A file whose range this chisel-ts does not satisfy is refused
// before anything else of it is read, since it may use keys this version does
// not know.

import satisfies from 'semver/functions/satisfies.js';
import validRange from 'semver/ranges/valid.js';
import { VERSION } from '../version.js';
import { ChiselError, type Location } from './errors.js';

/** The top-level key that holds the range. */
export const VERSION_KEY = 'chisel-ts';

/** Why a range cannot be used: not a semver range at all. */
export function invalidRangeMessage(range: string): string | undefined {
  if (validRange(range) !== null) return undefined;
  return `${VERSION_KEY}: ${JSON.stringify(range)} is not a semver range of chisel-ts versions; write one like ">=0.2" or "^0.1.0"`;
}

/** The error for a valid range that this chisel-ts does not satisfy; undefined when it does, or when the range is invalid. */
export function unmetRangeError(range: string, location: Location): ChiselError | undefined {
  if (validRange(range) === null || satisfies(VERSION, range, { includePrerelease: true })) return undefined;
  return new ChiselError(`this file needs chisel-ts ${range}, but this is chisel-ts ${VERSION}`, {
    code: 'version',
    location,
    hint: `upgrade chisel-ts to a version that satisfies ${range}`,
  });
}
