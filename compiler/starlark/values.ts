// Starlark values. Scalars are JS primitives (None = null, bool, int = integral
// number, string); containers and callables are the classes below.

import type { Func } from './ast.js';
import { fail } from './errors.js';

export type Value = null | boolean | number | string | StarList | StarTuple | StarDict | StarRange | Callable | HostModule;
export type Callable = StarFunction | Builtin;

/** Called with evaluated positional and keyword arguments. */
export type HostFunction = (args: Value[], kwargs: Map<string, Value>) => Value;

/** What native functions may ask of the running interpreter. */
export interface Thread {
  /** Calls a Starlark or native function (e.g. a sort key). */
  call(fn: Value, args: Value[], kwargs?: Map<string, Value>): Value;
  print(s: string): void;
  /** Charges `n` execution steps against the budget. */
  step(n: number): void;
}

export type NativeFunction = (args: Value[], kwargs: Map<string, Value>, thread: Thread) => Value;

export class StarList {
  /** >0 while a for loop or comprehension walks the list. */
  iterating = 0;
  constructor(public items: Value[]) {}
  checkMutable(what: string): void {
    if (this.iterating > 0) fail(`cannot ${what} list during iteration`);
  }
}

export class StarTuple {
  constructor(readonly items: readonly Value[]) {}
}

export class StarRange {
  constructor(
    readonly start: number,
    readonly stop: number,
    readonly step: number,
  ) {}
  get length(): number {
    const n = this.step > 0 ? Math.ceil((this.stop - this.start) / this.step) : Math.ceil((this.start - this.stop) / -this.step);
    return Math.max(0, n);
  }
  at(i: number): number {
    return this.start + i * this.step;
  }
}

/** Insertion-ordered dict; keys are stored under a primitive hash key. */
export class StarDict {
  iterating = 0;
  readonly entries = new Map<unknown, [Value, Value]>();
  get size(): number {
    return this.entries.size;
  }
  get(key: Value): Value | undefined {
    return this.entries.get(hashKey(key))?.[1];
  }
  has(key: Value): boolean {
    return this.entries.has(hashKey(key));
  }
  set(key: Value, value: Value): void {
    const h = hashKey(key);
    const e = this.entries.get(h);
    if (e) {
      e[1] = value;
      return;
    }
    this.checkMutable('insert into');
    this.entries.set(h, [key, value]);
  }
  delete(key: Value): Value | undefined {
    const h = hashKey(key);
    const e = this.entries.get(h);
    if (!e) return undefined;
    this.checkMutable('delete from');
    this.entries.delete(h);
    return e[1];
  }
  clear(): void {
    this.checkMutable('clear');
    this.entries.clear();
  }
  keys(): Value[] {
    return [...this.entries.values()].map((e) => e[0]);
  }
  checkMutable(what: string): void {
    if (this.iterating > 0) fail(`cannot ${what} dict during iteration`);
  }
}

/** A function defined in Starlark (def or lambda), with its defining frame. */
export class StarFunction {
  constructor(
    readonly func: Func,
    readonly defaults: Array<Value | undefined>,
    readonly closure: Frame,
    readonly globals: Globals,
  ) {}
  get name(): string {
    return this.func.name;
  }
}

/** Frame slots of one call (or of the module, for top-level comprehensions). */
export interface Frame {
  slots: Array<Value | undefined>;
  parent: Frame | null;
}

/** Module state shared by the functions it defines. */
export interface Globals {
  names: string[];
  slots: Array<Value | undefined>;
  predeclared: Map<string, Value>;
}

/** A native function: universal builtin, bound method, or host function. */
export class Builtin {
  constructor(
    readonly name: string,
    readonly fn: NativeFunction,
  ) {}
}

/** An object with callable attributes, e.g. Chisel's `content`. */
export class HostModule {
  constructor(
    readonly name: string,
    readonly members: Map<string, Builtin>,
  ) {}
}

export function typeName(v: Value): string {
  if (v === null) return 'NoneType';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return 'int';
    case 'string':
      return 'string';
  }
  if (v instanceof StarList) return 'list';
  if (v instanceof StarTuple) return 'tuple';
  if (v instanceof StarDict) return 'dict';
  if (v instanceof StarRange) return 'range';
  if (v instanceof StarFunction) return 'function';
  if (v instanceof Builtin) return 'builtin_function_or_method';
  return 'module';
}

export function truthy(v: Value): boolean {
  if (v === null) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'string':
      return v.length > 0;
  }
  if (v instanceof StarList || v instanceof StarTuple) return v.items.length > 0;
  if (v instanceof StarDict) return v.size > 0;
  if (v instanceof StarRange) return v.length > 0;
  return true;
}

