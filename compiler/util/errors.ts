// Errors that reach the user: each says what went wrong, where, and what to do.

export const ExitCode = {
  OK: 0,
  /** Invalid input, failed check, failed cut. */
  FAILURE: 1,
  /** Wrong command line. */
  USAGE: 2,
  /** The archive could not be reached or its content failed verification. */
  ARCHIVE: 3,
} as const;

export interface Location {
  file?: string;
  line?: number;
  col?: number;
  /** Slice ("pkg_slice"), package, or path that the error is about. */
  subject?: string;
}

export class ChiselError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  readonly location?: Location;
  readonly code: string;
  constructor(message: string, opts: { code?: string; hint?: string; location?: Location; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'ChiselError';
    this.code = opts.code ?? 'error';
    this.exitCode = opts.exitCode ?? ExitCode.FAILURE;
    if (opts.hint !== undefined) this.hint = opts.hint;
    if (opts.location !== undefined) this.location = opts.location;
  }

  /** "file:line:col: message" when a position is known. */
  override toString(): string {
    return formatLocated(this.location, this.message);
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...(this.location ?? {}), ...(this.hint ? { hint: this.hint } : {}) };
  }
}

export function formatLocated(loc: Location | undefined, message: string): string {
  if (!loc?.file) return message;
  let where = loc.file;
  if (loc.line !== undefined) where += `:${loc.line}`;
  if (loc.line !== undefined && loc.col !== undefined) where += `:${loc.col}`;
  return `${where}: ${message}`;
}

/** Several errors found in one pass (e.g. release validation). */
export class ChiselErrors extends Error {
  readonly errors: ChiselError[];
  readonly exitCode: number = ExitCode.FAILURE;
  constructor(errors: ChiselError[], summary?: string) {
    super(summary ?? errors.map((e) => e.toString()).join('\n'));
    this.name = 'ChiselErrors';
    this.errors = errors;
  }
}

/** An error as it crosses to or from a worker thread (ChiselError keeps its code, exit code, hint and place). */
export interface SerializedError {
  name: string;
  message: string;
  chisel?: { code: string; exitCode: number; hint?: string; location?: Location };
}

export function serializeError(e: unknown): SerializedError {
  const err = e instanceof Error ? e : new Error(String(e));
  const out: SerializedError = { name: err.name, message: err.message };
  if (e instanceof ChiselError)
    out.chisel = {
      code: e.code,
      exitCode: e.exitCode,
      ...(e.hint !== undefined ? { hint: e.hint } : {}),
      ...(e.location ? { location: e.location } : {}),
    };
  return out;
}

export function deserializeError(s: SerializedError): Error {
  if (s.chisel) return new ChiselError(s.message, s.chisel);
  const e = new Error(s.message);
  e.name = s.name;
  return e;
}
