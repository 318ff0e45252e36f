// Recursive-descent parser for the Starlark grammar (spec "Grammar reference"),
// Chisel dialect: top-level if/for allowed, no load, no while.

import type { Arg, Comprehension, Expr, Func, Ident, Module, Node, Param, Stmt } from './ast.js';
import { StarlarkError } from './errors.js';
import { tokenize, type Token } from './lexer.js';

const RESERVED = new Set([
  'as',
  'assert',
  'async',
  'await',
  'class',
  'del',
  'except',
  'finally',
  'from',
  'global',
  'import',
  'is',
  'nonlocal',
  'raise',
  'try',
  'with',
  'yield',
]);
const KEYWORDS = new Set([
  'and',
  'break',
  'continue',
  'def',
  'elif',
  'else',
  'for',
  'if',
  'in',
  'lambda',
  'load',
  'not',
  'or',
  'pass',
  'return',
  'while',
  'None',
  'True',
  'False',
]);
const CONSTANTS: Record<string, null | boolean> = { None: null, True: true, False: false };
const COMPARISONS = new Set(['==', '!=', '<', '>', '<=', '>=', 'in', 'not in']);
const AUGMENTED = new Set(['+=', '-=', '*=', '/=', '//=', '%=', '&=', '|=', '^=', '<<=', '>>=']);
/** Binary operators above comparisons, lowest precedence first. */
const BINARY_LEVELS = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '//', '%']];

export function parse(src: string, file: string): Module {
  return new Parser(tokenize(src, file), file).parseModule();
}

class Parser {
  private i = 0;
  private funcDepth = 0;
  constructor(
    private readonly toks: Token[],
    private readonly file: string,
  ) {}

  parseModule(): Module {
    const body: Stmt[] = [];
    while (this.peek().kind !== 'eof') {
      if (this.peek().kind === 'newline') this.i++;
      else body.push(...this.statement());
    }
    return { body, globals: [], locals: 0 };
  }

