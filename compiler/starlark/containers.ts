// List and dict methods (spec "Built-in methods").

import { unpack } from './args.js';
import { fail } from './errors.js';
import { sliceIndices } from './sequence.js';
import { equals, iterableItems, repr, StarDict, StarList, StarTuple, toInt, typeName, type Value } from './values.js';

type Method<T> = (self: T, args: Value[], kwargs: Map<string, Value>) => Value;

export const LIST_METHODS: Record<string, Method<StarList>> = {
  append: (l, a, k) => {
    const [x] = unpack('append', a, k, ['x']);
    l.checkMutable('append to');
    l.items.push(x!);
    return null;
  },
  clear: (l, a, k) => {
    unpack('clear', a, k, []);
    l.checkMutable('clear');
    l.items.length = 0;
    return null;
  },
  extend: (l, a, k) => {
    const [x] = unpack('extend', a, k, ['iterable']);
    l.checkMutable('extend');
    const more = iterableItems(x!, 'extend');
    for (const v of [...more]) l.items.push(v);
    return null;
  },
  index: (l, a, k) => {
    const [x, start, end] = unpack('index', a, k, ['x', 'start?', 'end?']);
    const r = sliceIndices(l.items.length, start ?? null, end ?? null, null);
    for (let i = r.start; i < r.stop; i++) if (equals(l.items[i]!, x!)) return i;
    return fail(`index: value ${repr(x!)} not in list`);
  },
  insert: (l, a, k) => {
    const [iv, x] = unpack('insert', a, k, ['index', 'x']);
    l.checkMutable('insert into');
    const n = l.items.length;
    let i = toInt(iv!, 'insert');
    if (i < 0) i = Math.max(0, i + n);
    l.items.splice(Math.min(i, n), 0, x!);
    return null;
  },
  pop: (l, a, k) => {
    const [iv] = unpack('pop', a, k, ['index?']);
    l.checkMutable('pop from');
    const n = l.items.length;
    const raw = iv === undefined ? -1 : toInt(iv, 'pop');
    const i = raw < 0 ? raw + n : raw;
    if (i < 0 || i >= n) fail(n === 0 ? 'pop: empty list' : `pop: index ${raw} out of range: list has ${n} elements`);
    return l.items.splice(i, 1)[0]!;
  },
  remove: (l, a, k) => {
    const [x] = unpack('remove', a, k, ['x']);
    l.checkMutable('remove from');
    const i = l.items.findIndex((v) => equals(v, x!));
    if (i < 0) fail(`remove: element ${repr(x!)} not found`);
    l.items.splice(i, 1);
    return null;
  },
};

export const DICT_METHODS: Record<string, Method<StarDict>> = {
  clear: (d, a, k) => {
    unpack('clear', a, k, []);
    d.clear();
    return null;
  },
  get: (d, a, k) => {
    const [key, dflt] = unpack('get', a, k, ['key', 'default?']);
    return d.get(key!) ?? dflt ?? null;
  },
  items: (d, a, k) => {
    unpack('items', a, k, []);
    return new StarList([...d.entries.values()].map(([key, v]) => new StarTuple([key, v])));
  },
  keys: (d, a, k) => {
    unpack('keys', a, k, []);
    return new StarList(d.keys());
  },
  pop: (d, a, k) => {
    const [key, dflt] = unpack('pop', a, k, ['key', 'default?']);
    const v = d.delete(key!);
    if (v !== undefined) return v;
    if (dflt !== undefined) return dflt;
    return fail(`pop: missing key ${repr(key!)}`);
  },
  popitem: (d, a, k) => {
    unpack('popitem', a, k, []);
    const first = d.entries.values().next();
    if (first.done) fail('popitem: empty dict');
    const [key, v] = first.value!;
    d.delete(key);
    return new StarTuple([key, v]);
  },
  setdefault: (d, a, k) => {
    const [key, dflt] = unpack('setdefault', a, k, ['key', 'default?']);
    const v = d.get(key!);
    if (v !== undefined) return v;
    d.set(key!, dflt ?? null);
    return dflt ?? null;
  },
  update: (d, a, k) => {
    if (a.length > 1) fail(`update: got ${a.length} arguments, want at most 1`);
    const src = a[0];
    if (src instanceof StarDict) for (const [key, v] of [...src.entries.values()]) d.set(key, v);
    else if (src !== undefined) updateFromPairs(d, src, 'update');
    for (const [name, v] of k) d.set(name, v);
    return null;
  },
  values: (d, a, k) => {
    unpack('values', a, k, []);
    return new StarList([...d.entries.values()].map((e) => e[1]));
  },
};

/** dict(pairs) / d.update(pairs): each element must be a 2-element iterable. */
export function updateFromPairs(d: StarDict, src: Value, fn: string): void {
  const pairs = [...iterableItems(src, fn)];
  pairs.forEach((p, i) => {
    const kv = p instanceof StarList || p instanceof StarTuple ? p.items : null;
    if (kv?.length !== 2)
      fail(`${fn}: element #${i} is ${kv ? `a sequence of length ${kv.length}` : `not iterable (${typeName(p)})`}, want a key/value pair`);
    d.set(kv![0]!, kv![1]!);
  });
}
