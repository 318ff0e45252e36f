// Public API of the Starlark interpreter used for Chisel mutate scripts.
//
//   runScript(source, { filename, globals: { content: hostModule('content', {...}) } })
//
// Scripts are parsed and resolved before they run (undefined names are errors
// even in functions never called), then executed under a step budget. Every
// error is a StarlarkError whose message starts with "file:line:col: ".

import { BUILTINS } from './builtins.js';
import { EvalFailure, StarlarkError } from './errors.js';
import { Interpreter } from './eval.js';
import { parse } from './parser.js';
import { resolve } from './resolver.js';
import {
  Builtin,
  HostModule,
  StarDict,
  StarFunction,
  StarList,
  StarRange,
  StarTuple,
  typeName,
  type Globals,
  type HostFunction,
  type Value,
} from './values.js';

export type { HostFunction, Value } from './values.js';
export { StarlarkError } from './errors.js';

export const DEFAULT_MAX_STEPS = 10_000_000;

export interface RunScriptOptions {
  /** Used in error messages ("file:line:col: ..."). */
  filename: string;
  /** Predeclared names; a script may rebind them at top level. */
  globals: Record<string, Value>;
  /** Execution budget: statements, loop iterations and calls. Default 10 million. */
  maxSteps?: number;
  /** Sink for print(); default discards. */
  print?: (s: string) => void;
}

/** An object whose attributes are host functions, e.g. `content.read(path)`. */
export function hostModule(name: string, methods: Record<string, HostFunction>): Value {
  const members = new Map<string, Builtin>();
  for (const [method, fn] of Object.entries(methods)) {
    members.set(method, new Builtin(`${name}.${method}`, (args, kwargs) => asValue(fn(args, kwargs))));
  }
  return new HostModule(name, members);
}

/** Parses and resolves a script without running it: syntax errors and undefined names. */
export function checkScript(source: string, opts: { filename: string; globals: Iterable<string> }): void {
  const names = new Set(opts.globals);
  resolve(parse(source, opts.filename), opts.filename, (n) => names.has(n) || BUILTINS.has(n));
}

/** Runs a script; returns the global variables it defined, in order of first binding. */
export function runScript(source: string, opts: RunScriptOptions): Map<string, Value> {
  const file = opts.filename;
  const predeclared = new Map<string, Value>(BUILTINS);
  for (const [name, v] of Object.entries(opts.globals)) predeclared.set(name, asValue(v));
  const mod = guard(file, () => {
    const m = parse(source, file);
    resolve(m, file, (n) => predeclared.has(n));
    return m;
  });
  const globals: Globals = {
    names: mod.globals,
    slots: mod.globals.map((n) => (Object.hasOwn(opts.globals, n) ? predeclared.get(n) : undefined)),
    predeclared,
  };
  const interp = new Interpreter({ file, maxSteps: opts.maxSteps ?? DEFAULT_MAX_STEPS, print: opts.print ?? (() => {}) });
  guard(file, () => interp.runModule(mod, globals));
  const out = new Map<string, Value>();
  mod.globals.forEach((n, i) => {
    const v = globals.slots[i];
    if (v !== undefined) out.set(n, v);
  });
  return out;
}

/** Internal failures that escaped location (e.g. stack exhaustion on absurd nesting) still become StarlarkErrors. */
function guard<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof StarlarkError) throw e;
    throw new StarlarkError(file, { line: 0, col: 0 }, e instanceof Error ? e.message : String(e), [], e);
  }
}

function isValue(x: unknown): x is Value {
  return (
    x === null ||
    typeof x === 'boolean' ||
    typeof x === 'string' ||
    (typeof x === 'number' && Number.isSafeInteger(x)) ||
    x instanceof StarList ||
    x instanceof StarTuple ||
    x instanceof StarDict ||
    x instanceof StarRange ||
    x instanceof StarFunction ||
    x instanceof Builtin ||
    x instanceof HostModule
  );
}

function asValue(x: unknown): Value {
  return isValue(x) ? x : fromJS(x);
}

/**
 * Starlark value -> plain JS: None -> null, lists/tuples/ranges -> arrays, dicts -> objects
 * (a Map when some key is not a string). Functions and modules are returned as they are.
 */
export function toJS(v: Value): unknown {
  if (v instanceof StarList || v instanceof StarTuple) return v.items.map(toJS);
  if (v instanceof StarRange) return Array.from({ length: v.length }, (_, i) => v.at(i));
  if (v instanceof StarDict) {
    const entries = [...v.entries.values()];
    if (entries.every(([k]) => typeof k === 'string')) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of entries) o[k as string] = toJS(x);
      return o;
    }
    return new Map(entries.map(([k, x]) => [toJS(k), toJS(x)]));
  }
  return v;
}

/**
 * Plain JS -> Starlark value: null/undefined -> None, arrays -> lists, Maps and plain
 * objects -> dicts, functions -> builtins called as HostFunction. Non-integral numbers fail.
 */
export function fromJS(x: unknown): Value {
  if (x === undefined || x === null) return null;
  if (isValue(x)) return x;
  if (typeof x === 'number') throw new EvalFailure(`cannot convert ${x} to a Starlark int (floats are not supported)`);
  if (typeof x === 'bigint') {
    if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < BigInt(Number.MIN_SAFE_INTEGER)) throw new EvalFailure(`int ${x} is too large`);
    return Number(x);
  }
  if (Array.isArray(x)) return new StarList(x.map(fromJS));
  if (x instanceof Map) {
    const d = new StarDict();
    for (const [k, v] of x) d.set(fromJS(k), fromJS(v));
    return d;
  }
  if (typeof x === 'function') {
    const fn = x as HostFunction;
    return new Builtin(fn.name || 'host_function', (args, kwargs) => asValue(fn(args, kwargs)));
  }
  if (typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
    const d = new StarDict();
    for (const [k, v] of Object.entries(x)) d.set(k, fromJS(v));
    return d;
  }
  throw new EvalFailure(`cannot convert ${Object.prototype.toString.call(x)} to a Starlark value`);
}

/** The Starlark type name of a value ("string", "list", ...). */
export function starlarkType(v: Value): string {
  return typeName(v);
}
