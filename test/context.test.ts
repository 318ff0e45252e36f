// The build context of an image file (issue 25): `files:` sources stay inside
// it (absolute, `..`, symlinks out at any level, devices, fifos, sockets,
// /proc and /sys refused at the entry's file:line:column), exclusions by
// `exclude:` and `.chiselignore`, and paths swapped while the build reads.

import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContentStore } from '../compiler/cache/store.js';
import { isExcluded, openInContext, resolveSource } from '../compiler/context/source.js';
import { loadImageFile } from '../compiler/image/imagefile.js';
import { addFiles } from '../compiler/context/addfiles.js';
import { ChiselErrors } from '../compiler/util/errors.js';
import { tempDir } from './support/cutenv.js';

/** A scratch context: app/main.py, app/lib/util.py, a .git, node_modules, .env and a log. */
function scratch(): string {
  const d = tempDir('chisel-ts-context-');
  mkdirSync(path.join(d, 'app/lib'), { recursive: true });
  writeFileSync(path.join(d, 'app/main.py'), 'print(1)\n');
  writeFileSync(path.join(d, 'app/lib/util.py'), 'x = 1\n');
  writeFileSync(path.join(d, 'app/debug.log'), 'log\n');
  writeFileSync(path.join(d, 'app/keep.log'), 'kept\n');
  mkdirSync(path.join(d, '.git/objects'), { recursive: true });
  writeFileSync(path.join(d, '.git/config'), '[core]\n');
  mkdirSync(path.join(d, 'node_modules/left-pad'), { recursive: true });
  writeFileSync(path.join(d, 'node_modules/left-pad/index.js'), '\n');
  writeFileSync(path.join(d, '.env'), 'TOKEN=secret\n');
  return d;
}

function imageFile(dir: string, files: string, extra = ''): string {
  const f = path.join(dir, 'image.yaml');
  writeFileSync(f, `slices: [a_b]\n${extra}files:\n${files}`);
  return f;
}

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof ChiselErrors ? e.errors.map((x) => x.toString()).join('\n') : String(e);
  }
  throw new Error('expected an error');
}

async function added(file: string, opts: { context?: string } = {}): Promise<string[]> {
  const img = await loadImageFile(file, opts);
  const tree = await addFiles({ entries: [] }, img.files, new ContentStore(tempDir('chisel-ts-context-store-')));
  return tree.entries.map((e) => `${e.path}${e.type === 'symlink' ? ` -> ${e.link}` : ''}`);
}

