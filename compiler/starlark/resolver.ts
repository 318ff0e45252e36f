// Static name resolution (spec "Name binding and variables"): every
// identifier becomes a local slot, a free variable of an enclosing function,
// a global slot, or a predeclared name; anything else is an "undefined" error
// before the script runs, even in functions that are never called.

import type { Expr, Func, Ident, Module, Stmt } from './ast.js';
import { StarlarkError } from './errors.js';

class FuncScope {
  readonly locals = new Map<string, number>();
  /** Comprehension scopes, innermost last. */
  readonly blocks: Array<Map<string, number>> = [];
  count = 0;
  constructor(readonly parent: FuncScope | null) {}
  alloc(): number {
    return this.count++;
  }
}

export function resolve(mod: Module, file: string, isPredeclared: (name: string) => boolean): void {
  const globals = new Map<string, number>();
  for (const name of boundNames(mod.body)) {
    globals.set(name, globals.size);
  }
  mod.globals = [...globals.keys()];
  const moduleScope = new FuncScope(null);
  let scope = moduleScope;

  const error = (id: Ident, msg: string): never => {
    throw new StarlarkError(file, id, msg);
  };

  function lookup(id: Ident): void {
    let depth = 0;
    for (let fs: FuncScope | null = scope; fs; fs = fs.parent, depth++) {
      let index: number | undefined;
      for (let b = fs.blocks.length - 1; b >= 0 && index === undefined; b--) index = fs.blocks[b]!.get(id.name);
      if (index === undefined) index = fs.locals.get(id.name);
      if (index !== undefined) {
        id.scope = depth === 0 ? 'local' : 'free';
        id.index = index;
        id.depth = depth;
        return;
      }
    }
    const g = globals.get(id.name);
    if (g !== undefined) {
      id.scope = 'global';
      id.index = g;
    } else if (isPredeclared(id.name)) id.scope = 'predeclared';
    else error(id, `undefined: ${id.name}`);
  }

  /** A name being bound: comprehension variable, function local, or global. */
  function bind(id: Ident): void {
    const block = scope.blocks[scope.blocks.length - 1];
    if (block) {
      let index = block.get(id.name);
      if (index === undefined) block.set(id.name, (index = scope.alloc()));
      id.scope = 'local';
      id.index = index;
      id.depth = 0;
    } else lookup(id);
  }

  function target(e: Expr): void {
    switch (e.k) {
      case 'ident':
        return bind(e);
      case 'list':
      case 'tuple':
        return e.elems.forEach(target);
      default:
        return expr(e);
    }
  }

  function func(f: Func): void {
    for (const p of f.params) if (p.default) expr(p.default);
    const fs = new FuncScope(scope);
    for (const p of f.params) if (p.name) fs.locals.set(p.name, fs.alloc());
    for (const name of boundNames(f.body)) if (!fs.locals.has(name)) fs.locals.set(name, fs.alloc());
    const saved = scope;
    scope = fs;
    stmts(f.body);
    scope = saved;
    f.locals = fs.count;
  }

  function stmts(list: Stmt[]): void {
    for (const s of list) stmt(s);
  }

  function stmt(s: Stmt): void {
    switch (s.k) {
      case 'expr':
        return expr(s.x);
      case 'assign':
        expr(s.rhs);
        return target(s.lhs);
      case 'if':
        expr(s.cond);
        stmts(s.then);
        return stmts(s.else);
      case 'for':
        expr(s.iter);
        target(s.target);
        return stmts(s.body);
      case 'def':
        func(s.func);
        return bind(s.target);
      case 'return':
        if (s.x) expr(s.x);
        return;
      default:
        return;
    }
  }

  function expr(e: Expr): void {
    switch (e.k) {
      case 'ident':
        return lookup(e);
      case 'const':
      case 'int':
      case 'str':
        return;
      case 'list':
      case 'tuple':
        return e.elems.forEach(expr);
      case 'dict':
        for (const [k, v] of e.entries) {
          expr(k);
          expr(v);
        }
        return;
      case 'comp': {
        // The first iterable is evaluated in the enclosing scope.
        const first = e.clauses[0];
        if (first?.k === 'for') expr(first.iter);
        scope.blocks.push(new Map());
        e.clauses.forEach((c, i) => {
          if (c.k === 'for') {
            if (i > 0) expr(c.iter);
            target(c.target);
          } else expr(c.cond);
        });
        expr(e.body);
        if (e.value) expr(e.value);
        scope.blocks.pop();
        return;
      }
      case 'unary':
        return expr(e.x);
      case 'binary':
        expr(e.x);
        return expr(e.y);
      case 'cond':
        expr(e.cond);
        expr(e.then);
        return expr(e.else);
      case 'call':
        expr(e.fn);
        for (const a of e.args) expr(a.value);
        return;
      case 'index':
        expr(e.x);
        return expr(e.index);
      case 'slice':
        expr(e.x);
        for (const p of [e.lo, e.hi, e.step]) if (p) expr(p);
        return;
      case 'dot':
        return expr(e.x);
      case 'lambda':
        return func(e.func);
    }
  }

  stmts(mod.body);
  mod.locals = moduleScope.count;
}

/** Names bound by a block's statements (not inside nested functions or comprehensions). */
function boundNames(body: Stmt[]): string[] {
  const names = new Set<string>();
  const fromTarget = (e: Expr): void => {
    if (e.k === 'ident') names.add(e.name);
    else if (e.k === 'list' || e.k === 'tuple') e.elems.forEach(fromTarget);
  };
  const walk = (list: Stmt[]): void => {
    for (const s of list) {
      if (s.k === 'assign') fromTarget(s.lhs);
      else if (s.k === 'for') {
        fromTarget(s.target);
        walk(s.body);
      } else if (s.k === 'if') {
        walk(s.then);
        walk(s.else);
      } else if (s.k === 'def') names.add(s.target.name);
    }
  };
  walk(body);
  return [...names];
}
