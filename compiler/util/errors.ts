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
  /** What the operating system reported (a Node error's code, path and syscall: localError reads them). */
  os?: { code: string; path?: string; syscall?: string };
}

export function serializeError(e: unknown): SerializedError {
  const err = e instanceof Error ? e : new Error(String(e));
  const out: SerializedError = { name: err.name, message: err.message };
  const { code, path, syscall } = err as NodeJS.ErrnoException;
  if (typeof code === 'string')
    out.os = { code, ...(typeof path === 'string' ? { path } : {}), ...(typeof syscall === 'string' ? { syscall } : {}) };
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
  const e: NodeJS.ErrnoException = new Error(s.message);
  e.name = s.name;
  if (s.os) Object.assign(e, s.os);
  return e;
}

/** What the operating system reports for a local failure (out of space, permissions, read-only, file limit). */
const OS_CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error',
};

/** Where a local failure happened: an output, or the content cache (the hint differs). */
export type LocalPlace = 'output' | 'cache' | 'file';

function osHint(code: string, place: LocalPlace): string {
  const elsewhere = place === 'cache' ? 'or give --cache-dir a directory on another file system' : 'or write the output elsewhere';
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `free space on that file system (${place === 'cache' ? '`chisel-ts cache prune` frees cache space' : 'or pick an output on a larger one'}), ${elsewhere}`;
    case 'EACCES':
    case 'EPERM':
      return `check the permissions of that path, ${elsewhere}`;
    case 'EROFS':
      return `that file system is mounted read-only; ${elsewhere.replace(/^or /, '')}`;
    case 'EMFILE':
    case 'ENFILE':
      return 'raise the limit on open files (ulimit -n) and run again';
    default:
      return `check the disk and the file system, ${elsewhere}`;
  }
}

/** The errno code of an error the operating system reported for a local file (ENOSPC, EACCES, ...), else undefined. */
export function osErrorCode(e: unknown): string | undefined {
  for (let x: unknown = e, depth = 0; x && depth < 4; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && Object.hasOwn(OS_CAUSES, code)) return code;
    // a worker thread that could not start says why only in its message ("Worker initialization failure: EMFILE")
    const inMessage = code === 'ERR_WORKER_INIT_FAILED' ? /\b(E[A-Z]+)\b/.exec((x as Error).message)?.[1] : undefined;
    if (inMessage && Object.hasOwn(OS_CAUSES, inMessage)) return inMessage;
  }
  return undefined;
}

/**
 * A local failure the operating system reported, as the user sees it: one
 * line naming the path and the cause, a hint that fits, exit code 1. Returns
 * undefined for anything else (`e` unchanged is then the caller's to report).
 */
export function localError(e: unknown, place: LocalPlace = 'file', where?: string): ChiselError | undefined {
  if (e instanceof ChiselError) return e;
  const code = osErrorCode(e);
  if (!code) return undefined;
  // an error that knows it came from a cache write (CacheWriteError) says so
  if ((e as { place?: unknown }).place === 'cache') place = 'cache';
  let errPath: string | undefined;
  for (let x: unknown = e, depth = 0; x && depth < 4 && !errPath; x = (x as { cause?: unknown }).cause, depth++)
    errPath = (x as NodeJS.ErrnoException).path;
  const at = errPath ?? where;
  const what = place === 'cache' ? 'cache ' : place === 'output' ? 'output ' : '';
  const inside = errPath && where && errPath !== where ? ` (writing ${where})` : '';
  const subject = at ? `${what}${at}: ` : what ? `${what.trim()}: ` : '';
  return new ChiselError(`${subject}${OS_CAUSES[code]} (${code})${inside}`, {
    code: `os-${code.toLowerCase()}`,
    exitCode: ExitCode.FAILURE,
    hint: osHint(code, place),
    cause: e,
  });
}

/** Runs `fn`; a local failure the operating system reports becomes localError(place, where). */
export async function failingAt<T>(place: LocalPlace, where: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw localError(e, place, where) ?? e;
  }
}

/** --debug or CHISEL_TS_DEBUG=1: JavaScript stacks are shown with errors. */
export function debugWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CHISEL_TS_DEBUG === '1' || env.CHISEL_TS_DEBUG === 'true';
}