describe('files: sources stay inside the build context', () => {
  it('refuses an absolute source, /proc/self/environ and .. that climbs out, at the entry', async () => {
    const d = scratch();
    const cases: Array<[string, RegExp]> = [
      ['  - src: /root/.bashrc\n    dest: /x/bashrc\n', /image\.yaml:5:10: files: source "\/root\/\.bashrc" is absolute/],
      ['  - src: /proc/self/environ\n    dest: /env\n', /image\.yaml:5:10: files: source "\/proc\/self\/environ" is absolute/],
      [
        '  - src: ../../etc/shadow\n    dest: /x/shadow\n',
        /image\.yaml:5:10: files: source "\.\.\/\.\.\/etc\/shadow" climbs out of the build context/,
      ],
      ['  - src: app/../../x\n    dest: /x\n', /image\.yaml:5:10: .*climbs out/],
    ];
    for (const [files, re] of cases) {
      const f = imageFile(d, `  - src: app\n    dest: /app\n${files}`);
      expect(await errorOf(loadImageFile(f))).toMatch(re);
    }
    // `..` that stays inside is fine
    expect(await added(imageFile(d, '  - src: app/lib/../main.py\n    dest: /main.py\n'))).toEqual(['/main.py']);
  });

  it('refuses a symlink at any level of the source that points outside, and follows one that stays inside', async () => {
    const d = scratch();
    symlinkSync('/etc', path.join(d, 'etc-link'));
    symlinkSync('/etc/passwd', path.join(d, 'passwd'));
    symlinkSync('../../../../../../../../etc/hostname', path.join(d, 'app/lib/climb'));
    symlinkSync('/proc/self/environ', path.join(d, 'env'));
    symlinkSync('app', path.join(d, 'current'));
    symlinkSync('main.py', path.join(d, 'app/entry'));
    for (const [src, link] of [
      ['etc-link/passwd', 'etc-link'],
      ['passwd', 'passwd'],
      ['app/lib/climb', 'app/lib/climb'],
      ['env', 'env'],
    ] as const) {
      const f = imageFile(d, `  - src: ${src}\n    dest: /x\n`);
      expect(await errorOf(loadImageFile(f))).toMatch(
        new RegExp(`image\\.yaml:3:10: files: ${src.replace(/\./g, '\\.')}: the symlink ${link} points outside the build context`),
      );
    }
    // a symlink inside the context: followed on the way, kept as a link at the end
    expect(await added(imageFile(d, '  - src: current/lib\n    dest: /lib\n  - src: app/entry\n    dest: /entry\n'))).toEqual([
      '/entry -> main.py',
      '/lib',
      '/lib/climb -> ../../../../../../../../etc/hostname',
      '/lib/util.py',
    ]);
    // inside a copied directory a symlink stays a link, whatever it points at
    expect(await added(imageFile(d, '  - src: app/lib\n    dest: /lib\n'))).toContain('/lib/climb -> ../../../../../../../../etc/hostname');
  });

  it('refuses fifos, sockets and devices, as a source or inside a copied directory', async () => {
    const d = scratch();
    execFileSync('mkfifo', [path.join(d, 'app/pipe')]);
    const f = imageFile(d, '  - src: app/pipe\n    dest: /pipe\n');
    expect(await errorOf(loadImageFile(f))).toMatch(/image\.yaml:3:10: files: app\/pipe is a fifo/);
    const inside = imageFile(d, '  - src: .\n    dest: /all\n    exclude: [.git]\n');
    expect(await errorOf(added(inside))).toMatch(/image\.yaml:3:10: files: app\/pipe is a fifo/);

    const s = tempDir('chisel-ts-context-sock-');
    const server = net.createServer().listen(path.join(s, 'sock'));
    await new Promise((r) => server.once('listening', r));
    try {
      expect(await errorOf(loadImageFile(imageFile(s, '  - src: sock\n    dest: /s\n')))).toMatch(
        /image\.yaml:3:10: files: sock is a socket/,
      );
    } finally {
      server.close();
    }
    // a device: /dev as the context
    const dev = imageFile(tempDir(), '  - src: "null"\n    dest: /null\n');
    expect(await errorOf(loadImageFile(dev, { context: '/dev' }))).toMatch(/image\.yaml:3:10: files: null is a device/);
  });

  it('refuses /proc and /sys however reached: as the context, below a context of /, through a symlink', async () => {
    const d = tempDir();
    const environ = imageFile(d, '  - src: environ\n    dest: /env\n');
    expect(await errorOf(loadImageFile(environ, { context: '/proc/self' }))).toMatch(
      /image\.yaml:3:10: files: the build context \/proc\/self is on \/proc or \/sys/,
    );
    const fromRoot = imageFile(d, '  - src: proc/self/environ\n    dest: /env\n  - src: sys/kernel\n    dest: /k\n');
    expect(await errorOf(loadImageFile(fromRoot, { context: '/' }))).toMatch(
      /image\.yaml:3:10: files: proc\/self\/environ is on \/proc or \/sys/,
    );
    const sys = imageFile(d, '  - src: sys/kernel\n    dest: /k\n');
    expect(await errorOf(loadImageFile(sys, { context: '/' }))).toMatch(/image\.yaml:3:10: files: sys\/kernel is on \/proc or \/sys/);
    // a directory of / copied whole stops at /proc (lstat of the walk, not only the source path)
    const all = imageFile(d, '  - src: .\n    dest: /all\n    exclude: ["*", "!proc"]\n');
    expect(await errorOf(added(all, { context: '/' }))).toMatch(/image\.yaml:3:10: files: proc is on \/proc or \/sys/);
  });

  it('context: in the file (relative to it) and --context (overriding it) move the context', async () => {
    const d = scratch();
    mkdirSync(path.join(d, 'deploy'));
    const f = path.join(d, 'deploy', 'image.yaml');
    writeFileSync(f, 'slices: [a_b]\ncontext: ..\nfiles:\n  - src: app/main.py\n    dest: /main.py\n');
    expect(await added(f)).toEqual(['/main.py']);
    expect((await loadImageFile(f)).context).toBe(d);
    // without context: the file's directory, where app/ is not
    writeFileSync(f, 'slices: [a_b]\nfiles:\n  - src: app/main.py\n    dest: /main.py\n');
    expect(await errorOf(loadImageFile(f))).toMatch(/image\.yaml:3:10: files: app\/main\.py does not exist in the build context/);
    expect(await added(f, { context: d })).toEqual(['/main.py']);
    // --context confines as the file's context would
    writeFileSync(f, 'slices: [a_b]\ncontext: ..\nfiles:\n  - src: ../x\n    dest: /x\n');
    expect(await errorOf(loadImageFile(f, { context: path.join(d, 'app') }))).toMatch(
      /image\.yaml:4:10: .*climbs out of the build context/,
    );
  });
});