  // ---- tokens ----
  private peek(n = 0): Token {
    return this.toks[Math.min(this.i + n, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private isOp(text: string, n = 0): boolean {
    const t = this.peek(n);
    return t.kind === 'op' && t.text === text;
  }
  private isKw(word: string, n = 0): boolean {
    const t = this.peek(n);
    return t.kind === 'name' && t.text === word;
  }
  private eatOp(text: string): boolean {
    if (!this.isOp(text)) return false;
    this.i++;
    return true;
  }
  private eatKw(word: string): boolean {
    if (!this.isKw(word)) return false;
    this.i++;
    return true;
  }
  private expectOp(text: string): Token {
    if (!this.isOp(text)) this.unexpected(`want ${text}`);
    return this.next();
  }
  private expectKw(word: string): Token {
    if (!this.isKw(word)) this.unexpected(`want ${word}`);
    return this.next();
  }
  private describe(t: Token): string {
    switch (t.kind) {
      case 'eof':
        return 'end of file';
      case 'newline':
        return 'newline';
      case 'indent':
        return 'indent';
      case 'dedent':
        return 'outdent';
      case 'string':
        return 'string literal';
      case 'int':
        return `int literal ${t.text}`;
      default:
        return t.text;
    }
  }
  private unexpected(want: string, t = this.peek()): never {
    throw this.error(t, `syntax error: got ${this.describe(t)}, ${want}`);
  }
  private error(at: Node, msg: string): StarlarkError {
    return new StarlarkError(this.file, at, msg);
  }
  private pos(t: Node): Node {
    return { line: t.line, col: t.col };
  }

  // ---- statements ----
  private statement(): Stmt[] {
    const t = this.peek();
    if (t.kind === 'indent') throw this.error(t, 'syntax error: unexpected indentation');
    if (t.kind === 'name') {
      switch (t.text) {
        case 'def':
          return [this.defStmt()];
        case 'if':
          return [this.ifStmt()];
        case 'for':
          return [this.forStmt()];
        case 'while':
          throw this.error(t, 'while loops are not allowed in Starlark');
      }
    }
    return this.simpleStatements();
  }

  private simpleStatements(): Stmt[] {
    const out: Stmt[] = [this.smallStatement()];
    while (this.eatOp(';')) {
      if (this.peek().kind === 'newline' || this.peek().kind === 'eof') break;
      out.push(this.smallStatement());
    }
    const t = this.peek();
    if (t.kind !== 'newline' && t.kind !== 'eof') this.unexpected('want newline');
    this.next();
    return out;
  }

  private smallStatement(): Stmt {
    const t = this.peek();
    const at = this.pos(t);
    if (t.kind === 'name') {
      switch (t.text) {
        case 'pass':
        case 'break':
        case 'continue':
          this.next();
          if (t.text !== 'pass' && this.loopDepth === 0) throw this.error(t, `${t.text} not in a loop`);
          return { k: t.text, ...at };
        case 'return': {
          this.next();
          if (this.funcDepth === 0) throw this.error(t, 'return statement not within a function');
          const k = this.peek().kind;
          const x = k === 'newline' || k === 'eof' || this.isOp(';') ? null : this.expression();
          return { k: 'return', x, ...at };
        }
        case 'load':
          throw this.error(t, 'load statements are not allowed in mutate scripts');
      }
    }
    const lhs = this.expression();
    const op = this.peek();
    if (op.kind === 'op' && (op.text === '=' || AUGMENTED.has(op.text))) {
      this.next();
      this.checkTarget(lhs, op.text !== '=');
      const rhs = this.expression();
      return { k: 'assign', op: op.text, lhs, rhs, line: op.line, col: op.col };
    }
    return { k: 'expr', x: lhs, ...at };
  }

  private loopDepth = 0;

  private checkTarget(e: Expr, augmented: boolean): void {
    switch (e.k) {
      case 'ident':
      case 'index':
      case 'dot':
        return;
      case 'list':
      case 'tuple':
        if (augmented) break;
        if (e.elems.length === 0 && e.k === 'tuple') break;
        for (const x of e.elems) this.checkTarget(x, false);
        return;
    }
    throw this.error(e, `cannot assign to ${describeExpr(e)}`);
  }

  private suite(): Stmt[] {
    if (this.peek().kind !== 'newline') return this.simpleStatements();
    this.next();
    if (this.peek().kind !== 'indent') this.unexpected('want an indented block');
    this.next();
    const body: Stmt[] = [];
    while (this.peek().kind !== 'dedent' && this.peek().kind !== 'eof') body.push(...this.statement());
    this.next();
    return body;
  }

  private defStmt(): Stmt {
    const kw = this.expectKw('def');
    const nameTok = this.next();
    if (nameTok.kind !== 'name' || KEYWORDS.has(nameTok.text)) this.unexpected('want function name', nameTok);
    this.expectOp('(');
    const params = this.parameters(')');
    this.expectOp(')');
    this.expectOp(':');
    const loops = this.loopDepth;
    this.loopDepth = 0;
    this.funcDepth++;
    const body = this.suite();
    this.funcDepth--;
    this.loopDepth = loops;
    const func: Func = { name: nameTok.text, params, body, locals: 0, ...this.pos(kw) };
    const target: Ident = { k: 'ident', name: nameTok.text, ...this.pos(nameTok) };
    return { k: 'def', target, func, ...this.pos(kw) };
  }

  private parameters(close: string): Param[] {
    const params: Param[] = [];
    const seen = new Set<string>();
    let sawStar = false;
    let sawDefault = false;
    while (!this.isOp(close)) {
      const t = this.peek();
      let p: Param;
      if (this.eatOp('**')) {
        p = { kind: 'starstar', name: this.paramName(), default: null, ...this.pos(t) };
      } else if (this.eatOp('*')) {
        if (sawStar) throw this.error(t, 'multiple * parameters not allowed');
        sawStar = true;
        const name = this.peek().kind === 'name' ? this.paramName() : '';
        p = { kind: 'star', name, default: null, ...this.pos(t) };
      } else {
        const name = this.paramName();
        const def = this.eatOp('=') ? this.test() : null;
        if (def) sawDefault = true;
        else if (sawDefault && !sawStar) throw this.error(t, 'required parameter may not follow optional');
        p = { kind: 'normal', name, default: def, ...this.pos(t) };
      }
      const last = params[params.length - 1];
      if (last?.kind === 'starstar') throw this.error(t, 'parameter may not follow **kwargs');
      if (p.name) {
        if (seen.has(p.name)) throw this.error(t, `duplicate parameter: ${p.name}`);
        seen.add(p.name);
      }
      params.push(p);
      if (!this.eatOp(',')) break;
    }
    const star = params.find((p) => p.kind === 'star' && !p.name);
    if (star) {
      const after = params.slice(params.indexOf(star) + 1);
      if (!after.some((p) => p.kind === 'normal')) throw this.error(star, 'bare * must be followed by keyword-only parameters');
    }
    return params;
  }

  private paramName(): string {
    const t = this.next();
    if (t.kind !== 'name' || KEYWORDS.has(t.text)) this.unexpected('want parameter name', t);
    this.checkName(t);
    return t.text;
  }

  private ifStmt(): Stmt {
    const kw = this.next(); // 'if' or 'elif'
    const cond = this.test();
    this.expectOp(':');
    const then = this.suite();
    let els: Stmt[] = [];
    if (this.isKw('elif')) els = [this.ifStmt()];
    else if (this.eatKw('else')) {
      this.expectOp(':');
      els = this.suite();
    }
    return { k: 'if', cond, then, else: els, ...this.pos(kw) };
  }

  private forStmt(): Stmt {
    const kw = this.expectKw('for');
    const target = this.loopVariables();
    this.expectKw('in');
    const iter = this.expression();
    this.expectOp(':');
    this.loopDepth++;
    const body = this.suite();
    this.loopDepth--;
    return { k: 'for', target, iter, body, ...this.pos(kw) };
  }

  private loopVariables(): Expr {
    const first = this.peek();
    const vars: Expr[] = [this.primary()];
    while (this.eatOp(',')) {
      if (this.isKw('in')) break;
      vars.push(this.primary());
    }
    const target: Expr = vars.length === 1 && !this.isOpBefore(',') ? vars[0]! : { k: 'tuple', elems: vars, ...this.pos(first) };
    this.checkTarget(target, false);
    return target;
  }

  private isOpBefore(text: string): boolean {
    const t = this.toks[this.i - 1];
    return t !== undefined && t.kind === 'op' && t.text === text;
  }

  // ---- expressions ----
  /** Expression = Test {',' Test} — an unparenthesized tuple when it has commas. */
  private expression(): Expr {
    const first = this.peek();
    const x = this.test();
    if (!this.isOp(',')) return x;
    const elems = [x];
    while (this.eatOp(',')) {
      if (this.atExpressionEnd()) break;
      elems.push(this.test());
    }
    return { k: 'tuple', elems, ...this.pos(first) };
  }

  private atExpressionEnd(): boolean {
    const t = this.peek();
    if (t.kind === 'newline' || t.kind === 'eof') return true;
    return (t.kind === 'op' && ['=', ')', ']', '}', ':', ';'].includes(t.text)) || (t.kind === 'op' && AUGMENTED.has(t.text));
  }

  private test(): Expr {
    if (this.isKw('lambda')) return this.lambda();
    const x = this.orExpr();
    if (this.isKw('if')) {
      const t = this.next();
      const cond = this.orExpr();
      if (!this.isKw('else')) this.unexpected("want 'else' in conditional expression");
      this.next();
      const els = this.test();
      return { k: 'cond', cond, then: x, else: els, ...this.pos(t) };
    }
    return x;
  }

  private lambda(): Expr {
    const kw = this.expectKw('lambda');
    const params = this.parameters(':');
    this.expectOp(':');
    const loops = this.loopDepth;
    this.loopDepth = 0;
    this.funcDepth++;
    const x = this.test();
    this.funcDepth--;
    this.loopDepth = loops;
    const body: Stmt[] = [{ k: 'return', x, ...this.pos(x) }];
    return { k: 'lambda', func: { name: 'lambda', params, body, locals: 0, ...this.pos(kw) }, ...this.pos(kw) };
  }

  private orExpr(): Expr {
    let x = this.andExpr();
    while (this.isKw('or')) {
      const t = this.next();
      x = { k: 'binary', op: 'or', x, y: this.andExpr(), ...this.pos(t) };
    }
    return x;
  }

  private andExpr(): Expr {
    let x = this.notExpr();
    while (this.isKw('and')) {
      const t = this.next();
      x = { k: 'binary', op: 'and', x, y: this.notExpr(), ...this.pos(t) };
    }
    return x;
  }

  private notExpr(): Expr {
    if (this.isKw('not')) {
      const t = this.next();
      return { k: 'unary', op: 'not', x: this.notExpr(), ...this.pos(t) };
    }
    return this.comparison();
  }

  private comparisonOp(): string | null {
    const t = this.peek();
    if (t.kind === 'op' && COMPARISONS.has(t.text)) return t.text;
    if (this.isKw('in')) return 'in';
    if (this.isKw('not') && this.isKw('in', 1)) return 'not in';
    return null;
  }

  private comparison(): Expr {
    const x = this.binary(0);
    const op = this.comparisonOp();
    if (!op) return x;
    const t = this.next();
    if (op === 'not in') this.next();
    const y = this.binary(0);
    const again = this.comparisonOp();
    if (again)
      throw this.error(
        this.peek(),
        `${op} does not associate with ${again} (chained comparisons are not allowed in Starlark; use parentheses or 'and')`,
      );
    return { k: 'binary', op, x, y, ...this.pos(t) };
  }

  private binary(level: number): Expr {
    const ops = BINARY_LEVELS[level];
    if (!ops) return this.unary();
    let x = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || !ops.includes(t.text)) return x;
      this.next();
      x = { k: 'binary', op: t.text, x, y: this.binary(level + 1), ...this.pos(t) };
    }
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === 'op' && (t.text === '-' || t.text === '+' || t.text === '~')) {
      this.next();
      return { k: 'unary', op: t.text, x: this.unary(), ...this.pos(t) };
    }
    return this.primary();
  }

