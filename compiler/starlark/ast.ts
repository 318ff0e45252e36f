// Syntax tree. The resolver fills in `Ident.scope`/`index`/`depth` and the
// `Func.locals` counts so the evaluator works with array slots, not names.

export interface Node {
  line: number;
  col: number;
}

export type Scope = 'local' | 'free' | 'global' | 'predeclared';

export interface Ident extends Node {
  k: 'ident';
  name: string;
  scope?: Scope;
  /** Slot in the frame (local/free) or in the globals array (global). */
  index?: number;
  /** For 'free': how many frames up the variable lives. */
  depth?: number;
}

export type Expr =
  | Ident
  | (Node & { k: 'const'; value: null | boolean })
  | (Node & { k: 'int'; value: number })
  | (Node & { k: 'str'; value: string })
  | (Node & { k: 'list' | 'tuple'; elems: Expr[] })
  | (Node & { k: 'dict'; entries: Array<[Expr, Expr]> })
  | Comprehension
  | (Node & { k: 'unary'; op: '-' | '+' | '~' | 'not'; x: Expr })
  | (Node & { k: 'binary'; op: string; x: Expr; y: Expr })
  | (Node & { k: 'cond'; cond: Expr; then: Expr; else: Expr })
  | (Node & { k: 'call'; fn: Expr; args: Arg[] })
  | (Node & { k: 'index'; x: Expr; index: Expr })
  | (Node & { k: 'slice'; x: Expr; lo: Expr | null; hi: Expr | null; step: Expr | null })
  | (Node & { k: 'dot'; x: Expr; name: string })
  | (Node & { k: 'lambda'; func: Func });

export interface Comprehension extends Node {
  k: 'comp';
  dict: boolean;
  /** Element (list) or key (dict). */
  body: Expr;
  /** Value, for dict comprehensions. */
  value: Expr | null;
  clauses: Array<(Node & { k: 'for'; target: Expr; iter: Expr }) | (Node & { k: 'if'; cond: Expr })>;
}

export interface Arg extends Node {
  kind: 'pos' | 'named' | 'star' | 'starstar';
  name?: string;
  value: Expr;
}

export interface Param extends Node {
  kind: 'normal' | 'star' | 'starstar';
  /** Empty for a bare `*`. */
  name: string;
  default: Expr | null;
}

export interface Func extends Node {
  name: string;
  params: Param[];
  body: Stmt[];
  /** Number of frame slots (params first, in order). Set by the resolver. */
  locals: number;
}

export type Stmt =
  | (Node & { k: 'expr'; x: Expr })
  | (Node & { k: 'assign'; op: string; lhs: Expr; rhs: Expr })
  | (Node & { k: 'if'; cond: Expr; then: Stmt[]; else: Stmt[] })
  | (Node & { k: 'for'; target: Expr; iter: Expr; body: Stmt[] })
  | (Node & { k: 'def'; target: Ident; func: Func })
  | (Node & { k: 'return'; x: Expr | null })
  | (Node & { k: 'break' | 'continue' | 'pass' });

export interface Module {
  body: Stmt[];
  /** Names of global slots, in slot order. Set by the resolver. */
  globals: string[];
  /** Frame slots needed by top-level comprehensions. */
  locals: number;
}
