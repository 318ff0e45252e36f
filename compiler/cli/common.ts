// Options and helpers shared by the commands.

import type { Command } from 'commander';
import { defaultCacheDir } from '../cache/store.js';
import { ChiselError, ExitCode } from '../util/errors.js';

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function addReleaseOption(cmd: Command): Command {
  return cmd.option('--release <dir|name>', 'release directory, or the name of a release shipped in slices/ (default: debian-13)');
}

/** `--cache-dir` for commands that only read the release (parsed files are cached there). */
export function addCacheOption(cmd: Command): Command {
  return cmd.option('--cache-dir <dir>', 'cache directory (default: $XDG_CACHE_HOME/chisel-ts or ~/.cache/chisel-ts)');
}

/** Where loadRelease keeps its parse cache; CHISEL_TS_NO_CACHE=1 turns it off. */
export function releaseCacheDir(flags: { cacheDir?: string }): string | undefined {
  if (process.env.CHISEL_TS_NO_CACHE === '1') return undefined;
  return flags.cacheDir ?? defaultCacheDir();
}

/** `--archive-url NAME=URL` values as a map. */
export function parseArchiveUrls(values: string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values ?? []) {
    const i = v.indexOf('=');
    if (i <= 0)
      throw new ChiselError(`--archive-url ${JSON.stringify(v)}: expected NAME=URL`, {
        code: 'usage',
        exitCode: ExitCode.USAGE,
        hint: 'for example --archive-url debian=http://mirror.example/debian',
      });
    out.set(v.slice(0, i), v.slice(i + 1));
  }
  return out;
}

export function parseIgnore(values: string[] | undefined): Array<'unmaintained' | 'unstable'> {
  const out: Array<'unmaintained' | 'unstable'> = [];
  for (const v of (values ?? []).flatMap((x) => x.split(','))) {
    if (v !== 'unmaintained' && v !== 'unstable')
      throw new ChiselError(`--ignore ${JSON.stringify(v)}: expected "unmaintained" or "unstable"`, {
        code: 'usage',
        exitCode: ExitCode.USAGE,
      });
    out.push(v);
  }
  return out;
}

/** Progress and explanations go to stderr: progress only on a TTY and not with --quiet; --verbose explains decisions. */
export class Reporter {
  readonly progress: boolean;
  constructor(
    readonly opts: { quiet?: boolean; verbose?: boolean; json?: boolean },
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.progress = !opts.quiet && !opts.json && Boolean(stream.isTTY) && !process.env.CI;
    this.stream = stream;
  }
  private stream: NodeJS.WriteStream;
  /** How many status lines are on the screen (the cursor is at the end of the last). */
  private shown = 0;
  info(msg: string): void {
    if (!this.progress) return;
    this.clearStatus();
    this.stream.write(`${msg}\n`);
  }
  /** A progress line, redrawn in place (TTY only). */
  status(msg: string): void {
    this.statusLines([msg]);
  }
  /** Progress lines (one per architecture), redrawn in place (TTY only); each is cut to the terminal's width. */
  statusLines(lines: string[]): void {
    if (!this.progress || lines.length === 0) return;
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    const up = this.shown > 1 ? `\x1b[${this.shown - 1}A` : '';
    this.stream.write(`\r${up}${lines.map((l) => `\x1b[K${l.slice(0, width)}`).join('\n')}${this.shown > lines.length ? '\x1b[J' : ''}`);
    this.shown = lines.length;
  }
  clearStatus(): void {
    if (!this.shown) return;
    this.stream.write(`\r${this.shown > 1 ? `\x1b[${this.shown - 1}A` : ''}\x1b[J`);
    this.shown = 0;
  }
  private readonly noticed = new Set<string>();
  /** A one-line notice (once per text), shown unless --quiet. */
  notice(msg: string): void {
    if (this.opts.quiet || this.noticed.has(msg)) return;
    this.noticed.add(msg);
    this.clearStatus();
    this.stream.write(`${msg}\n`);
  }
  /** A warning (on stderr), shown even with --quiet. */
  warn(msg: string): void {
    this.clearStatus();
    this.stream.write(`${msg}\n`);
  }
  verbose(msg: string): void {
    if (!this.opts.verbose || this.opts.quiet) return;
    this.clearStatus();
    this.stream.write(`${msg}\n`);
  }
}
