// Pro archives (`pro:` in chisel.yaml), as Chisel treats them: skipped with a
// one-line notice when no credentials are found, used with Basic auth when
// they are (netrc-style files in CHISEL_AUTH_DIR or /etc/apt/auth.conf.d), and
// an error naming the package only when it is only in a skipped archive. The
// pro archive here is a local archive that requires Basic auth.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsInNetrc, findCredentials } from '../compiler/archive/credentials.js';
import type { CutPackage, CutResult } from '../compiler/slicer/cut.js';
import { cutTo, indent, tempDir } from './support/cutenv.js';
import { runCli } from './support/proc.js';
import { generateKey, TestArchive } from './support/testarchive.js';
import { describeTree } from './support/tree.js';

let plain: TestArchive;
let pro: TestArchive;
let releaseDir: string;

const hello = (version: string) => ({
  name: 'hello',
  version,
  files: [{ path: '/usr/bin/hello', content: `#!/bin/sh\necho hello ${version}\n`, mode: 0o755 }],
});

beforeAll(async () => {
  const key = await generateKey();
  plain = await TestArchive.create({ key, suites: { stable: { main: [hello('1.0')] } } });
  pro = await TestArchive.create({
    key,
    suites: {
      'stable-apps': {
        main: [
          hello('2.0'),
          { name: 'tool', version: '1.0', files: [{ path: '/usr/bin/tool', content: 'x\n', mode: 0o755 }] },
          { name: 'secret', version: '1.0', files: [{ path: '/usr/bin/secret', content: 'x\n', mode: 0o755 }] },
        ],
      },
    },
  });
  pro.auth = { username: 'bearer', password: 's3cret' };
  releaseDir = tempDir('chisel-ts-release-');
  mkdirSync(path.join(releaseDir, 'slices'));
  writeFileSync(
    path.join(releaseDir, 'chisel.yaml'),
    `format: v1
maintenance:
  standard: 2020-01-01
  legacy: 2100-01-01
  end-of-life: 2100-01-01
archives:
  test:
    version: "1"
    suites: [stable]
    components: [main]
    priority: 10
    public-keys: [test-key]
    url: ${plain.url}
  test-pro:
    version: "1"
    pro: esm-apps
    suites: [stable-apps]
    components: [main]
    priority: 20
    public-keys: [test-key]
public-keys:
  test-key:
    id: "${key.keyId}"
    armor: |
${indent(key.armoredPublicKey, 6)}
`,
  );
  writeFileSync(path.join(releaseDir, 'slices', 'hello.yaml'), 'package: hello\nslices:\n  bins:\n    contents:\n      /usr/bin/hello:\n');
  writeFileSync(
    path.join(releaseDir, 'slices', 'tool.yaml'),
    'package: tool\narchive: test-pro\nslices:\n  bins:\n    contents:\n      /usr/bin/tool:\n',
  );
  writeFileSync(
    path.join(releaseDir, 'slices', 'secret.yaml'),
    'package: secret\nslices:\n  bins:\n    contents:\n      /usr/bin/secret:\n',
  );
});

afterAll(async () => {
  await plain?.close();
  await pro?.close();
});

