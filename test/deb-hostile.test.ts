// Hostile and broken .deb files: every one must fail with a clear ChiselError
// naming the package, never write or yield an unsafe path, never hang.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanTarPath, readDebControl, readDebData, type ReadDebOptions } from '../compiler/deb/index.js';
import type { DecompressBackend } from '../compiler/deb/decompress.js';
import { ChiselError } from '../compiler/util/errors.js';
import {
  buildAr,
  buildControlTar,
  buildDeb,
  buildTar,
  compress,
  controlText,
  dataEntries,
  type DebCompression,
  type TarEntrySpec,
} from './support/debbuild.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'chisel-deb-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function writeTmp(buf: Buffer): string {
  const p = path.join(tmp, `h${n++}.deb`);
  writeFileSync(p, buf);
  return p;
}

async function drain(src: string | Buffer, opts: ReadDebOptions = {}): Promise<string[]> {
  const paths: string[] = [];
  for await (const { entry, body } of readDebData(typeof src === 'string' ? src : writeTmp(src), { label: 'evil_1.0_amd64', ...opts })) {
    paths.push(entry.path);
    if (body) for await (const _ of body as AsyncIterable<Buffer>) void _;
  }
  return paths;
}

async function expectError(p: Promise<unknown>, re: RegExp): Promise<ChiselError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, 'expected an error').toBeInstanceOf(ChiselError);
  expect((e as Error).message).toMatch(re);
  return e as ChiselError;
}

/** A deb whose data member is given raw. */
async function debWithData(dataName: string, data: Buffer): Promise<Buffer> {
  const control = await buildControlTar(controlText({ package: 'evil', version: '1.0', arch: 'amd64' }), []);
  return buildAr([
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    { name: 'control.tar.gz', data: control },
    { name: dataName, data },
  ]);
}