  private primary(): Expr {
    let x = this.operand();
    for (;;) {
      const t = this.peek();
      if (this.eatOp('.')) {
        const name = this.next();
        if (name.kind !== 'name') this.unexpected('want field name', name);
        x = { k: 'dot', x, name: name.text, ...this.pos(name) };
      } else if (this.eatOp('(')) {
        x = { k: 'call', fn: x, args: this.callArgs(), ...this.pos(x) };
        this.expectOp(')');
      } else if (this.eatOp('[')) {
        x = this.indexOrSlice(x, t);
        this.expectOp(']');
      } else return x;
    }
  }

  private indexOrSlice(x: Expr, t: Token): Expr {
    const parts: Array<Expr | null> = [];
    let colons = 0;
    let cur: Expr | null = null;
    for (;;) {
      if (this.isOp(':')) {
        this.next();
        parts.push(cur);
        cur = null;
        if (++colons > 2) this.unexpected('want ]');
      } else if (this.isOp(']')) {
        parts.push(cur);
        break;
      } else {
        if (cur) this.unexpected('want : or ]');
        cur = colons === 0 ? this.expression() : this.test();
      }
    }
    if (colons === 0) {
      if (!parts[0]) this.unexpected('want index expression');
      return { k: 'index', x, index: parts[0]!, ...this.pos(t) };
    }
    return { k: 'slice', x, lo: parts[0] ?? null, hi: parts[1] ?? null, step: parts[2] ?? null, ...this.pos(t) };
  }

