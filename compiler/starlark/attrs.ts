// Attribute lookup: `x.name` yields a bound method of a string, list or dict,
// or a member of a host module.

import { DICT_METHODS, LIST_METHODS } from './containers.js';
import { fail } from './errors.js';
import { STRING_METHODS } from './strings.js';
import { Builtin, HostModule, StarDict, StarList, typeName, type Value } from './values.js';

export function getAttr(x: Value, name: string): Value | undefined {
  if (typeof x === 'string') {
    const m = Object.hasOwn(STRING_METHODS, name) ? STRING_METHODS[name] : undefined;
    return m && new Builtin(`string.${name}`, (a, k) => m(x, a, k));
  }
  if (x instanceof StarList) {
    const m = Object.hasOwn(LIST_METHODS, name) ? LIST_METHODS[name] : undefined;
    return m && new Builtin(`list.${name}`, (a, k) => m(x, a, k));
  }
  if (x instanceof StarDict) {
    const m = Object.hasOwn(DICT_METHODS, name) ? DICT_METHODS[name] : undefined;
    return m && new Builtin(`dict.${name}`, (a, k) => m(x, a, k));
  }
  if (x instanceof HostModule) return x.members.get(name);
  return undefined;
}

export function attrNames(x: Value): string[] {
  if (typeof x === 'string') return Object.keys(STRING_METHODS).sort();
  if (x instanceof StarList) return Object.keys(LIST_METHODS).sort();
  if (x instanceof StarDict) return Object.keys(DICT_METHODS).sort();
  if (x instanceof HostModule) return [...x.members.keys()].sort();
  return [];
}

export function mustGetAttr(x: Value, name: string): Value {
  const v = getAttr(x, name);
  if (v === undefined) fail(`${x instanceof HostModule ? `module ${x.name}` : typeName(x)} has no .${name} field or method`);
  return v!;
}
