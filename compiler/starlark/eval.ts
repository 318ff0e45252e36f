// Tree-walking evaluator over the resolved syntax tree. Every statement, loop
// iteration and call costs one step; running past the budget is an error.
// Failures without a position (EvalFailure, host errors) are located at the
// innermost expression or statement being evaluated.

import type { Arg, Comprehension, Expr, Func, Module, Node, Stmt } from './ast.js';
import { mustGetAttr } from './attrs.js';
import { EvalFailure, fail, StarlarkError, type Frame as TraceFrame } from './errors.js';
import { binaryOp, unaryOp } from './operators.js';
import { indexValue, sliceValue } from './sequence.js';
import {
  Builtin,
  HostModule,
  iterableItems,
  StarDict,
  StarFunction,
  StarList,
  StarRange,
  StarTuple,
  truthy,
  typeName,
  type Frame,
  type Globals,
  type Thread,
  type Value,
} from './values.js';

enum Flow {
  Normal,
  Break,
  Continue,
  Return,
}

interface CallRecord {
  fn: string;
  line: number;
  col: number;
}

export interface RunOptions {
  file: string;
  maxSteps: number;
  print: (s: string) => void;
}

export class Interpreter implements Thread {
  private steps = 0;
  private returnValue: Value = null;
  /** Functions being executed, for the recursion check. */
  private readonly active = new Set<Func>();
  private readonly callStack: CallRecord[] = [];

  constructor(private readonly opts: RunOptions) {}

  // ---- Thread ----
  print(s: string): void {
    this.opts.print(s);
  }

  step(n: number): void {
    this.steps += n;
    if (this.steps > this.opts.maxSteps) fail(`execution exceeded the limit of ${this.opts.maxSteps} steps (infinite or runaway loop?)`);
  }

  call(fn: Value, args: Value[], kwargs: Map<string, Value> = new Map()): Value {
    if (fn instanceof StarFunction) return this.callFunction(fn, args, kwargs, null);
    if (fn instanceof Builtin) return this.callBuiltin(fn, args, kwargs);
    return fail(`invalid call of non-function (${typeName(fn)})`);
  }

  // ---- module ----
  runModule(mod: Module, globals: Globals): void {
    const frame: Frame = { slots: new Array(mod.locals), parent: null };
    const flow = this.execBlock(mod.body, frame, globals);
    if (flow !== Flow.Normal) throw new Error('internal: control flow escaped the module');
  }

  // ---- errors ----
  /** Gives a position to a failure that has none; passes located errors through. */
  private locate(err: unknown, at: Node): StarlarkError {
    if (err instanceof StarlarkError) return err;
    const reason = err instanceof Error ? err.message : String(err);
    const cause = err instanceof EvalFailure ? undefined : err;
    return new StarlarkError(this.opts.file, at, reason, this.traceback(at), cause);
  }

  private traceback(at: Node): TraceFrame[] {
    if (this.callStack.length === 0) return [];
    const file = this.opts.file;
    const frames: TraceFrame[] = [];
    let fn = '<toplevel>';
    for (const c of this.callStack) {
      frames.push({ fn, file, line: c.line, col: c.col });
      fn = c.fn;
    }
    frames.push({ fn, file, line: at.line, col: at.col });
    return frames;
  }

  // ---- statements ----
  private execBlock(body: Stmt[], frame: Frame, g: Globals): Flow {
    for (const s of body) {
      const flow = this.exec(s, frame, g);
      if (flow !== Flow.Normal) return flow;
    }
    return Flow.Normal;
  }

  private exec(s: Stmt, frame: Frame, g: Globals): Flow {
    try {
      this.step(1);
      switch (s.k) {
        case 'expr':
          this.eval(s.x, frame, g);
          return Flow.Normal;
        case 'assign':
          if (s.op === '=') this.assign(s.lhs, this.eval(s.rhs, frame, g), frame, g);
          else this.augmented(s.op.slice(0, -1), s.lhs, s.rhs, frame, g);
          return Flow.Normal;
        case 'if':
          return this.execBlock(truthy(this.eval(s.cond, frame, g)) ? s.then : s.else, frame, g);
        case 'for':
          return this.forLoop(s, frame, g);
        case 'def':
          this.assign(s.target, this.makeFunction(s.func, frame, g), frame, g);
          return Flow.Normal;
        case 'return':
          this.returnValue = s.x ? this.eval(s.x, frame, g) : null;
          return Flow.Return;
        case 'break':
          return Flow.Break;
        case 'continue':
          return Flow.Continue;
        case 'pass':
          return Flow.Normal;
      }
    } catch (e) {
      throw this.locate(e, s);
    }
  }