describe('unsafe names', () => {
  const cases: Array<[string, TarEntrySpec[], RegExp]> = [
    [
      '../ prefix',
      [{ name: '../etc/passwd', type: 'file', mode: 0o644, content: Buffer.from('x') }],
      /evil_1\.0_amd64: unsafe path in package: "\.\.\/etc\/passwd" has a "\.\." component/,
    ],
    [
      '.. in the middle',
      [{ name: './usr/../../etc/x', type: 'file', mode: 0o644 }],
      /unsafe path in package: "\.\/usr\/\.\.\/\.\.\/etc\/x"/,
    ],
    ['.. as a directory', [{ name: './a/../', type: 'directory', mode: 0o755 }], /unsafe path/],
    ['symlink named ..', [{ name: './..', type: 'symlink', mode: 0o777, linkname: '/' }], /unsafe path in package: "\.\/\.\."/],
    [
      'hard link target outside',
      [
        { name: './a', type: 'file', mode: 0o644, content: Buffer.from('x') },
        { name: './b', type: 'link', mode: 0o644, linkname: '../../etc/shadow' },
      ],
      /unsafe path in package: "\.\.\/\.\.\/etc\/shadow"/,
    ],
    [
      'hard link to an unknown file',
      [{ name: './b', type: 'link', mode: 0o644, linkname: './etc/shadow' }],
      /hard link \/b points to \/etc\/shadow, which is not an earlier regular file in data\.tar\.gz/,
    ],
    [
      'hard link to a directory',
      [
        { name: './d/', type: 'directory', mode: 0o755 },
        { name: './b', type: 'link', mode: 0o644, linkname: './d' },
      ],
      /hard link \/b points to \/d/,
    ],
    [
      'long PAX name with ..',
      [{ name: `./${'y'.repeat(120)}/../../../root/.ssh/authorized_keys`, type: 'file', mode: 0o600 }],
      /unsafe path/,
    ],
  ];
  it.each(cases)('%s', async (_name, entries, re) => {
    const deb = await debWithData('data.tar.gz', await compress(await buildTar(entries), 'gz'));
    await expectError(drain(deb), re);
  });

  it('absolute and relative names are normalized the same way', async () => {
    const deb = await buildDeb({
      package: 'abs',
      version: '1',
      arch: 'all',
      compression: 'gz',
      rawNames: true,
      files: [
        { path: '/etc/', type: 'dir' },
        { path: '/etc/abs', content: 'a' },
        { path: 'etc/rel', content: 'b' },
        { path: './etc//dot/', type: 'dir' },
        { path: '.', type: 'dir' },
      ],
    });
    expect(await drain(deb)).toEqual(['/etc', '/etc/abs', '/etc/rel', '/etc/dot', '/']);
  });

  it('cleanTarPath', () => {
    expect(cleanTarPath('./')).toBe('/');
    expect(cleanTarPath('./usr/bin/')).toBe('/usr/bin');
    expect(cleanTarPath('/usr//bin/./x')).toBe('/usr/bin/x');
    expect(cleanTarPath('usr/bin')).toBe('/usr/bin');
    expect(cleanTarPath('...')).toBe('/...');
    expect(cleanTarPath('..a/b..')).toBe('/..a/b..');
    expect(() => cleanTarPath('a/..', 'pkg')).toThrow(/^pkg: unsafe path in package: "a\/\.\." has a "\.\." component$/);
    expect(() => cleanTarPath('a\0b', 'pkg')).toThrow(/NUL/);
  });

  it('cleanTarPath: property', () => {
    const comp = fc.constantFrom('a', 'b c', '.', '', '..', '...', 'é', '.x');
    fc.assert(
      fc.property(fc.array(comp, { maxLength: 8 }), (parts) => {
        const name = parts.join('/');
        if (parts.includes('..')) {
          expect(() => cleanTarPath(name)).toThrow(ChiselError);
          return;
        }
        const p = cleanTarPath(name);
        expect(p.startsWith('/')).toBe(true);
        expect(p === '/' || !p.endsWith('/')).toBe(true);
        expect(
          p
            .split('/')
            .slice(1)
            .filter((c) => c === '' || c === '.' || c === '..'),
        ).toEqual(p === '/' ? [''] : []);
        expect(cleanTarPath(p)).toBe(p);
        expect(cleanTarPath(`./${name}`)).toBe(p);
        expect(cleanTarPath(`/${name}`)).toBe(p);
      }),
    );
  });

  it('non-UTF-8 names are refused unless latin1 is asked for (GNU tar, long names)', async () => {
    const root = path.join(tmp, 'gnu-root');
    mkdirSync(path.join(root, 'usr', 'share'), { recursive: true });
    const latin1 = Buffer.concat([Buffer.from(`${path.join(root, 'usr', 'share')}/caf`), Buffer.from([0xe9])]);
    writeFileSync(latin1, 'latin1');
    const long = path.join(root, 'usr', 'share', 'L'.repeat(180));
    writeFileSync(long, 'gnu longname');
    const tarFile = path.join(tmp, 'gnu.tar');
    execFileSync('tar', ['--format=gnu', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', root, '-cf', tarFile, '.']);
    const deb = await debWithData('data.tar', (await import('node:fs')).readFileSync(tarFile));
    await expectError(drain(deb), /evil_1\.0_amd64: file name "\.\/usr\/share\/caf\u00e9" \(shown as latin1\) is not valid UTF-8/);
    const paths = await drain(deb, { nonUtf8Names: 'latin1' });
    expect(paths).toContain('/usr/share/caf\u00e9');
    expect(paths).toContain(`/usr/share/${'L'.repeat(180)}`);
  });
});

const COMPRESSED: DebCompression[] = ['gz', 'xz', 'zst'];
const BACKENDS: DecompressBackend[] = ['subprocess', 'library'];
const combos = COMPRESSED.flatMap((c) => BACKENDS.map((b) => [c, b] as const)).filter(([c, b]) => !(c === 'gz' && b === 'subprocess'));

describe.each(combos)('broken data.tar.%s (backend %s)', (comp, backend) => {
  const payload = Buffer.alloc(300_000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) % 251;
  const good = (async () => compress(await buildTar(dataEntries([{ path: '/usr/share/data', content: payload }])), comp))();
  const member = `data.tar.${comp}`;

  it('reads when intact', async () => {
    expect(await drain(await debWithData(member, await good), { backend })).toEqual(['/', '/usr', '/usr/share', '/usr/share/data']);
  });

  it('truncated member', async () => {
    const data = await good;
    const deb = await debWithData(member, data.subarray(0, Math.floor(data.length / 2)));
    await expectError(
      drain(deb, { backend }),
      new RegExp(`^evil_1\\.0_amd64: corrupt ${member.replace(/\./g, '\\.')}: .*(end|EOF|truncat|incomplete|unexpected)`, 'i'),
    );
  });

  // Known gap: fzstd (the zstd library fallback on Node < 22.15, used only
  // without the zstd program) does not verify the frame's content checksum, so
  // flipped bytes inside file contents go unnoticed there. The .deb's sha256
  // from the signed index catches this before any read.
  const noChecksum = comp === 'zst' && backend === 'library' && !('createZstdDecompress' in zlib);
  it.skipIf(noChecksum)('corrupt bytes in the middle', async () => {
    const data = Buffer.from(await good);
    for (let i = Math.floor(data.length / 2); i < Math.floor(data.length / 2) + 64; i++) data[i] = data[i]! ^ 0x5a;
    await expectError(
      drain(await debWithData(member, data), { backend }),
      new RegExp(`^evil_1\\.0_amd64: corrupt ${member.replace(/\./g, '\\.')}: `),
    );
  });

  it('not compressed at all', async () => {
    await expectError(
      drain(await debWithData(member, Buffer.from('this is not compressed data, just text\n'.repeat(10))), { backend }),
      new RegExp(`corrupt ${member.replace(/\./g, '\\.')}: `),
    );
  });

  it('size bomb: maxTotalBytes and maxEntryBytes', async () => {
    const bomb = await compress(await buildTar(dataEntries([{ path: '/zeros', content: Buffer.alloc(8 << 20) }])), comp);
    expect(bomb.length).toBeLessThan(64 << 10);
    const deb = await debWithData(member, bomb);
    await expectError(
      drain(deb, { backend, maxTotalBytes: 1 << 20 }),
      new RegExp(`^evil_1\\.0_amd64: ${member.replace(/\./g, '\\.')} expands to more than 1048576 bytes \\(maxTotalBytes\\)`),
    );
    await expectError(
      drain(deb, { backend, maxEntryBytes: 1 << 20 }),
      /^evil_1\.0_amd64: \/zeros in data\.tar\.\w+ is 8388608 bytes, more than 1048576 \(maxEntryBytes\)/,
    );
    expect(await drain(deb, { backend })).toContain('/zeros');
  });
});

describe('broken containers', () => {
  const good = () =>
    buildDeb({
      package: 'evil',
      version: '1.0',
      arch: 'amd64',
      compression: 'xz',
      files: [{ path: '/a', content: Buffer.alloc(100_000, 1) }],
    });

  it('not an ar archive', async () => {
    await expectError(
      drain(Buffer.from('PK\x03\x04 not a deb at all')),
      /^evil_1\.0_amd64: not a Debian package \(no ar archive signature\)/,
    );
  });

  it('first member is not debian-binary', async () => {
    const deb = buildAr([{ name: 'data.tar', data: await buildTar([]) }]);
    await expectError(drain(deb), /not a Debian binary package \(first member is "data\.tar", not debian-binary\)/);
  });

  it('unsupported format version', async () => {
    const deb = buildAr([{ name: 'debian-binary', data: Buffer.from('3.0\n') }]);
    await expectError(drain(deb), /unsupported \.deb format version "3\.0"/);
  });

  it('no data member', async () => {
    const deb = buildAr([{ name: 'debian-binary', data: Buffer.from('2.0\n') }]);
    await expectError(drain(deb), /no data\.tar member in \.deb/);
    await expectError(readDebControl(writeTmp(deb), { label: 'evil' }), /^evil: no control\.tar member/);
  });

  it('unexpected member', async () => {
    const deb = buildAr([
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      { name: 'evil.sh', data: Buffer.from('rm -rf /') },
    ]);
    await expectError(drain(deb), /unexpected member "evil\.sh"/);
  });

  it('truncated .deb file (ar member cut short)', async () => {
    const deb = await good();
    await expectError(drain(deb.subarray(0, deb.length - 200)), /^evil_1\.0_amd64: corrupt ar archive: member data\.tar\.xz truncated/);
  });

  it('truncated in an ar header', async () => {
    const deb = await good();
    await expectError(drain(deb.subarray(0, 8 + 60 + 4 + 30)), /corrupt ar archive: truncated member header/);
  });

  it('bad ar header', async () => {
    const deb = Buffer.from(await good());
    deb.write('xx', 8 + 58, 'latin1');
    await expectError(drain(deb), /corrupt ar archive: bad member header at offset 8/);
  });

  it('garbage tar inside valid compression', async () => {
    const deb = await debWithData('data.tar.gz', await compress(Buffer.alloc(2048, 0x41), 'gz'));
    await expectError(drain(deb), /^evil_1\.0_amd64: corrupt data\.tar\.gz: Invalid tar header/);
  });

  it('tar truncated inside valid compression', async () => {
    const tar = await buildTar(dataEntries([{ path: '/f', content: Buffer.alloc(10_000, 2) }]));
    const deb = await debWithData('data.tar.xz', await compress(tar.subarray(0, 4000), 'xz'));
    await expectError(drain(deb), /^evil_1\.0_amd64: corrupt data\.tar\.xz: Unexpected end of data/);
  });

  it('control.tar without control file', async () => {
    const deb = buildAr([
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      {
        name: 'control.tar.gz',
        data: await compress(await buildTar([{ name: './md5sums', type: 'file', mode: 0o644, content: Buffer.from('') }]), 'gz'),
      },
    ]);
    await expectError(readDebControl(writeTmp(deb), { label: 'evil' }), /^evil: control\.tar has no control file/);
  });

  it('device nodes and fifos are reported with their type', async () => {
    const deb = await buildDeb({
      package: 'dev',
      version: '1',
      arch: 'all',
      compression: 'gz',
      files: [
        { path: '/dev/kmem', type: 'char', mode: 0o640, devmajor: 1, devminor: 2 },
        { path: '/dev/fifo', type: 'fifo' },
      ],
    });
    const got: Array<[string, string]> = [];
    for await (const { entry, body } of readDebData(writeTmp(deb))) {
      got.push([entry.path, entry.type]);
      expect(body).toBeUndefined();
    }
    expect(got).toEqual([
      ['/', 'dir'],
      ['/dev', 'dir'],
      ['/dev/kmem', 'char'],
      ['/dev/fifo', 'fifo'],
    ]);
  });
});
