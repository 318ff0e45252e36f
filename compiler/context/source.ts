// The build context of an image file: the one directory its `files:` read
// from (the image file's directory, its `context:` key, or --context). Like
// Docker's COPY, a source never leaves it: absolute sources and `..` that
// climbs out are refused when the file is parsed; a symlink at any level of
// the source path that points outside, devices, fifos, sockets and anything
// on /proc or /sys (however reached) are refused when the source is resolved
// and again while it is walked; files are opened without following links and
// checked by what the descriptor opened, so a path swapped during the build
// cannot read outside. `.chiselignore` (in the context) and an entry's
// `exclude:` globs (minimatch, `.dockerignore`-style) leave paths out.

import { type Stats, promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Minimatch } from 'minimatch';
import { ChiselError, type Location } from '../util/errors.js';

/** Where an entry of `files:` may read: plain data carried on the entry. */
export interface SourceContext {
  /** The context directory (absolute; its real path once resolved). */
  root: string;
  /** Globs relative to the context root, in order; `!glob` takes a path back. */
  exclude: string[];
  /** The entry's `src` in the image file. */
  at: Location;
}

export const IGNORE_FILE = '.chiselignore';
const HINT = 'files: sources must stay inside the build context (the image file directory, its context: key, or --context)';

// statfs magic numbers of kernel file systems that are not files: proc, sysfs, debugfs, tracefs, securityfs, cgroup, cgroup2
const KERNEL_FS = new Set([0x9fa0, 0x62656572, 0x64626720, 0x74726163, 0x73636673, 0x27e0eb, 0x63677270]);

function contextError(ctx: Pick<SourceContext, 'at'>, message: string, hint = HINT): ChiselError {
  return new ChiselError(message, { code: 'image-context', hint, location: ctx.at });
}