  private forLoop(s: Extract<Stmt, { k: 'for' }>, frame: Frame, g: Globals): Flow {
    const seq = this.eval(s.iter, frame, g);
    let result = Flow.Normal;
    this.iterate(seq, s.iter, (v) => {
      this.step(1);
      this.assign(s.target, v, frame, g);
      const flow = this.execBlock(s.body, frame, g);
      if (flow === Flow.Break) return false;
      if (flow === Flow.Return) {
        result = Flow.Return;
        return false;
      }
      return true;
    });
    return result;
  }

  /** Calls `body` per element until it returns false; lists and dicts are locked meanwhile. */
  private iterate(seq: Value, at: Node, body: (v: Value) => boolean): void {
    if (seq instanceof StarRange) {
      const n = seq.length;
      for (let i = 0; i < n; i++) if (!body(seq.at(i))) return;
      return;
    }
    let items: readonly Value[];
    try {
      items = iterableItems(seq);
    } catch (e) {
      throw this.locate(e, at);
    }
    const locked = seq instanceof StarList || seq instanceof StarDict ? seq : null;
    if (locked) locked.iterating++;
    try {
      for (const v of items) if (!body(v)) return;
    } finally {
      if (locked) locked.iterating--;
    }
  }

  // ---- assignment ----
  private assign(target: Expr, v: Value, frame: Frame, g: Globals): void {
    switch (target.k) {
      case 'ident':
        if (target.scope === 'local') frame.slots[target.index!] = v;
        else if (target.scope === 'global') g.slots[target.index!] = v;
        else fail(`internal: cannot assign to ${target.scope} ${target.name}`);
        return;
      case 'tuple':
      case 'list': {
        if (!(v instanceof StarList || v instanceof StarTuple || v instanceof StarRange || v instanceof StarDict)) {
          fail(`got ${typeName(v)} in sequence assignment, want a ${target.elems.length}-element sequence`);
        }
        const items = iterableItems(v);
        if (items.length !== target.elems.length) {
          fail(
            `too ${items.length > target.elems.length ? 'many' : 'few'} values to unpack (got ${items.length}, want ${target.elems.length})`,
          );
        }
        for (const [i, t] of target.elems.entries()) this.assign(t, items[i]!, frame, g);
        return;
      }
      case 'index': {
        const x = this.eval(target.x, frame, g);
        const key = this.eval(target.index, frame, g);
        this.setIndex(x, key, v, target);
        return;
      }
      case 'dot': {
        this.eval(target.x, frame, g);
        this.at(target, () => fail(`cannot assign to field .${target.name}`));
      }
    }
    fail(`cannot assign to ${target.k} expression`);
  }

  private setIndex(x: Value, key: Value, v: Value, at: Node): void {
    try {
      if (x instanceof StarDict) return x.set(key, v);
      if (x instanceof StarList) {
        x.checkMutable('assign to element of');
        if (typeof key !== 'number') fail(`list index: got ${typeName(key)}, want int`);
        const n = x.items.length;
        const i = (key as number) < 0 ? (key as number) + n : (key as number);
        if (i < 0 || i >= n) fail(`index ${key} out of range: list has ${n} element${n === 1 ? '' : 's'}`);
        x.items[i] = v;
        return;
      }
      fail(`${typeName(x)} value does not support item assignment`);
    } catch (e) {
      throw this.locate(e, at);
    }
  }

  private augmented(op: string, lhs: Expr, rhs: Expr, frame: Frame, g: Globals): void {
    if (lhs.k === 'index') {
      const x = this.eval(lhs.x, frame, g);
      const key = this.eval(lhs.index, frame, g);
      const old = this.at(lhs, () => indexValue(x, key));
      this.setIndex(x, key, this.combine(op, old, this.eval(rhs, frame, g), lhs), lhs);
      return;
    }
    if (lhs.k === 'dot') {
      this.eval(lhs.x, frame, g);
      this.at(lhs, () => fail(`cannot assign to field .${lhs.name}`));
    }
    const old = this.eval(lhs, frame, g);
    this.assign(lhs, this.combine(op, old, this.eval(rhs, frame, g), lhs), frame, g);
  }

  /** `x op= y`: a list on the left is extended in place, as in Starlark. */
  private combine(op: string, x: Value, y: Value, at: Node): Value {
    if (op === '+' && x instanceof StarList && y instanceof StarList) {
      this.at(at, () => x.checkMutable('extend'));
      x.items.push(...y.items);
      return x;
    }
    return this.at(at, () => binaryOp(op, x, y));
  }

