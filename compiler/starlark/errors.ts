// Starlark errors. Code inside the interpreter throws EvalFailure (no position);
// the evaluator turns it into a StarlarkError at the innermost expression or
// statement that failed, so every error the caller sees names file:line:col.

export interface Pos {
  line: number;
  col: number;
}

/** One call-stack entry: where `fn` was called from. */
export interface Frame {
  fn: string;
  file: string;
  line: number;
  col: number;
}

export class StarlarkError extends Error {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** The message without the position. */
  readonly reason: string;
  /** Innermost call last, like a Python traceback. */
  readonly traceback: Frame[];
  constructor(file: string, pos: Pos, reason: string, traceback: Frame[] = [], cause?: unknown) {
    super(formatMessage(file, pos, reason, traceback), cause !== undefined ? { cause } : undefined);
    this.name = 'StarlarkError';
    this.file = file;
    this.line = pos.line;
    this.col = pos.col;
    this.reason = reason;
    this.traceback = traceback;
  }
}

function formatMessage(file: string, pos: Pos, reason: string, traceback: Frame[]): string {
  let msg = `${file}:${pos.line}:${pos.col}: ${reason}`;
  if (traceback.length > 0) {
    msg += '\nTraceback (most recent call last):';
    for (const f of traceback) msg += `\n  ${f.file}:${f.line}:${f.col}: in ${f.fn}`;
  }
  return msg;
}

/** A runtime failure whose position is filled in by the evaluator. */
export class EvalFailure extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause !== undefined ? { cause } : undefined);
    this.name = 'EvalFailure';
  }
}

export function fail(message: string): never {
  throw new EvalFailure(message);
}