/** The lexical part (at parse time): `src` relative to the context, not absolute, not climbing out; the absolute path, or a reason. */
export function sourceInContext(root: string, src: string): { path: string } | { error: string } {
  if (path.isAbsolute(src) || /^[a-z]:[\\/]/i.test(src))
    return { error: `files: source ${JSON.stringify(src)} is absolute; sources are relative to the build context` };
  const abs = path.resolve(root, src);
  if (!isInside(root, abs)) return { error: `files: source ${JSON.stringify(src)} climbs out of the build context ${root}` };
  return { path: abs };
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

function isKernelPath(p: string): boolean {
  return /^\/(proc|sys)(\/|$)/.test(p);
}

/** Refuse a real path under /proc or /sys, or on a kernel file system (`statPath`: where to statfs it, default the path). */
async function refuseKernelFs(ctx: SourceContext, p: string, shown: string, statPath = p): Promise<void> {
  if (isKernelPath(p)) throw contextError(ctx, `files: ${shown} is on /proc or /sys, which an image must not copy`);
  const st = await fs.statfs(statPath).catch(() => undefined);
  if (st && KERNEL_FS.has(Number(st.type)))
    throw contextError(ctx, `files: ${shown} is on a kernel file system (proc, sysfs, ...), which an image must not copy`);
}

function kindOf(st: Stats): string | undefined {
  if (st.isFile() || st.isDirectory() || st.isSymbolicLink()) return undefined;
  if (st.isFIFO()) return 'a fifo';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file, directory or symlink';
}

/** The real path of a context directory and its `.chiselignore` patterns. */
async function contextRoot(ctx: SourceContext): Promise<{ root: string; ignore: string[] }> {
  const root = await fs.realpath(ctx.root).catch((e: NodeJS.ErrnoException) => {
    throw contextError(ctx, `files: the build context ${ctx.root} cannot be read: ${e.code ?? e.message}`, 'give an existing directory');
  });
  if (!(await fs.stat(root)).isDirectory())
    throw contextError(ctx, `files: the build context ${ctx.root} is not a directory`, 'give an existing directory');
  await refuseKernelFs(ctx, root, `the build context ${ctx.root}`);
  return { root, ignore: await readIgnoreFile({ ...ctx, root }) };
}

/** `.chiselignore`: one glob a line, `#` comments, `!` exceptions (as `.dockerignore`). */
async function readIgnoreFile(ctx: SourceContext): Promise<string[]> {
  const file = path.join(ctx.root, IGNORE_FILE);
  const st = await fs.lstat(file).catch(() => undefined);
  if (!st) return [];
  if (!st.isFile()) throw contextError(ctx, `${file} is not a regular file`, `make ${IGNORE_FILE} a plain file of globs`);
  const text = await readAll(await openInContext(ctx, file, st));
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

async function readAll(r: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A pattern of an entry's `exclude:` (relative to its source) as a pattern relative to the context root. */
function rebase(pattern: string, srcRel: string): string {
  const neg = pattern.startsWith('!');
  const p = (neg ? pattern.slice(1) : pattern).replace(/^\/+/, '');
  return `${neg ? '!' : ''}${srcRel ? path.posix.join(srcRel, p) : p}`;
}

const compiled = new Map<string, Minimatch>();

function matcher(glob: string): Minimatch {
  let m = compiled.get(glob);
  if (!m) {
    m = new Minimatch(glob, { dot: true });
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(glob, m);
  }
  return m;
}

/** Whether a context-relative path is left out: the last matching glob decides; a glob that matches a parent directory matches below it. */
export function isExcluded(exclude: string[], rel: string): boolean {
  let out = false;
  const parts = rel.split('/');
  for (const raw of exclude) {
    const neg = raw.startsWith('!');
    const glob = path.posix.normalize((neg ? raw.slice(1) : raw).replace(/^\/+/, '')).replace(/\/$/, '');
    for (let i = 1; i <= parts.length; i++) {
      if (matcher(glob).match(parts.slice(0, i).join('/'))) {
        out = !neg;
        break;
      }
    }
  }
  return out;
}

function relPosix(root: string, p: string): string {
  return path.relative(root, p).split(path.sep).join('/');
}

/**
 * Resolve one entry's source (absolute, inside `ctx.root` lexically) inside the real context:
 * every symlink on the way must point inside; the last component may itself be a symlink
 * (copied as a link) whose target is inside. Returns the source to walk and the context
 * with its real root and the `.chiselignore` and `exclude:` globs relative to it.
 */
export async function resolveSource(src: string, ctx: SourceContext): Promise<{ src: string; context: SourceContext }> {
  const { root, ignore } = await contextRoot(ctx);
  const shown = relPosix(ctx.root, src) || '.';
  const parts = relPosix(ctx.root, src).split('/').filter(Boolean);
  let cur = root;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(cur, parts[i]!);
    const st = await fs.lstat(next).catch(() => undefined);
    if (!st)
      throw contextError(
        ctx,
        `files: ${shown} does not exist in the build context ${ctx.root}`,
        'paths in files: are relative to the build context',
      );
    if (st.isSymbolicLink()) {
      const target = await fs.realpath(next).catch(() => undefined);
      if (target === undefined || !isInside(root, target))
        throw contextError(ctx, `files: ${shown}: the symlink ${relPosix(root, next)} points outside the build context`);
      if (i === parts.length - 1) {
        cur = next;
        break;
      }
      cur = target;
    } else cur = next;
  }
  const st = await fs.lstat(cur);
  const bad = kindOf(st);
  if (bad) throw contextError(ctx, `files: ${shown} is ${bad}; only files, directories and symlinks are copied`);
  await refuseKernelFs(ctx, st.isSymbolicLink() ? path.dirname(cur) : cur, shown);
  const srcRel = relPosix(root, cur);
  if (srcRel && isExcluded(ignore, srcRel))
    throw contextError(ctx, `files: ${shown} is excluded by ${IGNORE_FILE}`, `remove its glob from ${IGNORE_FILE} or the entry`);
  return { src: cur, context: { root, exclude: [...ignore, ...ctx.exclude.map((p) => rebase(p, srcRel))], at: ctx.at } };
}

/**
 * A path met while walking a resolved source: false when excluded; an error for a device,
 * fifo or socket, for a kernel file system, and for a directory that is no longer where it was
 * (a parent swapped for a symlink while walking).
 */
export async function walkEntry(ctx: SourceContext, p: string, st: Stats): Promise<boolean> {
  const rel = relPosix(ctx.root, p);
  if (rel && isExcluded(ctx.exclude, rel)) return false;
  const bad = kindOf(st);
  if (bad) throw contextError(ctx, `files: ${rel} is ${bad}; only files, directories and symlinks are copied`);
  if (st.isDirectory() || st.isSymbolicLink()) {
    const dir = st.isDirectory() ? p : path.dirname(p);
    const real = await fs.realpath(dir);
    if (real !== dir || !isInside(ctx.root, real))
      throw contextError(ctx, `files: ${rel} moved outside the build context while it was read`);
    if (st.isDirectory()) await refuseKernelFs(ctx, p, rel);
  }
  return true;
}

/** A regular file of the context, opened without following a symlink and checked by the open descriptor (the same file as `st`, inside the context, not on a kernel file system). */
export async function openInContext(ctx: SourceContext, p: string, st: Stats): Promise<Readable> {
  const rel = relPosix(ctx.root, p);
  const fh = await fs.open(p, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK).catch((e: NodeJS.ErrnoException) => {
    throw contextError(ctx, `files: ${rel} cannot be opened: ${e.code ?? e.message}`);
  });
  try {
    const fst = await fh.stat();
    if (!fst.isFile() || fst.ino !== st.ino || fst.dev !== st.dev)
      throw contextError(ctx, `files: ${rel} changed while it was read`, 'build from a checkout nothing else is writing to');
    const byFd = `/proc/self/fd/${fh.fd}`;
    const opened = await fs.readlink(byFd).catch(() => undefined);
    const real = opened ?? (await fs.realpath(p));
    if (!isInside(ctx.root, real)) throw contextError(ctx, `files: ${rel} is outside the build context`);
    await refuseKernelFs(ctx, real, rel, opened !== undefined ? byFd : real);
    return fh.createReadStream();
  } catch (e) {
    await fh.close();
    throw e;
  }
}