/** Primitive key under which a dict stores `v`; fails for unhashable values. */
export function hashKey(v: Value): unknown {
  if (typeof v === 'string') return v.charCodeAt(0) === 0 ? `\0s${v}` : v;
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return v;
  if (v instanceof StarTuple) {
    for (const x of v.items) hashKey(x);
    return `\0t${repr(v)}`;
  }
  if (v instanceof StarList || v instanceof StarDict) fail(`unhashable type: ${typeName(v)}`);
  return v; // functions, modules: identity
}

export function equals(a: Value, b: Value, depth = 0): boolean {
  if (a === b) return true;
  if (depth > 100) fail('comparison exceeds maximum nesting depth');
  if (a instanceof StarList || a instanceof StarTuple) {
    if (!(b instanceof (a instanceof StarList ? StarList : StarTuple))) return false;
    const bi = (b as StarList | StarTuple).items;
    if (a.items.length !== bi.length) return false;
    return a.items.every((x, i) => equals(x, bi[i]!, depth + 1));
  }
  if (a instanceof StarDict) {
    if (!(b instanceof StarDict) || a.size !== b.size) return false;
    for (const [h, [, v]] of a.entries) {
      const other = b.entries.get(h);
      if (!other || !equals(v, other[1], depth + 1)) return false;
    }
    return true;
  }
  if (a instanceof StarRange) {
    if (!(b instanceof StarRange) || a.length !== b.length) return false;
    return a.length === 0 || (a.start === b.start && (a.length === 1 || a.step === b.step));
  }
  return false;
}

/** Ordering for <, <=, >, >= and sorted(): ints, strings, bools, lists and tuples (lexicographic). */
export function compare(a: Value, b: Value, depth = 0): number {
  const ta = typeName(a);
  const tb = typeName(b);
  if (ta !== tb) fail(`unsupported comparison: ${ta} < ${tb}`);
  if (typeof a === 'number' || typeof a === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'string') {
    const bs = b as string;
    return a < bs ? -1 : a > bs ? 1 : 0;
  }
  if (a instanceof StarList || a instanceof StarTuple) {
    if (depth > 100) fail('comparison exceeds maximum nesting depth');
    const bi = (b as StarList | StarTuple).items;
    const n = Math.min(a.items.length, bi.length);
    for (let i = 0; i < n; i++) {
      if (equals(a.items[i]!, bi[i]!)) continue;
      return compare(a.items[i]!, bi[i]!, depth + 1);
    }
    return a.items.length - bi.length;
  }
  return fail(`unsupported comparison: ${ta} < ${tb}`);
}

export function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

export function repr(v: Value, seen: Set<unknown> = new Set()): string {
  if (typeof v === 'string') return quote(v);
  if (v instanceof StarList || v instanceof StarTuple || v instanceof StarDict) {
    if (seen.has(v)) return v instanceof StarDict ? '{...}' : v instanceof StarList ? '[...]' : '(...)';
    seen.add(v);
    let s: string;
    if (v instanceof StarDict) s = `{${[...v.entries.values()].map(([k, x]) => `${repr(k, seen)}: ${repr(x, seen)}`).join(', ')}}`;
    else {
      const inner = v.items.map((x) => repr(x, seen)).join(', ');
      s = v instanceof StarList ? `[${inner}]` : v.items.length === 1 ? `(${inner},)` : `(${inner})`;
    }
    seen.delete(v);
    return s;
  }
  return str(v);
}

export function str(v: Value): string {
  if (v === null) return 'None';
  switch (typeof v) {
    case 'boolean':
      return v ? 'True' : 'False';
    case 'number':
      return String(v);
    case 'string':
      return v;
  }
  if (v instanceof StarRange) return v.step === 1 ? `range(${v.start}, ${v.stop})` : `range(${v.start}, ${v.stop}, ${v.step})`;
  if (v instanceof StarFunction) return `<function ${v.name}>`;
  if (v instanceof Builtin) return `<built-in function ${v.name}>`;
  if (v instanceof HostModule) return `<module ${v.name}>`;
  return repr(v);
}

/** Elements of an iterable value, or a failure naming its type (and the calling function, if any). */
export function iterableItems(v: Value, fn?: string): readonly Value[] {
  const where = fn ? `${fn}: ` : '';
  if (v instanceof StarList || v instanceof StarTuple) return v.items;
  if (v instanceof StarDict) return v.keys();
  if (v instanceof StarRange) {
    if (v.length > 10_000_000) fail(`range of ${v.length} elements is too large to materialize`);
    const out: number[] = new Array(v.length);
    for (let i = 0; i < out.length; i++) out[i] = v.at(i);
    return out;
  }
  if (typeof v === 'string') fail(`${where}cannot iterate over string (use .elems() or .split())`);
  return fail(`${where}cannot iterate over ${typeName(v)}`);
}

export function toInt(v: Value, what: string): number {
  if (typeof v !== 'number') fail(`${what}: got ${typeName(v)}, want int`);
  return v;
}

export function toStr(v: Value, what: string): string {
  if (typeof v !== 'string') fail(`${what}: got ${typeName(v)}, want string`);
  return v;
}
