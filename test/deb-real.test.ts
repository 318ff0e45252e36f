// Real Debian packages (fetched with `apt-get download`, cached under the
// system temp dir): entry lists, contents and control data must match what
// dpkg-deb sees.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseControlParagraph, parseControlParagraphs, readDebControl } from '../compiler/deb/index.js';
import { listWithDpkg, readAll } from './support/debbuild.js';

const PACKAGES = ['libc6', 'base-files', 'tzdata', 'busybox'];
const cacheDir = path.join(os.tmpdir(), 'chisel-ts-test-debs');
const debs = new Map<string, string>();

function find(pkg: string): string | undefined {
  const f = readdirSync(cacheDir).find((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb'));
  return f && path.join(cacheDir, f);
}

beforeAll(() => {
  mkdirSync(cacheDir, { recursive: true });
  const missing = PACKAGES.filter((p) => !find(p));
  if (missing.length) {
    const r = spawnSync('apt-get', ['download', ...missing], { cwd: cacheDir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`apt-get download ${missing.join(' ')} failed (run apt-get update first?): ${r.stderr}`);
  }
  for (const p of PACKAGES) debs.set(p, find(p)!);
});

const extracted = mkdtempSync(path.join(os.tmpdir(), 'chisel-deb-real-'));
afterAll(() => rmSync(extracted, { recursive: true, force: true }));

describe.each(PACKAGES)('real package %s', (pkg) => {
  it('entries equal dpkg-deb --fsys-tarfile | tar -tv, contents equal dpkg-deb -x', async () => {
    const deb = debs.get(pkg)!;
    const expected = listWithDpkg(deb);
    const { entries, sums } = await readAll(deb, { label: pkg });
    expect(entries).toEqual(expected);
    expect(entries.length).toBeGreaterThan(5);
    const dir = path.join(extracted, pkg);
    execFileSync('dpkg-deb', ['-x', deb, dir]);
    let files = 0;
    for (const e of entries) {
      if (e.type !== 'file') continue;
      files++;
      expect(sums.get(e.path), e.path).toBe(
        createHash('sha256')
          .update(readFileSync(path.join(dir, e.path)))
          .digest('hex'),
      );
    }
    expect(files).toBeGreaterThan(0);
  });

  it('control data equals dpkg-deb -f / -I', async () => {
    const deb = debs.get(pkg)!;
    const ctl = await readDebControl(deb, { label: pkg });
    expect(ctl.control).toBe(execFileSync('dpkg-deb', ['-I', deb, 'control'], { encoding: 'utf8' }));
    for (const [field, value] of ctl.fields) {
      const want = execFileSync('dpkg-deb', ['-f', deb, field], { encoding: 'utf8' }).replace(/\n$/, '');
      expect(value, field).toBe(want);
    }
    expect(ctl.fields.get('Package')).toBe(pkg);
    expect(ctl.md5sums).toBe(execFileSync('dpkg-deb', ['-I', deb, 'md5sums'], { encoding: 'utf8' }));
    const conffiles = spawnSync('dpkg-deb', ['-I', deb, 'conffiles'], { encoding: 'utf8' });
    if (conffiles.status === 0) expect(ctl.conffiles).toBe(conffiles.stdout);
    else expect(ctl.conffiles).toBeUndefined();
  });
});

describe('parseControlParagraph', () => {
  it('fields, continuation lines, comments, CRLF, stop at blank line', () => {
    const text = '\n# comment\nPackage: a\r\nDescription: short\n long line\n .\n more  \nSHA256:\n abc 1 f\n def 2 g\n\nPackage: b\n';
    const m = parseControlParagraph(text);
    expect([...m.keys()]).toEqual(['Package', 'Description', 'SHA256']);
    expect(m.get('Package')).toBe('a');
    expect(m.get('Description')).toBe('short\n long line\n .\n more');
    expect(m.get('SHA256')).toBe('\n abc 1 f\n def 2 g');
    expect(parseControlParagraphs(text).map((p) => p.get('Package'))).toEqual(['a', 'b']);
  });

  it.each([
    [' leading continuation\n', /line 1: continuation line without a field/],
    ['Package: a\nno colon here\n', /line 2: expected "Field: value"/],
    ['Package: a\nPackage: b\n', /line 2: field Package repeated/],
    [': empty name\n', /line 1: expected "Field: value"/],
  ])('rejects %j', (text, re) => {
    expect(() => parseControlParagraph(text, 'pkg')).toThrow(re);
  });

  it('parses /var/lib/dpkg/status like dpkg-query does', () => {
    const stanzas = parseControlParagraphs(readFileSync('/var/lib/dpkg/status', 'utf8'), 'status');
    const ours = stanzas.map((s) => `${s.get('Package')} ${s.get('Version') ?? ''} ${s.get('Status')}`).sort();
    const theirs = execFileSync('dpkg-query', ['-W', '-f', '${Package} ${Version} ${Status}\\n'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(ours).toEqual(theirs);
    expect(ours.length).toBeGreaterThan(50);
  });
});
