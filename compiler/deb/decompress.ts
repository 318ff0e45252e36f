// Streaming decompression of .deb members, chosen by member name.
//
// Measured on this project's machines (2 cores; openjdk-17-jre-headless's
// data.tar.xz, 42 MB -> 184 MB; see bench/deb.ts and the report):
//   xz:   `xz -dc` child process 2.66 s (floor `xz -dc >/dev/null` 2.33 s),
//         `xz -dc -T2` 1.7 s, xz-decompress (WASM, streaming) 3.44 s,
//         @napi-rs/lzma (whole buffer only, 271 MB RSS) 4.12 s.
//   Full read (all entries + sha256 of all bodies): 2.9 s with -T1, 1.6 s
//   with -T2, 3.8 s with xz-decompress.
//   zstd: `zstd -dc` child process 0.38 s, fzstd (pure JS, streaming) 1.70 s.
// So xz and zstd run as child processes when the binary is on PATH: streaming,
// fastest, and on the second core in parallel with our tar parsing. Without
// the binary (or with CHISEL_DECOMPRESS=library / backend 'library') the
// libraries are used: xz-decompress for xz, node:zlib's zstd (Node >= 22.15)
// or fzstd for zstd. gzip always uses node:zlib.
//
// Errors of any backend surface as ChiselError
// "<label>: corrupt <member>: <reason>" (code 'deb-corrupt'); destroying the
// returned stream kills the child process.

import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import zlib from 'node:zlib';
import { ChiselError } from '../util/errors.js';

export type MemberCompression = 'none' | 'gz' | 'xz' | 'zst' | 'lzma' | 'bz2';
export type DecompressBackend = 'auto' | 'subprocess' | 'library';

export interface DecompressOptions {
  /** Package label for error messages. */
  label?: string;
  /** Member name for error messages ("data.tar.xz"). */
  what?: string;
  /** 'auto' (default): child process when the binary exists, else library.
   *  The environment variable CHISEL_DECOMPRESS=library|subprocess overrides 'auto'. */
  backend?: DecompressBackend;
  /** xz threads for the child process (xz >= 5.4 decompresses multi-block
   *  files, as dpkg-deb writes them, in parallel). Default: 2 when the machine
   *  has 2 or more cores (openjdk: 1.6 s instead of 2.9 s; the child's peak
   *  RSS grows from 10 MB to 130 MB, bounded by the block size). 1 saves memory. */
  xzThreads?: number;
  /** Compressed size, when known: with 'auto', small xz members are
   *  decompressed in-process (starting a child costs more than they take). */
  sizeHint?: number;
}

/** xz members up to this compressed size are decompressed in-process under 'auto'. */
export const SMALL_XZ_MEMBER = 512 * 1024;

const SUFFIXES: Record<string, MemberCompression> = { '': 'none', '.gz': 'gz', '.xz': 'xz', '.zst': 'zst', '.lzma': 'lzma', '.bz2': 'bz2' };

/** "data.tar.xz" -> { base: "data.tar", compression: "xz" }; null when the name is not a tar member. */
export function parseMemberName(name: string): { base: string; compression: MemberCompression } | null {
  const m = /^(control\.tar|data\.tar)(\.[a-z0-9]+)?$/.exec(name);
  if (!m) return null;
  const compression = SUFFIXES[m[2] ?? ''];
  if (compression === undefined) return null;
  return { base: m[1]!, compression };
}

const whichCache = new Map<string, string | null>();
/** Absolute path of an executable on PATH, or null. */
export function findExecutable(name: string): string | null {
  const cached = whichCache.get(name);
  if (cached !== undefined) return cached;
  let found: string | null = null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      found = p;
      break;
    } catch {
      // not here
    }
  }
  whichCache.set(name, found);
  return found;
}

