// The error of content the cache should hold and does not (missing, or
// failing its hash), once healing could not restore it.

import { ChiselError } from '../util/errors.js';

export function damagedError(paths: string[], cause?: unknown): ChiselError {
  const why = cause instanceof Error ? `; cannot fetch its package again: ${cause.message}` : '';
  return new ChiselError(
    `cached content of ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ` and ${paths.length - 3} more` : ''} is damaged${why}`,
    {
      code: 'cache-damaged',
      hint: 'run the cut once without --offline (it fetches the package again), or run `chisel-ts cache verify --repair`',
      ...(cause !== undefined ? { cause } : {}),
    },
  );
}