describe('exclusions: exclude: globs and .chiselignore', () => {
  it('src: . with exclude: leaves out .git, node_modules, .env and logs, and !glob takes one back', async () => {
    const d = scratch();
    const f = imageFile(
      d,
      '  - src: .\n    dest: /srv\n    exclude: [.git, node_modules, .env, "**/*.log", "!app/keep.log", image.yaml]\n',
    );
    expect(await added(f)).toEqual(['/srv', '/srv/app', '/srv/app/keep.log', '/srv/app/lib', '/srv/app/lib/util.py', '/srv/app/main.py']);
    // exclude: is relative to the entry's source
    const g = imageFile(d, '  - src: app\n    dest: /app\n    exclude: [lib, "*.log"]\n');
    expect(await added(g)).toEqual(['/app', '/app/main.py']);
  });

  it('.chiselignore in the context applies to every entry; naming an ignored path is an error', async () => {
    const d = scratch();
    writeFileSync(
      path.join(d, '.chiselignore'),
      '# like .dockerignore\n.git\nnode_modules\n.env\n**/*.log\n!**/keep.log\n.chiselignore\nimage.yaml\n',
    );
    expect(await added(imageFile(d, '  - src: .\n    dest: /srv\n'))).toEqual([
      '/srv',
      '/srv/app',
      '/srv/app/keep.log',
      '/srv/app/lib',
      '/srv/app/lib/util.py',
      '/srv/app/main.py',
    ]);
    expect(await added(imageFile(d, '  - src: app\n    dest: /app\n'))).toEqual([
      '/app',
      '/app/keep.log',
      '/app/lib',
      '/app/lib/util.py',
      '/app/main.py',
    ]);
    expect(await errorOf(loadImageFile(imageFile(d, '  - src: .env\n    dest: /.env\n')))).toMatch(
      /image\.yaml:3:10: files: \.env is excluded by \.chiselignore/,
    );
  });

  it('isExcluded: the last matching glob decides, a directory glob covers what is below it', () => {
    expect(isExcluded(['node_modules'], 'node_modules/a/b.js')).toBe(true);
    expect(isExcluded(['node_modules'], 'app/node_modules/a.js')).toBe(false);
    expect(isExcluded(['**/node_modules'], 'app/node_modules/a.js')).toBe(true);
    expect(isExcluded(['*.log', '!keep.log'], 'keep.log')).toBe(false);
    expect(isExcluded(['/build/'], 'build/out')).toBe(true);
    expect(isExcluded(['.*'], '.env')).toBe(true);
  });
});

describe('a path swapped while the build reads it', () => {
  it('a file replaced by a symlink after its check is not followed', async () => {
    const d = scratch();
    const img = await loadImageFile(imageFile(d, '  - src: app/main.py\n    dest: /main.py\n'));
    const entry = img.files[0]!;
    const st = lstatSync(entry.src);
    renameSync(entry.src, `${entry.src}.old`);
    symlinkSync('/etc/passwd', entry.src);
    expect(await errorOf(openInContext(entry.context!, entry.src, st))).toMatch(
      /image\.yaml:3:10: files: app\/main\.py cannot be opened: ELOOP/,
    );
    // a file replaced by another file: not the one checked
    renameSync(`${entry.src}.old`, path.join(d, 'other'));
    writeFileSync(`${entry.src}.new`, 'other\n');
    renameSync(`${entry.src}.new`, entry.src);
    expect(await errorOf(openInContext(entry.context!, entry.src, st))).toMatch(/app\/main\.py changed while it was read/);
  });

  it('a directory replaced by a symlink to outside after the source was resolved is refused', async () => {
    const d = scratch();
    const img = await loadImageFile(imageFile(d, '  - src: app\n    dest: /app\n'));
    renameSync(path.join(d, 'app/lib'), path.join(d, 'lib.old'));
    const outside = tempDir('chisel-ts-outside-');
    writeFileSync(path.join(outside, 'secret'), 'secret\n');
    symlinkSync(outside, path.join(d, 'app/lib'));
    // the walk lstat's app/lib and keeps it as a link: nothing of outside is read
    const tree = await addFiles({ entries: [] }, img.files, new ContentStore(tempDir()));
    expect(tree.entries.map((e) => e.path)).not.toContain('/app/lib/secret');
    // a parent of the source swapped for a symlink after the source was resolved
    mkdirSync(path.join(d, 'app/sub'));
    writeFileSync(path.join(d, 'app/sub/x'), 'x\n');
    const sub = await loadImageFile(imageFile(d, '  - src: app/sub\n    dest: /sub\n  - src: app/main.py\n    dest: /main.py\n'));
    mkdirSync(path.join(outside, 'sub'));
    writeFileSync(path.join(outside, 'main.py'), 'outside\n');
    renameSync(path.join(d, 'app'), path.join(d, 'app.old'));
    symlinkSync(outside, path.join(d, 'app'));
    const store = new ContentStore(tempDir());
    expect(await errorOf(addFiles({ entries: [] }, sub.files, store))).toMatch(
      /image\.yaml:3:10: files: app\/sub moved outside the build context while it was read/,
    );
    expect(await errorOf(addFiles({ entries: [] }, sub.files.slice(1), store))).toMatch(
      /image\.yaml:5:10: files: app\/main\.py is outside the build context/,
    );
  });

  it('resolveSource gives the real path of a source under a context reached through a symlink', async () => {
    const d = scratch();
    const link = path.join(tempDir(), 'ctx');
    symlinkSync(d, link);
    const r = await resolveSource(path.join(link, 'app'), { root: link, exclude: [], at: { file: 'x.yaml', line: 1, col: 1 } });
    expect(r.src).toBe(path.join(d, 'app'));
    expect(r.context.root).toBe(d);
  });
});
