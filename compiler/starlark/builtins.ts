// The universal builtins (spec "Built-in constants and functions").

import { noKwargs, unpack } from './args.js';
import { attrNames, getAttr, mustGetAttr } from './attrs.js';
import { updateFromPairs } from './containers.js';
import { EvalFailure, fail } from './errors.js';
import {
  Builtin,
  compare,
  iterableItems,
  repr,
  StarDict,
  StarList,
  StarRange,
  StarTuple,
  str,
  toInt,
  toStr,
  truthy,
  typeName,
  type NativeFunction,
  type Thread,
  type Value,
} from './values.js';

function len(x: Value): number {
  if (typeof x === 'string') return x.length;
  if (x instanceof StarList || x instanceof StarTuple) return x.items.length;
  if (x instanceof StarDict) return x.size;
  if (x instanceof StarRange) return x.length;
  return fail(`len: value of type ${typeName(x)} has no len`);
}

function parseInt_(s: string, baseV: Value | undefined): number {
  let base = baseV === undefined ? 10 : toInt(baseV, 'int base');
  if (base !== 0 && (base < 2 || base > 36)) fail('int: base must be an integer >= 2 && <= 36, or 0');
  const invalid = (): never => fail(`int: invalid literal with base ${base}: ${repr(s)}`);
  let t = s;
  let sign = 1;
  if (t.startsWith('+') || t.startsWith('-')) {
    if (t[0] === '-') sign = -1;
    t = t.slice(1);
  }
  const prefix = /^0([xXoObB])/.exec(t);
  if (prefix) {
    const pbase = { x: 16, o: 8, b: 2 }[prefix[1]!.toLowerCase() as 'x' | 'o' | 'b'];
    if (base === 0 || base === pbase) {
      base = pbase;
      t = t.slice(2);
    }
  }
  if (base === 0) {
    if (t.length > 1 && t.startsWith('0')) invalid();
    base = 10;
  }
  if (t === '') invalid();
  let n = 0;
  for (const c of t.toLowerCase()) {
    const d = c >= '0' && c <= '9' ? c.charCodeAt(0) - 48 : c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 87 : 99;
    if (d >= base) invalid();
    n = n * base + d;
  }
  if (!Number.isSafeInteger(n)) fail(`int: ${repr(s)} is too large`);
  return sign * n;
}

function minMax(name: string, args: Value[], kwargs: Map<string, Value>, thread: Thread, sign: number): Value {
  const [key] = unpack(name, [], kwargs, ['key?']);
  if (args.length === 0) fail(`${name}: got 0 arguments, want at least 1`);
  const items = args.length === 1 ? iterableItems(args[0]!, name) : args;
  if (items.length === 0) fail(`${name}: empty sequence`);
  const keyOf = (v: Value): Value => (key === undefined || key === null ? v : thread.call(key, [v]));
  let best: Value = items[0]!;
  let bestKey = keyOf(best);
  for (const v of items.slice(1)) {
    const k = keyOf(v);
    if (compare(k, bestKey) * sign > 0) {
      best = v;
      bestKey = k;
    }
  }
  return best;
}

function tuples(rows: Value[][]): StarList {
  return new StarList(rows.map((r) => new StarTuple(r)));
}