function corruptError(opts: DecompressOptions, reason: string, cause?: unknown): ChiselError {
  if (cause instanceof ChiselError) return cause;
  return new ChiselError(`${opts.label ?? 'package'}: corrupt ${opts.what ?? 'member'}: ${reason}`, {
    code: 'deb-corrupt',
    ...(cause !== undefined ? { cause } : {}),
  });
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function effectiveBackend(opts: DecompressOptions): DecompressBackend {
  const b = opts.backend ?? 'auto';
  if (b !== 'auto') return b;
  const env = process.env.CHISEL_DECOMPRESS;
  return env === 'library' || env === 'subprocess' ? env : 'auto';
}

/**
 * Runs `cmd args` with src on stdin; returns its stdout. The stream ends only
 * after the child exited with status 0; otherwise it errors with the child's
 * message. Destroying the returned stream kills the child and destroys src.
 */
function viaChild(src: Readable, exe: string, args: string[], opts: DecompressOptions): Readable {
  const tool = path.basename(exe);
  const child = spawn(exe, args, { stdio: ['pipe', 'pipe', 'pipe'], argv0: tool });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let stderr = '';
  let failed: Error | null = null;
  const running = () => child.exitCode === null && child.signalCode === null;

  const fail = (e: Error) => {
    if (failed) return;
    failed = e;
    if (running()) child.kill('SIGKILL');
    src.unpipe(child.stdin);
    if (!src.destroyed) src.destroy();
    out.destroy(e);
  };

  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  child.on('error', (e) => fail(corruptError(opts, `cannot run ${tool}: ${e.message}`, e)));
  // EPIPE when the child gave up early: its exit status tells why.
  child.stdin.on('error', () => {});
  src.on('error', (e) => fail(corruptError(opts, errMessage(e), e)));
  src.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  child.on('close', (code, signal) => {
    if (failed) return;
    if (code === 0) {
      out.end();
      return;
    }
    const msg = stderr
      .split('\n')
      .map((l) =>
        l
          .replace(/^\S*?[\w.-]+: /, '') // "xz: ", "/usr/bin/zstd: "
          .replace(/^(\(stdin\)|\/\*stdin\*\\) ?: ?/, '') // xz's "(stdin): ", zstd's "/*stdin*\ : "
          .trim(),
      )
      .filter(Boolean)
      .join('; ');
    fail(corruptError(opts, msg || (signal ? `${tool} killed by ${signal}` : `${tool} exited with status ${code}`)));
  });
  out.on('close', () => {
    if (running()) {
      failed ??= new Error('aborted');
      child.kill('SIGKILL');
      src.unpipe(child.stdin);
      if (!src.destroyed) src.destroy();
    }
  });
  return out;
}

/** Pipes src through a library stage; maps errors to ChiselError; destroying the result destroys both. */
function guard(src: Readable, stage: Transform, opts: DecompressOptions, reason: (e: unknown) => string): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let failed = false;
  const fail = (e: unknown) => {
    if (failed) return;
    failed = true;
    out.destroy(corruptError(opts, reason(e), e));
    if (!src.destroyed) src.destroy();
    if (!stage.destroyed) stage.destroy();
  };
  src.on('error', fail);
  stage.on('error', fail);
  out.on('close', () => {
    if (!src.destroyed) src.destroy();
    if (!stage.destroyed) stage.destroy();
  });
  src.pipe(stage).pipe(out);
  return out;
}

const require_ = createRequire(import.meta.url);

const XZ_EMBEDDED_ERRORS: Record<string, string> = {
  '2': 'unsupported integrity check',
  '3': 'out of memory',
  '4': 'memory limit exceeded',
  '5': 'file format not recognized',
  '6': 'unsupported options',
  '7': 'compressed data is corrupt',
  '8': 'unexpected end of input',
};