  private callArgs(): Arg[] {
    const args: Arg[] = [];
    let seenNamed = false;
    let seenStar = false;
    let seenStarStar = false;
    while (!this.isOp(')')) {
      const t = this.peek();
      let arg: Arg;
      if (this.eatOp('**')) {
        if (seenStarStar) throw this.error(t, 'multiple **kwargs not allowed');
        seenStarStar = true;
        arg = { kind: 'starstar', value: this.test(), ...this.pos(t) };
      } else if (this.eatOp('*')) {
        if (seenStar || seenStarStar) throw this.error(t, '*args may not follow **kwargs or another *args');
        seenStar = true;
        arg = { kind: 'star', value: this.test(), ...this.pos(t) };
      } else if (t.kind === 'name' && this.isOp('=', 1)) {
        this.next();
        this.next();
        if (seenStarStar) throw this.error(t, 'keyword argument may not follow **kwargs');
        if (args.some((a) => a.kind === 'named' && a.name === t.text)) throw this.error(t, `keyword argument ${t.text} repeated`);
        seenNamed = true;
        arg = { kind: 'named', name: t.text, value: this.test(), ...this.pos(t) };
      } else {
        if (seenNamed || seenStar || seenStarStar) throw this.error(t, 'positional argument may not follow named or * arguments');
        arg = { kind: 'pos', value: this.test(), ...this.pos(t) };
      }
      args.push(arg);
      if (!this.eatOp(',')) break;
    }
    return args;
  }