  private at<T>(node: Node, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw this.locate(e, node);
    }
  }

  // ---- expressions ----
  private eval(e: Expr, frame: Frame, g: Globals): Value {
    try {
      return this.evalInner(e, frame, g);
    } catch (err) {
      throw this.locate(err, e);
    }
  }

  private evalInner(e: Expr, frame: Frame, g: Globals): Value {
    switch (e.k) {
      case 'ident':
        return this.lookup(e, frame, g);
      case 'const':
      case 'int':
      case 'str':
        return e.value;
      case 'list':
        return new StarList(e.elems.map((x) => this.eval(x, frame, g)));
      case 'tuple':
        return new StarTuple(e.elems.map((x) => this.eval(x, frame, g)));
      case 'dict': {
        const d = new StarDict();
        for (const [k, v] of e.entries) {
          const key = this.eval(k, frame, g);
          const val = this.eval(v, frame, g);
          if (d.has(key))
            this.at(k, () => fail(`duplicate key ${typeof key === 'string' ? JSON.stringify(key) : String(key)} in dict literal`));
          d.set(key, val);
        }
        return d;
      }
      case 'comp':
        return this.comprehension(e, frame, g);
      case 'unary':
        return unaryOp(e.op, this.eval(e.x, frame, g));
      case 'binary': {
        const x = this.eval(e.x, frame, g);
        if (e.op === 'and') return truthy(x) ? this.eval(e.y, frame, g) : x;
        if (e.op === 'or') return truthy(x) ? x : this.eval(e.y, frame, g);
        return binaryOp(e.op, x, this.eval(e.y, frame, g));
      }
      case 'cond':
        return truthy(this.eval(e.cond, frame, g)) ? this.eval(e.then, frame, g) : this.eval(e.else, frame, g);
      case 'call':
        return this.callExpr(e.fn, e.args, e, frame, g);
      case 'index':
        return indexValue(this.eval(e.x, frame, g), this.eval(e.index, frame, g));
      case 'slice': {
        const x = this.eval(e.x, frame, g);
        const part = (p: Expr | null): Value => (p ? this.eval(p, frame, g) : null);
        const lo = part(e.lo);
        const hi = part(e.hi);
        const step = part(e.step);
        if (x instanceof StarDict) fail('cannot slice dict');
        return sliceValue(x, lo, hi, step);
      }
      case 'dot':
        return mustGetAttr(this.eval(e.x, frame, g), e.name);
      case 'lambda':
        return this.makeFunction(e.func, frame, g);
    }
  }

  private lookup(id: Extract<Expr, { k: 'ident' }>, frame: Frame, g: Globals): Value {
    let v: Value | undefined;
    switch (id.scope) {
      case 'local':
        v = frame.slots[id.index!];
        if (v === undefined) fail(`local variable ${id.name} referenced before assignment`);
        return v!;
      case 'free': {
        let f: Frame | null = frame;
        for (let d = 0; d < id.depth! && f; d++) f = f.parent;
        v = f?.slots[id.index!];
        if (v === undefined) fail(`variable ${id.name} referenced before assignment (in enclosing function)`);
        return v!;
      }
      case 'global':
        v = g.slots[id.index!];
        if (v === undefined) fail(`global variable ${id.name} referenced before assignment`);
        return v!;
      default:
        v = g.predeclared.get(id.name);
        if (v === undefined) fail(`undefined: ${id.name}`);
        return v!;
    }
  }

  private comprehension(c: Comprehension, frame: Frame, g: Globals): Value {
    const list: Value[] = [];
    const dict = c.dict ? new StarDict() : null;
    const clause = (i: number): void => {
      const cl = c.clauses[i];
      if (!cl) {
        if (dict) {
          const key = this.eval(c.body, frame, g);
          dict.set(key, this.eval(c.value!, frame, g));
        } else list.push(this.eval(c.body, frame, g));
        return;
      }
      if (cl.k === 'if') {
        if (truthy(this.eval(cl.cond, frame, g))) clause(i + 1);
        return;
      }
      this.iterate(this.eval(cl.iter, frame, g), cl.iter, (v) => {
        this.step(1);
        this.at(cl, () => this.assign(cl.target, v, frame, g));
        clause(i + 1);
        return true;
      });
    };
    clause(0);
    return dict ?? new StarList(list);
  }

  // ---- calls ----
  private makeFunction(f: Func, frame: Frame, g: Globals): StarFunction {
    const defaults = f.params.map((p) => (p.default ? this.eval(p.default, frame, g) : undefined));
    return new StarFunction(f, defaults, frame, g);
  }

  private callExpr(fnExpr: Expr, argExprs: Arg[], at: Node, frame: Frame, g: Globals): Value {
    const fn = this.eval(fnExpr, frame, g);
    const args: Value[] = [];
    const kwargs = new Map<string, Value>();
    for (const a of argExprs) {
      const v = this.eval(a.value, frame, g);
      if (a.kind === 'pos') args.push(v);
      else if (a.kind === 'named') kwargs.set(a.name!, v);
      else if (a.kind === 'star') {
        if (!(v instanceof StarList || v instanceof StarTuple))
          this.at(a, () => fail(`argument after * must be a list or tuple, not ${typeName(v)}`));
        args.push(...(v as StarList | StarTuple).items);
      } else {
        if (!(v instanceof StarDict)) this.at(a, () => fail(`argument after ** must be a dict, not ${typeName(v)}`));
        for (const [k, x] of (v as StarDict).entries.values()) {
          if (typeof k !== 'string') this.at(a, () => fail(`keywords must be strings, not ${typeName(k)}`));
          if (kwargs.has(k as string)) this.at(a, () => fail(`got multiple values for keyword argument "${k as string}"`));
          kwargs.set(k as string, x);
        }
      }
    }
    if (fn instanceof StarFunction) return this.callFunction(fn, args, kwargs, at);
    if (fn instanceof Builtin) return this.callBuiltin(fn, args, kwargs);
    if (fn instanceof HostModule) return fail(`invalid call of non-function (module ${fn.name})`);
    return fail(`invalid call of non-function (${typeName(fn)})`);
  }

  private callBuiltin(fn: Builtin, args: Value[], kwargs: Map<string, Value>): Value {
    this.step(1);
    const result = fn.fn(args, kwargs, this);
    return result;
  }

  private callFunction(fn: StarFunction, args: Value[], kwargs: Map<string, Value>, at: Node | null): Value {
    const f = fn.func;
    if (this.active.has(f)) fail(`function ${f.name} called recursively`);
    this.step(1);
    const slots = this.bindParams(fn, args, kwargs);
    const frame: Frame = { slots, parent: fn.closure };
    this.active.add(f);
    this.callStack.push({ fn: f.name, line: at?.line ?? f.line, col: at?.col ?? f.col });
    try {
      const flow = this.execBlock(f.body, frame, fn.globals);
      if (flow === Flow.Return) {
        const v = this.returnValue;
        this.returnValue = null;
        return v;
      }
      return null;
    } finally {
      this.callStack.pop();
      this.active.delete(f);
    }
  }

  private bindParams(fn: StarFunction, args: Value[], kwargs: Map<string, Value>): Array<Value | undefined> {
    const f = fn.func;
    const name = f.name;
    const slots: Array<Value | undefined> = new Array(f.locals);
    const params = f.params;
    const starIndex = params.findIndex((p) => p.kind === 'star');
    const positional = starIndex < 0 ? params.filter((p) => p.kind === 'normal').length : starIndex;
    const kwIndex = params.findIndex((p) => p.kind === 'starstar');
    // Slot numbers: params with names, in order.
    const slotOf: number[] = [];
    let n = 0;
    for (const p of params) slotOf.push(p.name ? n++ : -1);

    if (args.length > positional && (starIndex < 0 || !params[starIndex]!.name)) {
      fail(`${name}: got ${args.length} positional argument${args.length === 1 ? '' : 's'}, want at most ${positional}`);
    }
    for (let i = 0; i < Math.min(args.length, positional); i++) slots[slotOf[i]!] = args[i]!;
    if (starIndex >= 0 && params[starIndex]!.name) slots[slotOf[starIndex]!] = new StarTuple(args.slice(positional));

    const extra = kwIndex >= 0 ? new StarDict() : null;
    for (const [k, v] of kwargs) {
      const i = params.findIndex((p) => p.kind === 'normal' && p.name === k);
      if (i < 0) {
        if (!extra) fail(`${name}: unexpected keyword argument "${k}"`);
        extra!.set(k, v);
        continue;
      }
      if (slots[slotOf[i]!] !== undefined) fail(`${name}: got multiple values for parameter "${k}"`);
      slots[slotOf[i]!] = v;
    }
    if (extra) slots[slotOf[kwIndex]!] = extra;

    params.forEach((p, i) => {
      if (p.kind !== 'normal' || slots[slotOf[i]!] !== undefined) return;
      const d = fn.defaults[i];
      if (d === undefined) fail(`${name}: missing argument for ${p.name}`);
      slots[slotOf[i]!] = d;
    });
    return slots;
  }
}
