// Java trust stores (`keystores:`): the JKS bytes are read by the real
// keytool, are sealed by the password, depend only on the set of
// certificates, and are built by a cut from the bundle in the cut tree.
// Parse and cut errors name the slice, the store and the place.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeJks, pemCertificates, trustedEntries } from '../compiler/keystore/jks.js';
import { loadRelease } from '../compiler/release/index.js';
import { ChiselErrors } from '../compiler/util/errors.js';
import { cutTo, tempDir, writeRelease } from './support/cutenv.js';
import { TestArchive } from './support/testarchive.js';

const work = tempDir('chisel-ts-keystore-');

/** A self-signed certificate (PEM) with subject CN=`cn`, made by openssl. */
function makeCert(cn: string): string {
  const base = path.join(work, cn.replace(/\W/g, '_'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-utf8'].concat([
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.pem`,
    ]),
    { stdio: 'ignore' },
  );
  return readFileSync(`${base}.pem`, 'utf8');
}

/** keytool's view of a store: the aliases it lists, or its error. */
function keytoolList(file: string, password = 'changeit'): { ok: boolean; aliases: string[]; out: string } {
  const r = spawnSync('keytool', ['-list', '-keystore', file, '-storepass', password], { encoding: 'utf8' });
  const out = r.stdout + r.stderr;
  const aliases = [...out.matchAll(/^(.+?), [A-Z][a-z]{2} \d+, \d{4}, trustedCertEntry, ?$/gm)].map((m) => m[1]!);
  return { ok: r.status === 0, aliases, out };
}

let a: string;
let b: string;
let c: string;

beforeAll(() => {
  a = makeCert('Alpha Root CA');
  b = makeCert('Bêta Root — CA');
  c = makeCert('Gamma Root CA');
});

describe('JKS encoding', () => {
  it('keytool reads every distinct certificate of a bundle as a trusted entry', () => {
    const file = path.join(work, 'one.jks');
    writeFileSync(file, encodeJks(trustedEntries(pemCertificates(a + b + c + a)), 'changeit'));
    const list = keytoolList(file);
    expect(list.ok, list.out).toBe(true);
    expect(list.out).toMatch(/Keystore type: JKS/);
    expect(list.out).toMatch(/Your keystore contains 3 entries/);
    expect(list.aliases.map((x) => x.replace(/ \[[0-9a-f]{12}\]$/, ''))).toEqual(['alpha root ca', 'beta root  ca', 'gamma root ca']);
  });

  it('a wrong password and a changed byte are refused by keytool', () => {
    const data = encodeJks(trustedEntries(pemCertificates(a + b)), 's3cret');
    const file = path.join(work, 'sealed.jks');
    writeFileSync(file, data);
    expect(keytoolList(file, 's3cret').ok).toBe(true);
    const wrong = keytoolList(file, 'changeit');
    expect(wrong.ok).toBe(false);
    expect(wrong.out).toMatch(/password was incorrect|tampered/);
    const flipped = Buffer.from(data);
    flipped[40] = flipped[40]! ^ 1;
    writeFileSync(file, flipped);
    expect(keytoolList(file, 's3cret').ok).toBe(false);
  });

  it('the bytes depend only on the set of certificates, not their order or repeats', () => {
    const one = encodeJks(trustedEntries(pemCertificates(a + b + c)), 'changeit');
    const two = encodeJks(trustedEntries(pemCertificates(c + a + b + c)), 'changeit');
    expect(two.equals(one)).toBe(true);
    expect(encodeJks(trustedEntries(pemCertificates(a + b)), 'changeit').equals(one)).toBe(false);
  });

  it('a block that is not a certificate is an error naming its place', () => {
    const bad = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(() => pemCertificates(a + bad)).toThrow(/certificate 2 of the bundle does not parse/);
  });
});

describe('keystores: in a cut', () => {
  let archive: TestArchive;
  beforeAll(async () => {
    archive = await TestArchive.create({
      suites: {
        stable: {
          main: [
            {
              name: 'cas',
              version: '1.0',
              files: [
                { path: '/usr/share/cas/one.pem', content: a, mode: 0o644 },
                { path: '/usr/share/cas/two.pem', content: b + c, mode: 0o644 },
                { path: '/usr/share/cas/empty.pem', content: 'no certificates here\n', mode: 0o644 },
                { path: '/usr/share/cas/link.pem', type: 'symlink', link: 'one.pem' },
              ],
            },
            { name: 'store', version: '1.0', files: [{ path: '/usr/share/doc/store/copyright', content: 'c', mode: 0o644 }] },
          ],
        },
      },
    });
  });
  afterAll(() => archive?.close());

  const cas = `package: cas
slices:
  bundle:
    contents:
      /usr/share/cas/*.pem:
`;
  const store = (body: string) => `package: store
slices:
  jks:
    essential: [cas_bundle]
${body}`;
  const good = `    contents:
      /etc/java/cacerts: {text: "", mutable: true}
    keystores:
      /etc/java/cacerts:
        certificates: [/usr/share/cas/link.pem, /usr/share/cas/two.pem]
`;

  it('builds the store from the bundles of the cut tree, the same bytes on every cut', async () => {
    const releaseDir = writeRelease(archive, { cas, store: store(good) });
    const one = await cutTo({ releaseDir, slices: ['store_jks'] });
    const two = await cutTo({ releaseDir, slices: ['store_jks', 'cas_bundle'] });
    const file = path.join(one.root, 'etc/java/cacerts');
    const list = keytoolList(file);
    expect(list.ok, list.out).toBe(true);
    expect(list.aliases).toHaveLength(3);
    expect(readFileSync(path.join(two.root, 'etc/java/cacerts')).equals(readFileSync(file))).toBe(true);
    const expected = encodeJks(trustedEntries(pemCertificates(a + b + c)), 'changeit');
    expect(readFileSync(file).equals(expected)).toBe(true);
    const entry = one.result.tree.entries.find((e) => e.path === '/etc/java/cacerts')!;
    expect(entry.size).toBe(expected.length);
  });

  const parseCases: Array<{ name: string; body: string; error: RegExp }> = [
    {
      name: 'a store path that is not in contents',
      body: `    contents:\n      /etc/x: {text: "", mutable: true}\n    keystores:\n      /etc/java/cacerts:\n        certificates: [/usr/share/cas/one.pem]\n`,
      error: /store\.yaml:8:7: slice store_jks: keystore \/etc\/java\/cacerts: is not a path of this slice/,
    },
    {
      name: 'a store path that is not mutable',
      body: `    contents:\n      /etc/java/cacerts: {text: ""}\n    keystores:\n      /etc/java/cacerts:\n        certificates: [/usr/share/cas/one.pem]\n`,
      error: /store\.yaml:8:7: .*keystore \/etc\/java\/cacerts: must be mutable/,
    },
    {
      name: 'a glob store path',
      body: `    contents:\n      /etc/java/*:\n    keystores:\n      /etc/java/*:\n        certificates: [/usr/share/cas/one.pem]\n`,
      error: /keystore \/etc\/java\/\*: must be a single file path/,
    },
    {
      name: 'a relative certificate path',
      body: `    contents:\n      /etc/j: {text: "", mutable: true}\n    keystores:\n      /etc/j:\n        certificates: [cas/one.pem]\n`,
      error: /store\.yaml:9:\d+: .*certificates: "cas\/one\.pem" must be an absolute path/,
    },
    {
      name: 'no certificates',
      body: `    contents:\n      /etc/j: {text: "", mutable: true}\n    keystores:\n      /etc/j:\n`,
      error: /keystore \/etc\/j: lists no certificates/,
    },
    {
      name: 'an unknown key',
      body: `    contents:\n      /etc/j: {text: "", mutable: true}\n    keystores:\n      /etc/j:\n        certificates: [/a.pem]\n        type: pkcs12\n`,
      error: /store\.yaml:10:\d+: .*type/,
    },
  ];
  for (const t of parseCases) {
    it(`refuses ${t.name}`, async () => {
      const releaseDir = writeRelease(archive, { cas, store: store(t.body) });
      const errors = await loadRelease(releaseDir).then(
        () => [],
        (e) => {
          if (e instanceof ChiselErrors) return e.errors.map((x) => x.toString());
          throw e;
        },
      );
      expect(errors.join('\n')).toMatch(t.error);
    });
  }

  const cutCases: Array<{ name: string; certs: string; error: RegExp }> = [
    {
      name: 'a bundle the cut does not hold',
      certs: '/usr/share/other.pem',
      error: /slice store_jks: keystore \/etc\/j: certificates: \/usr\/share\/other\.pem is not part of the selected slices/,
    },
    {
      name: 'a bundle with no certificate',
      certs: '/usr/share/cas/empty.pem',
      error: /slice store_jks: keystore \/etc\/j: no certificates found in \/usr\/share\/cas\/empty\.pem/,
    },
  ];
  for (const t of cutCases) {
    it(`a cut fails on ${t.name}`, async () => {
      const body = `    contents:\n      /etc/j: {text: "", mutable: true}\n    keystores:\n      /etc/j:\n        certificates: [${t.certs}]\n`;
      const releaseDir = writeRelease(archive, { cas, store: store(body) });
      await expect(cutTo({ releaseDir, slices: ['store_jks'] })).rejects.toThrow(t.error);
    });
  }
});
