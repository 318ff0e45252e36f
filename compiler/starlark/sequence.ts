// Indexing and slicing of strings, lists, tuples and ranges (spec "Index
// expressions" and "Slice expressions"), plus `in`.

import { fail } from './errors.js';
import { equals, StarDict, StarList, StarRange, StarTuple, typeName, type Value } from './values.js';

function length(x: Value): number {
  if (typeof x === 'string') return x.length;
  if (x instanceof StarList || x instanceof StarTuple) return x.items.length;
  if (x instanceof StarRange) return x.length;
  return fail(`${typeName(x)} is not indexable`);
}

export function indexValue(x: Value, index: Value): Value {
  if (x instanceof StarDict) {
    const v = x.get(index);
    if (v === undefined) fail(`key ${reprKey(index)} not in dict`);
    return v!;
  }
  const n = length(x);
  if (typeof index !== 'number') fail(`${typeName(x)} index: got ${typeName(index)}, want int`);
  const i = (index as number) < 0 ? (index as number) + n : (index as number);
  if (i < 0 || i >= n) fail(`index ${index} out of range: ${typeName(x)} has ${n} element${n === 1 ? '' : 's'}`);
  if (typeof x === 'string') return x[i]!;
  if (x instanceof StarRange) return x.at(i);
  return (x as StarList | StarTuple).items[i]!;
}

function reprKey(k: Value): string {
  return typeof k === 'string' ? JSON.stringify(k) : String(k);
}

/** Python's slice.indices: the concrete positions a slice visits. */
export function sliceIndices(n: number, lo: Value, hi: Value, stepV: Value): { start: number; stop: number; step: number } {
  const step = stepV === null ? 1 : asIndex(stepV, 'slice step');
  if (step === 0) fail('slice step cannot be zero');
  const clamp = (v: Value, dflt: number): number => {
    if (v === null) return dflt;
    let i = asIndex(v, 'slice index');
    if (i < 0) i += n;
    return step > 0 ? Math.min(Math.max(i, 0), n) : Math.min(Math.max(i, -1), n - 1);
  };
  return step > 0 ? { start: clamp(lo, 0), stop: clamp(hi, n), step } : { start: clamp(lo, n - 1), stop: clamp(hi, -1), step };
}

function asIndex(v: Value, what: string): number {
  if (typeof v !== 'number') fail(`${what}: got ${typeName(v)}, want int or None`);
  return v as number;
}

export function sliceValue(x: Value, lo: Value, hi: Value, step: Value): Value {
  const { start, stop, step: s } = sliceIndices(length(x), lo, hi, step);
  if (x instanceof StarRange) {
    const n = Math.max(0, s > 0 ? Math.ceil((stop - start) / s) : Math.ceil((start - stop) / -s));
    return new StarRange(x.at(start), x.at(start) + n * x.step * s, x.step * s);
  }
  if (typeof x === 'string') {
    if (s === 1) return x.slice(start, Math.max(start, stop));
    let out = '';
    for (let i = start; s > 0 ? i < stop : i > stop; i += s) out += x[i];
    return out;
  }
  const items = (x as StarList | StarTuple).items;
  let out: Value[];
  if (s === 1) out = items.slice(start, Math.max(start, stop));
  else {
    out = [];
    for (let i = start; s > 0 ? i < stop : i > stop; i += s) out.push(items[i]!);
  }
  return x instanceof StarList ? new StarList(out) : new StarTuple(out);
}

/** `x in y`. */
export function contains(y: Value, x: Value): boolean {
  if (typeof y === 'string') {
    if (typeof x !== 'string') fail(`'in <string>' requires string as left operand, not ${typeName(x)}`);
    return y.includes(x as string);
  }
  if (y instanceof StarDict) return y.has(x);
  if (y instanceof StarList || y instanceof StarTuple) return y.items.some((v) => equals(v, x));
  if (y instanceof StarRange) {
    if (typeof x !== 'number') return false;
    const n = y.length;
    if (n === 0) return false;
    const off = x - y.start;
    return off % y.step === 0 && off / y.step >= 0 && off / y.step < n;
  }
  return fail(`unknown binary op: ${typeName(x)} in ${typeName(y)}`);
}