function xzLibrary(src: Readable, opts: DecompressOptions): Readable {
  const { XzReadableStream } = require_('xz-decompress') as {
    XzReadableStream: new (s: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;
  };
  let srcErr: unknown = null;
  src.on('error', (e) => {
    srcErr = e;
  });
  const web = new XzReadableStream(Readable.toWeb(src) as unknown as ReadableStream<Uint8Array>);
  const out = Readable.fromWeb(web as import('node:stream/web').ReadableStream<Uint8Array>, { highWaterMark: 1 << 20 });
  const pass = new PassThrough({ highWaterMark: 1 << 20 });
  out.on('error', (e) => {
    const code = /error code (\d+)/.exec(errMessage(e))?.[1];
    const reason = srcErr ? errMessage(srcErr) : (code && XZ_EMBEDDED_ERRORS[code]) || errMessage(e);
    pass.destroy(srcErr instanceof ChiselError ? srcErr : corruptError(opts, reason, e));
  });
  pass.on('close', () => {
    if (!out.destroyed) out.destroy();
    if (!src.destroyed) src.destroy();
  });
  out.pipe(pass);
  return pass;
}

/** fzstd's streaming decoder as a Transform. */
function fzstdTransform(): Transform {
  const fzstd = require_('fzstd') as typeof import('fzstd');
  let sink: Transform | null = null;
  const dec = new fzstd.Decompress((chunk) => {
    sink!.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  sink = new Transform({
    readableHighWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      try {
        dec.push(chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb) {
      try {
        dec.push(new Uint8Array(0), true);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  return sink;
}

/**
 * Streaming decompression of `src`. The result errors with a ChiselError when
 * the input is corrupt or truncated. Destroying the result stops the work
 * (and kills a child process).
 */
export function decompressStream(src: Readable, compression: MemberCompression, opts: DecompressOptions = {}): Readable {
  const backend = effectiveBackend(opts);
  const child = (tool: string): string | null => {
    if (backend === 'library') return null;
    const exe = findExecutable(tool);
    if (!exe && backend === 'subprocess') {
      throw new ChiselError(`${opts.label ?? 'package'}: cannot decompress ${opts.what ?? 'member'}: ${tool} not found on PATH`, {
        code: 'deb-format',
      });
    }
    return exe;
  };
  switch (compression) {
    case 'none':
      return src;
    case 'gz':
      return guard(src, zlib.createGunzip({ chunkSize: 1 << 16 }), opts, (e) => {
        const m = errMessage(e);
        return m === 'unexpected end of file' ? 'unexpected end of input' : m;
      });
    case 'xz': {
      if (backend === 'auto' && opts.sizeHint !== undefined && opts.sizeHint <= SMALL_XZ_MEMBER) return xzLibrary(src, opts);
      const exe = child('xz');
      if (exe) {
        const t = Math.max(1, Math.floor(opts.xzThreads ?? Math.min(2, availableParallelism())));
        return viaChild(src, exe, ['--decompress', '--stdout', '--format=xz', '--memlimit-decompress=1GiB', `--threads=${t}`, '-q'], opts);
      }
      return xzLibrary(src, opts);
    }
    case 'lzma': {
      const exe = child('xz');
      if (exe) return viaChild(src, exe, ['--decompress', '--stdout', '--format=lzma', '--memlimit-decompress=1GiB', '-q'], opts);
      throw new ChiselError(`${opts.label ?? 'package'}: cannot decompress ${opts.what ?? 'member'}: .lzma needs the xz program`, {
        code: 'deb-format',
      });
    }
    case 'zst': {
      const exe = child('zstd');
      if (exe) return viaChild(src, exe, ['--decompress', '--stdout', '-q', '--no-progress'], opts);
      const z = zlib as unknown as { createZstdDecompress?: () => Transform };
      const stage = z.createZstdDecompress ? z.createZstdDecompress() : fzstdTransform();
      return guard(src, stage, opts, (e) => errMessage(e));
    }
    case 'bz2': {
      const exe = child('bzip2');
      if (exe) return viaChild(src, exe, ['-dc', '-q'], opts);
      throw new ChiselError(`${opts.label ?? 'package'}: cannot decompress ${opts.what ?? 'member'}: .bz2 needs the bzip2 program`, {
        code: 'deb-format',
      });
    }
  }
}
