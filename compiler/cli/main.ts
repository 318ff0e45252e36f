// chisel-ts command line entry point. Each command lives in its own module
// exporting `register(program)`; this file only wires them up.

import { trace } from '../util/trace.js';
import { Command, CommanderError } from 'commander';
import { ChiselError, ChiselErrors, debugWanted, ExitCode, localError } from '../util/errors.js';
import { removeTempsOnSignal } from '../util/tempfiles.js';
import { VERSION } from '../version.js';

type Registrar = (program: Command) => void;

// One line per command module, loaded only when its command runs (or for help).
const commands: Record<string, () => Promise<{ register: Registrar }>> = {
  validate: () => import('./validate.js'),
  info: () => import('./info.js'),
  find: () => import('./find.js'),
  cut: () => import('./cut.js'),
  check: () => import('./check.js'),
  build: () => import('./build.js'),
  lock: () => import('./lock.js'),
  scaffold: () => import('./scaffold.js'),
  cache: () => import('./cache.js'),
  keygen: () => import('./keygen.js'),
  outdated: () => import('./outdated.js'),
};

export async function main(argv: string[]): Promise<number> {
  trace('main');
  removeTempsOnSignal();
  // --debug (any command): JavaScript stacks with errors
  if (argv.includes('--debug')) {
    process.env.CHISEL_TS_DEBUG = '1';
    argv = argv.filter((a) => a !== '--debug');
  }
  const program = new Command('chisel-ts');
  program
    .description('Cut minimal root filesystems, tarballs and OCI images from Debian and Ubuntu packages.')
    .version(VERSION, '-V, --version', 'print the version')
    // taken out of argv above (any command); declared here so --help lists it
    .option('--debug', 'show JavaScript stacks with errors (also CHISEL_TS_DEBUG=1)')
    .exitOverride()
    .showHelpAfterError('(run "chisel-ts help <command>" for usage)');
  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`${VERSION}\n`);
    });
  const first = argv.find((a) => !a.startsWith('-'));
  const only = first !== undefined && first !== 'help' && Object.hasOwn(commands, first) ? [commands[first]!] : Object.values(commands);
  try {
    for (const load of only) (await load()).register(program);
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.OK;
  } catch (e) {
    const code = reportError(e);
    // --json: the failure as data on stdout too (the lines above stay on stderr for people)
    if (argv.includes('--json') && code !== ExitCode.OK) process.stdout.write(`${JSON.stringify(errorJson(e, code))}\n`);
    return code;
  }
}

/** `{"error": {code, message, hint?, exitCode}, "errors"?: [...]}` for --json. */
export function errorJson(e: unknown, exitCode: number): Record<string, unknown> {
  const one = (x: unknown) => {
    const err = x instanceof ChiselError ? x : (localError(x) ?? undefined);
    if (err) return { code: err.code, message: err.toString(), ...(err.hint ? { hint: err.hint } : {}), exitCode: err.exitCode };
    if (x instanceof CommanderError) return { code: 'usage', message: x.message.replace(/^error: /, ''), exitCode };
    return { code: 'internal', message: x instanceof Error ? x.message : String(x), exitCode };
  };
  if (e instanceof ChiselErrors) return { error: one(e.errors[0]), errors: e.errors.map(one), exitCode };
  return { error: one(e), exitCode };
}

export function reportError(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.OK;
    return ExitCode.USAGE;
  }
  if (e instanceof ChiselErrors) {
    for (const err of e.errors) process.stderr.write(`error: ${err.toString()}\n`);
    return e.exitCode;
  }
  if (e instanceof ChiselError) {
    process.stderr.write(`error: ${e.toString()}\n`);
    if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    if (debugWanted() && e.cause instanceof Error && e.cause.stack) process.stderr.write(`cause: ${e.cause.stack}\n`);
    return e.exitCode;
  }
  const local = localError(e);
  if (local) return reportError(local);
  const err = e as Error;
  if (debugWanted()) process.stderr.write(`error: internal: ${err?.stack ?? String(e)}\n`);
  else {
    process.stderr.write(`error: internal: ${err?.message ?? String(e)}\n`);
    process.stderr.write('hint: this is a bug in chisel-ts; run again with --debug (or CHISEL_TS_DEBUG=1) for the stack and report it\n');
  }
  return ExitCode.FAILURE;
}