/** A credentials directory holding `files` (name -> text). */
function authDir(files: Record<string, string>): string {
  const dir = tempDir('chisel-ts-auth-');
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** A cut of `slices` with the pro archive's URL given (as --archive-url does) and the credentials directory holding `auth`. */
function cutWithProUrl(slices: string[], auth: Record<string, string>, onNotice?: (m: string) => void) {
  return cutTo({
    releaseDir,
    slices,
    archives: { urlOverrides: new Map([['test-pro', pro.url]]), authDir: authDir(auth), ...(onNotice ? { onNotice } : {}) },
  });
}

const proMachine = (password: string) => `machine ${pro.url}/ login bearer password ${password}\n`;

describe('pro archives', () => {
  it('without credentials: skipped with one notice, the packages come from the other archives', async () => {
    const notices: string[] = [];
    const before = pro.requests.length;
    const { root, result } = await cutWithProUrl(['hello_bins'], {}, (m) => notices.push(m));
    expect(notices).toEqual(['archive test-pro (pro: esm-apps) ignored: credentials not found']);
    expect(pkgOf(result, 'hello')).toMatchObject({ version: '1.0', archive: 'test' });
    expect(describeTree(root)['/usr/bin/hello']).toMatch(/^file 0755/);
    expect(pro.requests.length).toBe(before);
  });

  it('with credentials: used with Basic auth (first matching file in name order; hidden and other extensions ignored)', async () => {
    const dir = authDir({
      '.hidden.conf': proMachine('wrong'),
      'notes.txt': proMachine('wrong'),
      '10-other.conf': 'machine https://mirror.example/ubuntu login x password y\n',
      '20-pro.conf': `# pro\n${proMachine('s3cret')}`,
      '30-later.conf': proMachine('wrong'),
    });
    const notices: string[] = [];
    const before = pro.requests.length;
    const { result } = await cutTo({
      releaseDir,
      slices: ['hello_bins'],
      archives: { urlOverrides: new Map([['test-pro', pro.url]]), authDir: dir, onNotice: (m) => notices.push(m) },
    });
    expect(notices).toEqual([]);
    expect(pkgOf(result, 'hello')).toMatchObject({ version: '2.0', archive: 'test-pro' });
    const sent = pro.authorizations.slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set([`Basic ${Buffer.from('bearer:s3cret').toString('base64')}`]));
    expect(plain.authorizations.every((a) => a === undefined)).toBe(true);
  });

  it('credentials in the URL given with --archive-url are used too', async () => {
    const u = new URL(pro.url);
    u.username = 'bearer';
    u.password = 's3cret';
    const { result } = await cutTo({
      releaseDir,
      slices: ['hello_bins'],
      archives: { urlOverrides: new Map([['test-pro', u.href]]), authDir: authDir({}) },
    });
    expect(pkgOf(result, 'hello')).toMatchObject({ version: '2.0', archive: 'test-pro' });
  });

  it('wrong credentials: an error naming the archive and the 401', async () => {
    await expect(cutWithProUrl(['hello_bins'], { 'pro.conf': proMachine('wrong') })).rejects.toThrow(
      /archive test-pro suite stable-apps: cannot fetch InRelease.*401/,
    );
  });

  it('a package not in the used archives: the error names the package and the ignored archive', async () => {
    await expect(cutWithProUrl(['secret_bins'], {})).rejects.toThrow(
      'package secret not found for amd64 in archive test; not looked up in archive test-pro (pro: esm-apps) ignored: credentials not found',
    );
  });

  it('a package pinned to a skipped archive: the error names the package and the archive', async () => {
    await expect(cutWithProUrl(['tool_bins'], {})).rejects.toThrow(
      'package tool is only in archive test-pro (pro: esm-apps) ignored: credentials not found',
    );
    const { result } = await cutWithProUrl(['tool_bins'], { 'pro.conf': proMachine('s3cret') });
    expect(pkgOf(result, 'tool').archive).toBe('test-pro');
  });

  it('offline: a pro archive is used when the cache holds it, else skipped with a notice', async () => {
    const without = await cutWithProUrl(['hello_bins'], {});
    const notices: string[] = [];
    const offline = await cutTo({
      releaseDir,
      slices: ['hello_bins'],
      cacheDir: without.cacheDir,
      offline: true,
      archives: { onNotice: (m) => notices.push(m) },
    });
    expect(pkgOf(offline.result, 'hello').version).toBe('1.0');
    expect(notices).toEqual(['archive test-pro (pro: esm-apps) ignored: not in the cache (--offline)']);
    const cacheDir = tempDir();
    await cutTo({
      releaseDir,
      slices: ['hello_bins'],
      cacheDir,
      archives: { urlOverrides: new Map([['test-pro', pro.url]]), authDir: authDir({ 'pro.conf': proMachine('s3cret') }) },
    });
    const cached = await cutTo({ releaseDir, slices: ['hello_bins'], cacheDir, offline: true });
    expect(pkgOf(cached.result, 'hello')).toMatchObject({ version: '2.0', archive: 'test-pro' });
  });

  it('the URL from the APT sources: only the mirrors that credentials name are asked', async () => {
    const sources = path.join(tempDir(), 'sources.list');
    writeFileSync(sources, `deb ${plain.url}/ stable main\ndeb ${pro.url}/ stable-apps main\n`);
    const plainBefore = plain.requests.length;
    const proBefore = pro.requests.length;
    const skipped = await cutTo({
      releaseDir,
      slices: ['hello_bins'],
      archives: { sourcesFiles: [sources], authDir: authDir({}) },
    });
    expect(pkgOf(skipped.result, 'hello').archive).toBe('test');
    expect(pro.requests.length).toBe(proBefore);
    expect(plain.requests.slice(plainBefore).some((r) => r.includes('stable-apps'))).toBe(false);

    const used = await cutTo({
      releaseDir,
      slices: ['hello_bins'],
      archives: { sourcesFiles: [sources], authDir: authDir({ 'pro.conf': proMachine('s3cret') }) },
    });
    expect(pkgOf(used.result, 'hello')).toMatchObject({ version: '2.0', archive: 'test-pro' });
    expect(plain.requests.slice(plainBefore).some((r) => r.includes('stable-apps'))).toBe(false);
  });

  it('the CLI: --archive-url and CHISEL_AUTH_DIR; the notice is one line on stderr', async () => {
    const root = path.join(tempDir(), 'root');
    const r = await runCli(
      ['cut', '--release', releaseDir, '--root', root, '--cache-dir', tempDir(), '--archive-url', `test-pro=${pro.url}`, 'hello_bins'],
      {
        env: { CHISEL_AUTH_DIR: authDir({}) },
      },
    );
    expect(r.code).toBe(0);
    expect(r.err.split('\n').filter((l) => l.includes('test-pro'))).toEqual([
      'archive test-pro (pro: esm-apps) ignored: credentials not found',
    ]);
    const withCreds = await runCli(
      [
        'cut',
        '--release',
        releaseDir,
        '--root',
        path.join(tempDir(), 'root'),
        '--cache-dir',
        tempDir(),
        '--archive-url',
        `test-pro=${pro.url}`,
        'secret_bins',
      ],
      { env: { CHISEL_AUTH_DIR: authDir({ 'pro.conf': proMachine('s3cret') }) } },
    );
    expect(withCreds.err).toBe('');
    expect(withCreds.code).toBe(0);
  });
});

