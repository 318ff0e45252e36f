// The Packages index parser: fields kept, stanza errors, CRLF, and the same
// table whatever the chunking of the decompressed stream.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PackagesParser, parsePackages, parsePackagesIndex } from '../compiler/archive/packages.js';

const stanza = (name: string, extra = ''): string =>
  `Package: ${name}\nVersion: 1.0-${name.length}\nArchitecture: amd64\n${extra}Depends: libc6 (>= 2.34)\nDescription: the ${name} package\n a long description line\n .\n more\nFilename: pool/main/${name[0]}/${name}/${name}_1.0_amd64.deb\nSize: ${name.length * 100}\nSHA256: ${'AB'.repeat(32)}\n`;
const TEXT = [stanza('alpha', 'Source: alpha-src (0.9)\nMulti-Arch: same\n'), stanza('beta', 'Pre-Depends: dpkg\n'), stanza('gamma')].join(
  '\n',
);

describe('parsePackages', () => {
  it('keeps only the fields the compiler needs, lower-cases the hash, skips descriptions', () => {
    const t = parsePackages(TEXT);
    expect(Object.keys(t).sort()).toEqual(['arch', 'filename', 'name', 'sha256', 'size', 'v', 'version']);
    expect(t.name).toEqual(['alpha', 'beta', 'gamma']);
    expect(t.version).toEqual(['1.0-5', '1.0-4', '1.0-5']);
    expect(t.arch).toEqual(['amd64', 'amd64', 'amd64']);
    expect(t.size).toEqual([500, 400, 500]);
    expect(t.sha256[0]).toBe('ab'.repeat(32));
    expect(t.filename[2]).toBe('pool/main/g/gamma/gamma_1.0_amd64.deb');
  });

  it('reads any architecture name and only plain decimal sizes', () => {
    const t = parsePackages(TEXT.replace('Architecture: amd64', 'Architecture: mips64el').replace('Size: 500', 'Size: 0500'));
    expect(t.arch).toEqual(['mips64el', 'amd64', 'amd64']);
    expect(t.size[0]).toBe(500);
    expect(() => parsePackages(TEXT.replace('Size: 400', 'Size: -400'))).toThrow(/stanza of beta lacks Size/);
    expect(() => parsePackages(TEXT.replace('Size: 400', `Size: ${'9'.repeat(16)}`))).toThrow(/stanza of beta lacks Size/);
  });

  it('reads CRLF line ends and trailing blanks the same', () => {
    expect(parsePackages(TEXT.replace(/\n/g, '\r\n'))).toEqual(parsePackages(TEXT));
    expect(parsePackages(TEXT.replace(/(?<=.)\n/g, ' \t\n'))).toEqual(parsePackages(TEXT));
  });

  it('names the line of a stanza that lacks a required field', () => {
    const broken = TEXT.replace(/SHA256: .*\n(?=\nPackage: gamma)/, '');
    expect(() => parsePackages(broken, 'main/Packages')).toThrow(/main\/Packages: line 15: stanza of beta lacks SHA256/);
    expect(() => parsePackages(TEXT.replace('Size: 400', 'Size: 4x0'))).toThrow(/stanza of beta lacks Size/);
  });

  it('gives the same table however the text is cut into chunks', () => {
    const bytes = Buffer.from(TEXT.replace(/\n/g, '\r\n'));
    const whole = parsePackages(bytes);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), (cuts) => {
        const p = new PackagesParser();
        let prev = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          p.push(bytes.subarray(prev, c));
          prev = c;
        }
        p.push(bytes.subarray(prev));
        expect(p.end()).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('parses a gzip index as a stream; a corrupt one is a clear error', async () => {
    const big = Array.from({ length: 3000 }, (_, i) => stanza(`pkg${i}`)).join('\n');
    const t = await parsePackagesIndex(gzipSync(big), 'gz', 'main/Packages.gz');
    expect(t).toEqual(parsePackages(big));
    expect(t.name.length).toBe(3000);
    const bad = gzipSync(big);
    bad[bad.length >> 1]! ^= 0xff;
    await expect(parsePackagesIndex(bad, 'gz', 'main/Packages.gz')).rejects.toThrow(
      /main\/Packages\.gz: (cannot decompress \(gz\)|line \d+)/,
    );
  });
});

describe('the index worker thread (compiled: dist/, which `npm test` builds)', () => {
  type Host = typeof import('../compiler/archive/indexhost.js');
  type Store = typeof import('../compiler/cache/store.js');
  const load = async () => ({
    host: (await import(path.resolve(__dirname, '../dist/compiler/archive/indexhost.js'))) as Host,
    store: (await import(path.resolve(__dirname, '../dist/compiler/cache/store.js'))) as Store,
  });

  it('is ended when idle, and a later lookup loads the index again from the cache', async () => {
    const { host, store: storeMod } = await load();
    const store = new storeMod.ContentStore(mkdtempSync(path.join(tmpdir(), 'chisel-ts-idx-')));
    const index = gzipSync(Buffer.from(TEXT));
    const sha256 = await store.putBuffer(index);
    const job = { sha256, comp: 'gz' as const, what: 'test index' };
    const h = host.indexHost(store);
    await h.load(job);
    expect((await h.lookup(sha256, 'beta')).map((r) => r.version)).toEqual(['1.0-4']);
    // Idle: the worker ends; the next lookup goes to a new one, which loads the index again.
    await sleep(600);
    expect((await h.lookup(sha256, 'gamma')).map((r) => r.name)).toEqual(['gamma']);
    // Once more, with nothing left to load it from: only a released worker can fail here.
    await sleep(600);
    rmSync(path.join(store.root, 'blobs'), { recursive: true });
    rmSync(path.join(store.root, 'meta'), { recursive: true, force: true });
    await expect(h.lookup(sha256, 'alpha')).rejects.toThrow(/test index: --offline, and the cache does not hold this index/);
  });
});