  private checkName(t: Token): void {
    if (RESERVED.has(t.text)) throw this.error(t, `${t.text} is reserved and cannot be used`);
  }

  private operand(): Expr {
    const t = this.next();
    const at = this.pos(t);
    switch (t.kind) {
      case 'int':
        return { k: 'int', value: t.value, ...at };
      case 'string':
        if (this.peek().kind === 'string') throw this.error(this.peek(), 'implicit string concatenation is not allowed; use +');
        return { k: 'str', value: t.text, ...at };
      case 'name':
        if (Object.hasOwn(CONSTANTS, t.text)) return { k: 'const', value: CONSTANTS[t.text] as null | boolean, ...at };
        if (KEYWORDS.has(t.text)) this.unexpected('want an expression', t);
        this.checkName(t);
        return { k: 'ident', name: t.text, ...at };
      case 'op':
        if (t.text === '(') return this.parenthesized(t);
        if (t.text === '[') return this.listDisplay(t);
        if (t.text === '{') return this.dictDisplay(t);
    }
    return this.unexpected('want an expression', t);
  }

  private parenthesized(open: Token): Expr {
    const at = this.pos(open);
    if (this.eatOp(')')) return { k: 'tuple', elems: [], ...at };
    const x = this.test();
    if (this.eatOp(')')) return x;
    if (!this.isOp(',')) this.unexpected('want )');
    const elems = [x];
    while (this.eatOp(',')) {
      if (this.isOp(')')) break;
      elems.push(this.test());
    }
    this.expectOp(')');
    return { k: 'tuple', elems, ...at };
  }

  private listDisplay(open: Token): Expr {
    const at = this.pos(open);
    const elems: Expr[] = [];
    if (this.eatOp(']')) return { k: 'list', elems, ...at };
    const first = this.test();
    if (this.isKw('for')) {
      const comp = this.comprehension(first, null, false, at);
      this.expectOp(']');
      return comp;
    }
    elems.push(first);
    while (this.eatOp(',')) {
      if (this.isOp(']')) break;
      elems.push(this.test());
    }
    this.expectOp(']');
    return { k: 'list', elems, ...at };
  }

  private dictDisplay(open: Token): Expr {
    const at = this.pos(open);
    const entries: Array<[Expr, Expr]> = [];
    if (this.eatOp('}')) return { k: 'dict', entries, ...at };
    const entry = (): [Expr, Expr] => {
      const key = this.test();
      this.expectOp(':');
      return [key, this.test()];
    };
    const [k0, v0] = entry();
    if (this.isKw('for')) {
      const comp = this.comprehension(k0, v0, true, at);
      this.expectOp('}');
      return comp;
    }
    entries.push([k0, v0]);
    while (this.eatOp(',')) {
      if (this.isOp('}')) break;
      entries.push(entry());
    }
    this.expectOp('}');
    return { k: 'dict', entries, ...at };
  }

  private comprehension(body: Expr, value: Expr | null, dict: boolean, at: Node): Comprehension {
    const clauses: Comprehension['clauses'] = [];
    for (;;) {
      const t = this.peek();
      if (this.eatKw('for')) {
        const target = this.loopVariables();
        this.expectKw('in');
        clauses.push({ k: 'for', target, iter: this.orExpr(), ...this.pos(t) });
      } else if (this.eatKw('if')) {
        clauses.push({ k: 'if', cond: this.orExpr(), ...this.pos(t) });
      } else break;
    }
    return { k: 'comp', dict, body, value, clauses, ...at };
  }
}

function describeExpr(e: Expr): string {
  switch (e.k) {
    case 'int':
      return 'int literal';
    case 'str':
      return 'string literal';
    case 'call':
      return 'function call';
    case 'tuple':
      return e.elems.length === 0 ? 'empty tuple' : 'tuple';
    case 'binary':
      return `${e.op} expression`;
    default:
      return `${e.k} expression`;
  }
}