describe('matching a machine to the archive URL (as Chisel and APT do)', () => {
  const netrc = (machine: string) => `machine ${machine} login u password p`;
  const cases: Array<[string, string, boolean]> = [
    ['esm.example/apps/ubuntu', 'https://esm.example/apps/ubuntu/', true],
    ['esm.example', 'https://esm.example/apps/ubuntu/', true],
    ['esm.example/apps', 'https://esm.example/infra/ubuntu/', false],
    ['https://esm.example/apps', 'https://esm.example/apps/ubuntu', true],
    ['http://esm.example/apps', 'https://esm.example/apps/ubuntu', false],
    // an unencrypted URL needs the scheme in the machine
    ['esm.example', 'http://esm.example/ubuntu', false],
    ['http://esm.example', 'http://esm.example/ubuntu', true],
    // the port: optional in the machine, but one given must be the URL's
    ['esm.example', 'https://esm.example:8443/ubuntu', true],
    ['esm.example:8443/ubuntu', 'https://esm.example:8443/ubuntu', true],
    ['esm.example:8443', 'https://esm.example/ubuntu', false],
    ['esm.example:9443', 'https://esm.example:8443/ubuntu', false],
    ['other.example', 'https://esm.example/ubuntu', false],
  ];
  for (const [machine, url, matches] of cases) {
    it(`machine ${machine} ${matches ? 'matches' : 'does not match'} ${url}`, () => {
      expect(credentialsInNetrc(netrc(machine), url)).toEqual(matches ? { username: 'u', password: 'p' } : undefined);
    });
  }

  it('the last login and password of the first matching machine win; the next machine ends it', () => {
    const text = 'machine a.example login x foo login u password q bar password p\nmachine a.example login z password z';
    expect(credentialsInNetrc(text, 'https://a.example/')).toEqual({ username: 'u', password: 'p' });
  });

  it('a syntax error names the file', () => {
    expect(() => credentialsInNetrc('machine a.example login', 'https://a.example/', '/etc/x.conf')).toThrow(/\/etc\/x\.conf.*a login/);
  });

  it('a missing directory has no credentials', async () => {
    expect(await findCredentials('https://a.example/', path.join(tempDir(), 'none'))).toBeUndefined();
  });
});

function pkgOf(result: CutResult, name: string): CutPackage {
  const p = result.packages.find((q) => q.name === name);
  if (!p) throw new Error(`package ${name} not in the cut (${result.packages.map((q) => q.name).join(', ')})`);
  return p;
}
