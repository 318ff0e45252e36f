// .deb reading: debs built in code (every compression, every entry type),
// checked with the real dpkg-deb and read back with readDebData/readDebControl.

import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, lstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDebControl, readDebData } from '../compiler/deb/index.js';
import type { DecompressBackend } from '../compiler/deb/decompress.js';
import { buildDeb, listWithDpkg, readAll, type DebCompression, type DebFile } from './support/debbuild.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'chisel-deb-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Deterministic, partly compressible bytes (test data, not crypto). */
function pseudoRandom(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = (x >>> 24) & 0x3f;
  }
  return b;
}

let n = 0;
function writeTmp(buf: Buffer, name = `t${n++}.deb`): string {
  const p = path.join(tmp, name);
  writeFileSync(p, buf);
  return p;
}

const LONG_COMPONENT = 'x'.repeat(150); // forces a PAX path record
const LONG_PATH = `usr/share/${'deep/'.repeat(25)}file.txt`; // > 100 chars, fits ustar prefix
const BIG = pseudoRandom(5 * 1024 * 1024 + 3);

const FILES: DebFile[] = [
  { path: '/usr/bin/hello', mode: 0o755, content: '#!/bin/sh\necho hello\n' },
  { path: '/usr/bin/hello-again', type: 'hardlink', link: '/usr/bin/hello' },
  { path: '/usr/bin/suid', mode: 0o4755, content: 'setuid' },
  { path: '/usr/bin/sgid', mode: 0o2711, content: 'setgid', gid: 42 },
  { path: '/tmp', type: 'dir', mode: 0o1777 },
  { path: '/etc/empty', content: '' },
  { path: '/etc/owned', content: 'x', uid: 1000, gid: 1000, mode: 0o600 },
  { path: '/usr/lib/libfoo.so.1', content: 'ELF?', mode: 0o644 },
  { path: '/usr/lib/libfoo.so', type: 'symlink', link: 'libfoo.so.1' },
  { path: '/usr/lib/abs-link', type: 'symlink', link: '/etc/../etc/empty' },
  { path: `/usr/share/${LONG_COMPONENT}`, content: 'long component' },
  { path: `/${LONG_PATH}`, content: 'long path' },
  { path: '/usr/share/doc/café/README', content: 'utf-8 name' },
  { path: '/usr/share/big.bin', content: BIG },
  { path: '/var/lib/private', type: 'dir', mode: 0o700 },
];
const SPECIALS: DebFile[] = [
  { path: '/dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
  { path: '/dev/sda', type: 'block', mode: 0o660, devmajor: 8, devminor: 0, gid: 6 },
  { path: '/run/fifo', type: 'fifo', mode: 0o644 },
];

const COMPRESSIONS: DebCompression[] = ['gz', 'xz', 'zst', 'none'];
const SUFFIX: Record<DebCompression, string> = { gz: '.gz', xz: '.xz', zst: '.zst', none: '' };

describe.each(COMPRESSIONS)('built deb, data.tar%s', (comp) => {
  let debPath = '';
  const built = (async () => {
    const buf = await buildDeb({
      package: 'hello',
      version: '1.0-1',
      arch: 'amd64',
      files: [...FILES, ...SPECIALS],
      compression: comp,
      control: { Section: 'misc' },
    });
    debPath = writeTmp(buf, `hello-${comp}.deb`);
    return debPath;
  })();

  it('is valid for dpkg-deb -c and -I', async () => {
    const deb = await built;
    const c = spawnSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toContain('./usr/bin/hello');
    const info = spawnSync('dpkg-deb', ['-I', deb], { encoding: 'utf8' });
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toContain('Package: hello');
    expect(execFileSync('ar', ['t', deb], { encoding: 'utf8' }).split('\n')).toEqual([
      'debian-binary',
      'control.tar.gz',
      `data.tar${SUFFIX[comp]}`,
      '',
    ]);
  });

  it.each<DecompressBackend>(['auto', 'library'])('reads the same entries as dpkg-deb | tar -tv (backend %s)', async (backend) => {
    const deb = await built;
    const expected = listWithDpkg(deb);
    const { entries, sums, chunks } = await readAll(deb, { backend });
    expect(entries).toEqual(expected);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(byPath.get('/')?.type).toBe('dir');
    expect(byPath.get('/usr/bin/suid')?.mode).toBe(0o4755);
    expect(byPath.get('/usr/bin/sgid')).toMatchObject({ mode: 0o2711, gid: 42 });
    expect(byPath.get('/tmp')).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(byPath.get('/usr/bin/hello-again')).toMatchObject({ type: 'hardlink', link: '/usr/bin/hello', size: 0 });
    expect(byPath.get('/usr/lib/abs-link')).toMatchObject({ type: 'symlink', link: '/etc/../etc/empty' });
    expect(byPath.get('/etc/empty')).toMatchObject({ type: 'file', size: 0 });
    expect(byPath.get(`/usr/share/${LONG_COMPONENT}`)?.type).toBe('file');
    expect(byPath.get(`/${LONG_PATH}`)?.type).toBe('file');
    expect(byPath.get('/usr/share/doc/café/README')?.type).toBe('file');
    expect(byPath.get('/dev/null')).toMatchObject({ type: 'char', mode: 0o666 });
    expect(byPath.get('/dev/sda')).toMatchObject({ type: 'block', gid: 6 });
    expect(byPath.get('/run/fifo')?.type).toBe('fifo');
    expect(sums.get('/usr/share/big.bin')).toBe(createHash('sha256').update(BIG).digest('hex'));
    expect(sums.get('/etc/empty')).toBe(createHash('sha256').digest('hex'));
    // the 5 MB body arrives in pieces, not as one buffer
    expect(chunks.get('/usr/share/big.bin')!).toBeGreaterThan(4);
  });

  it('reads the control member like dpkg-deb -f / -I', async () => {
    const deb = await built;
    const ctl = await readDebControl(deb, { label: 'hello' });
    for (const field of ['Package', 'Version', 'Architecture', 'Maintainer', 'Section', 'Description']) {
      const want = execFileSync('dpkg-deb', ['-f', deb, field], { encoding: 'utf8' }).replace(/\n$/, '');
      expect(ctl.fields.get(field), field).toBe(want);
    }
    const md5 = execFileSync('dpkg-deb', ['-I', deb, 'md5sums'], { encoding: 'utf8' });
    expect(ctl.md5sums).toBe(md5);
    expect(ctl.conffiles).toBeUndefined();
    expect(ctl.control).toBe(execFileSync('dpkg-deb', ['-I', deb, 'control'], { encoding: 'utf8' }));
  });
});

describe('file contents match dpkg-deb -x', () => {
  it.each(COMPRESSIONS)('data.tar%s', async (comp) => {
    const deb = writeTmp(await buildDeb({ package: 'x', version: '1', arch: 'all', files: FILES, compression: comp }));
    const dir = path.join(tmp, `x-${comp}`);
    execFileSync('dpkg-deb', ['-x', deb, dir]);
    const { entries, sums } = await readAll(deb);
    let checked = 0;
    for (const e of entries) {
      const onDisk = path.join(dir, e.path);
      const st = lstatSync(onDisk);
      if (e.type === 'file') {
        expect(sums.get(e.path)).toBe(createHash('sha256').update(readFileSync(onDisk)).digest('hex'));
        expect(st.mode & 0o7777).toBe(e.mode);
        checked++;
      } else if (e.type === 'hardlink') {
        expect(st.ino).toBe(lstatSync(path.join(dir, e.link!)).ino);
      } else if (e.type === 'symlink') {
        expect(st.isSymbolicLink()).toBe(true);
      }
    }
    expect(checked).toBe(FILES.filter((f) => (f.type ?? 'file') === 'file').length);
  });
});

describe('consumer behaviour', () => {
  it('skipping every body is cheap and yields the same entries', async () => {
    const deb = writeTmp(await buildDeb({ package: 'x', version: '1', arch: 'all', files: FILES, compression: 'xz' }));
    const full = await readAll(deb);
    const skipped: string[] = [];
    for await (const { entry } of readDebData(deb)) skipped.push(entry.path);
    expect(skipped).toEqual(full.entries.map((e) => e.path));
  });

  it('a partly read body is discarded and iteration continues', async () => {
    const deb = writeTmp(await buildDeb({ package: 'x', version: '1', arch: 'all', files: FILES, compression: 'zst' }));
    const seen: string[] = [];
    for await (const { entry, body } of readDebData(deb)) {
      seen.push(entry.path);
      if (body && entry.size > 1e6) {
        for await (const c of body as AsyncIterable<Buffer>) {
          expect(c.length).toBeGreaterThan(0);
          break;
        }
      }
    }
    expect(seen).toContain('/var/lib/private');
    expect(seen.indexOf('/var/lib/private')).toBeGreaterThan(seen.indexOf('/usr/share/big.bin'));
  });

  it.each(['xz', 'zst'] as const)('breaking out early kills the %s child process', async (comp) => {
    const deb = writeTmp(
      await buildDeb({
        package: 'x',
        version: '1',
        arch: 'all',
        files: [{ path: '/big', content: pseudoRandom(20 << 20, 7) }],
        compression: comp,
      }),
    );
    const children = () => spawnSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).stdout.trim();
    for await (const { entry, body } of readDebData(deb, { backend: 'subprocess' })) {
      if (body) {
        for await (const _ of body as AsyncIterable<Buffer>) break;
        expect(children()).not.toBe('');
        break;
      }
      expect(entry.type).toBe('dir');
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(children()).toBe('');
  });

  it('an AbortSignal stops the read and kills the child', async () => {
    const deb = writeTmp(
      await buildDeb({
        package: 'x',
        version: '1',
        arch: 'all',
        files: [{ path: '/big', content: pseudoRandom(20 << 20, 9) }],
        compression: 'xz',
      }),
    );
    const children = () => spawnSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).stdout.trim();
    const ac = new AbortController();
    const run = (async () => {
      for await (const { body } of readDebData(deb, { label: 'x', signal: ac.signal, backend: 'subprocess' })) {
        if (body) {
          for await (const _ of body as AsyncIterable<Buffer>) ac.abort();
        }
      }
    })();
    await expect(run).rejects.toThrow(/^x: reading data\.tar\.xz aborted/);
    await new Promise((r) => setTimeout(r, 200));
    expect(children()).toBe('');
  });

  it('reads from a Readable as well as from a path', async () => {
    const buf = await buildDeb({ package: 'x', version: '1', arch: 'all', files: FILES.slice(0, 4), compression: 'gz' });
    const { Readable } = await import('node:stream');
    const fromStream: string[] = [];
    for await (const { entry } of readDebData(Readable.from([buf.subarray(0, 100), buf.subarray(100, 101), buf.subarray(101)])))
      fromStream.push(entry.path);
    expect(fromStream).toEqual((await readAll(buf)).entries.map((e) => e.path));
    const ctl = await readDebControl(Readable.from([buf]));
    expect(ctl.fields.get('Package')).toBe('x');
  });
});