const UNIVERSE: Record<string, NativeFunction> = {
  abs: (a, k) => Math.abs(toInt(unpack('abs', a, k, ['x'])[0]!, 'abs')),
  all: (a, k) => iterableItems(unpack('all', a, k, ['iterable'])[0]!, 'all').every(truthy),
  any: (a, k) => iterableItems(unpack('any', a, k, ['iterable'])[0]!, 'any').some(truthy),
  bool: (a, k) => truthy(unpack('bool', a, k, ['x?'])[0] ?? false),
  dict: (a, k) => {
    if (a.length > 1) fail(`dict: got ${a.length} arguments, want at most 1`);
    const d = new StarDict();
    const src = a[0];
    if (src instanceof StarDict) for (const [key, v] of src.entries.values()) d.set(key, v);
    else if (src !== undefined) updateFromPairs(d, src, 'dict');
    for (const [name, v] of k) d.set(name, v);
    return d;
  },
  dir: (a, k) => new StarList(attrNames(unpack('dir', a, k, ['x'])[0]!)),
  enumerate: (a, k) => {
    const [it, start] = unpack('enumerate', a, k, ['iterable', 'start?']);
    const s = start === undefined ? 0 : toInt(start, 'enumerate');
    return tuples(iterableItems(it!, 'enumerate').map((v, i) => [i + s, v]));
  },
  fail: (a, k) => {
    const [sep] = unpack('fail', [], k, ['sep?']);
    const msg = a.map(str).join(sep === undefined ? ' ' : toStr(sep, 'fail'));
    throw new EvalFailure(`fail: ${msg}`);
  },
  getattr: (a, k) => {
    noKwargs('getattr', k);
    const [x, name, dflt] = unpack('getattr', a, k, ['x', 'name', 'default?']);
    const n = toStr(name!, 'getattr');
    if (dflt !== undefined) return getAttr(x!, n) ?? dflt;
    return mustGetAttr(x!, n);
  },
  hasattr: (a, k) => {
    const [x, name] = unpack('hasattr', a, k, ['x', 'name']);
    return getAttr(x!, toStr(name!, 'hasattr')) !== undefined;
  },
  int: (a, k) => {
    const [x, base] = unpack('int', a, k, ['x?', 'base?']);
    if (x === undefined) return 0;
    if (typeof x === 'string') return parseInt_(x, base);
    if (base !== undefined) fail("int: can't convert non-string with explicit base");
    if (typeof x === 'number') return x;
    if (typeof x === 'boolean') return x ? 1 : 0;
    return fail(`int: cannot convert ${typeName(x)} to int`);
  },
  len: (a, k) => len(unpack('len', a, k, ['x'])[0]!),
  list: (a, k) => {
    const [x] = unpack('list', a, k, ['iterable?']);
    return new StarList(x === undefined ? [] : [...iterableItems(x, 'list')]);
  },
  max: (a, k, t) => minMax('max', a, k, t, 1),
  min: (a, k, t) => minMax('min', a, k, t, -1),
  print: (a, k, t) => {
    const [sep] = unpack('print', [], k, ['sep?']);
    t.print(a.map(str).join(sep === undefined ? ' ' : toStr(sep, 'print')));
    return null;
  },
  range: (a, k) => {
    noKwargs('range', k);
    if (a.length < 1 || a.length > 3) fail(`range: got ${a.length} arguments, want 1 to 3`);
    const n = a.map((v) => toInt(v, 'range'));
    const [start, stop, step] = n.length === 1 ? [0, n[0]!, 1] : [n[0]!, n[1]!, n[2] ?? 1];
    if (step === 0) fail('range: step argument must not be zero');
    return new StarRange(start, stop, step);
  },
  repr: (a, k) => repr(unpack('repr', a, k, ['x'])[0]!),
  reversed: (a, k) => new StarList([...iterableItems(unpack('reversed', a, k, ['sequence'])[0]!, 'reversed')].reverse()),
  sorted: (a, k, t) => {
    const [it, key, reverse] = unpack('sorted', a, k, ['iterable', 'key?', 'reverse?']);
    const items = [...iterableItems(it!, 'sorted')];
    const keyed = items.map((v) => ({ v, k: key === undefined || key === null ? v : t.call(key, [v]) }));
    const sign = reverse !== undefined && truthy(reverse) ? -1 : 1;
    keyed.sort((x, y) => sign * compare(x.k, y.k));
    return new StarList(keyed.map((e) => e.v));
  },
  str: (a, k) => str(unpack('str', a, k, ['x'])[0]!),
  tuple: (a, k) => {
    const [x] = unpack('tuple', a, k, ['iterable?']);
    if (x instanceof StarTuple) return x;
    return new StarTuple(x === undefined ? [] : [...iterableItems(x, 'tuple')]);
  },
  type: (a, k) => typeName(unpack('type', a, k, ['x'])[0]!),
  zip: (a, k) => {
    noKwargs('zip', k);
    const lists = a.map((x) => iterableItems(x, 'zip'));
    const n = lists.length === 0 ? 0 : Math.min(...lists.map((l) => l.length));
    const rows: Value[][] = [];
    for (let i = 0; i < n; i++) rows.push(lists.map((l) => l[i]!));
    return tuples(rows);
  },
};

export const BUILTINS: ReadonlyMap<string, Value> = new Map(
  Object.entries(UNIVERSE).map(([name, fn]) => [name, new Builtin(name, fn)] as [string, Value]),
);
