// Argument binding for native functions: `unpack('split', args, kwargs, ['sep?', 'maxsplit?'])`
// returns one entry per parameter (undefined when an optional one was not given).

import { fail } from './errors.js';
import type { Value } from './values.js';

export function unpack(fn: string, args: Value[], kwargs: Map<string, Value>, params: readonly string[]): Array<Value | undefined> {
  if (args.length > params.length) {
    const required = params.filter((p) => !p.endsWith('?')).length;
    const want = required === params.length ? `${params.length}` : `at most ${params.length}`;
    fail(`${fn}: got ${args.length} arguments, want ${want}`);
  }
  const out: Array<Value | undefined> = params.map((_, i) => args[i]);
  for (const [name, v] of kwargs) {
    const i = params.findIndex((p) => p.replace('?', '') === name);
    if (i < 0) fail(`${fn}: unexpected keyword argument "${name}"`);
    if (out[i] !== undefined) fail(`${fn}: got multiple values for parameter "${name}"`);
    out[i] = v;
  }
  params.forEach((p, i) => {
    if (!p.endsWith('?') && out[i] === undefined) fail(`${fn}: missing argument for ${p}`);
  });
  return out;
}

/** For functions that take no keyword arguments. */
export function noKwargs(fn: string, kwargs: Map<string, Value>): void {
  for (const name of kwargs.keys()) fail(`${fn}: unexpected keyword argument "${name}"`);
}
