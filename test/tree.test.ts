// The order of paths in a tree: every output (directory, tarball, layers,
// manifests) is written in this order, so it must be byte-wise and stable.
// And the tar headers of a tree's hard links (they carry their target's mode).

import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContentStore } from '../compiler/cache/store.js';
import { tarStreamOf } from '../compiler/output/tar.js';
import { comparePaths, type Tree } from '../compiler/tree/model.js';
import { tempDir } from './support/cutenv.js';
import { tarEntries } from './support/oci.js';

/** The definition: component by component, each compared as UTF-8 bytes. */
function byComponents(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
  }
  return pa.length - pb.length;
}

describe('comparePaths', () => {
  it.each([
    ['/a', '/a/b', -1], // a parent before its children
    ['/a/z', '/a-b', -1], // ...and before a sibling that extends its name
    ['/a-b', '/a/z', 1],
    ['/a.conf', '/a/b', 1],
    ['/usr/lib', '/usr/lib64', -1],
    ['/B', '/a', -1], // bytes, not locale
    ['/é', '/z', 1], // U+00E9 is 0xC3 0xA9 in UTF-8
    ['/\uffff', '/\u{10000}', -1], // a code point above U+FFFF sorts last in UTF-8
    ['/\ue000', '/\u{1f600}', -1],
    ['/x', '/x', 0],
  ])('%s vs %s', (a, b, want) => {
    expect(Math.sign(comparePaths(a, b))).toBe(want);
    expect(Math.sign(byComponents(a, b))).toBe(want);
  });

  it('agrees with the component-wise byte order on any paths', () => {
    const piece = fc.constantFrom('a', 'b', '-', '.', '/', 'é', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', 'Z', '0');
    const clean = (parts: string[]) => `/${parts.join('')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
    const pathArb = fc.array(piece, { minLength: 1, maxLength: 10 }).map(clean);
    fc.assert(
      fc.property(pathArb, pathArb, fc.boolean(), (a, rest, nested) => {
        const b = nested ? clean([a, rest]) : rest;
        expect(Math.sign(comparePaths(a, b))).toBe(Math.sign(byComponents(a, b)));
      }),
      { numRuns: 20000 },
    );
  });
});

describe('the tar of a tree', () => {
  it("gives a hard link's header the mode of its primary file, not the mode of its own .deb entry", async () => {
    const store = new ContentStore(tempDir('chisel-ts-tree-tar-'));
    const data = Buffer.from('#!/bin/sh\necho hi\n');
    const sha256 = await store.putBuffer(data);
    const base = { uid: 0, gid: 0, size: 0 };
    const tree: Tree = {
      entries: [
        { ...base, path: '/usr', type: 'dir', mode: 0o755 },
        { ...base, path: '/usr/bin', type: 'dir', mode: 0o755 },
        { ...base, path: '/usr/bin/tool', type: 'file', mode: 0o755, size: data.length, sha256 },
        // the .deb gave the link entry 0644: the inode is the primary's, 0755
        { ...base, path: '/usr/bin/tool2', type: 'hardlink', mode: 0o644, sha256, link: '/usr/bin/tool' },
      ],
    };
    const chunks: Buffer[] = [];
    await pipeline(
      tarStreamOf(tree, store, { mtime: 0 }),
      new Writable({
        write: (c: Buffer, _e, cb) => {
          chunks.push(c);
          cb();
        },
      }),
    );
    const byName = new Map((await tarEntries(Buffer.concat(chunks))).map((e) => [e.name, e]));
    expect(byName.get('usr/bin/tool2')).toMatchObject({ type: 'link', mode: 0o755 });
    expect(byName.get('usr/bin/tool')).toMatchObject({ type: 'file', mode: 0o755 });
  });
});
