// NODE_EXTRA_CA_CERTS: bin/chisel-ts.js, run through its shebang, hands the
// file to chisel-ts (CHISEL_TS_EXTRA_CA_CERTS) instead of letting Node load it
// at start-up; the HTTPS archive signed by the extra root is trusted either
// way, and not without it. A real https archive on 127.0.0.1 (test PKI from
// openssl).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeRelease } from './support/cutenv.js';
import { makeTestPki } from './support/pki.js';
import { CLI, runAsync } from './support/proc.js';
import { TestArchive } from './support/testarchive.js';

const SLICES = `package: hello
slices:
  bins:
    contents:
      /usr/bin/hello:
`;

let archive: TestArchive;
let releaseDir: string;
let rootPem: string;

beforeAll(async () => {
  const pki = makeTestPki(path.join(tempDir(), 'pki'));
  rootPem = path.join(pki.dir, 'root.pem');
  archive = await TestArchive.create({
    suites: { stable: { main: [{ name: 'hello', version: '1.0', files: [{ path: '/usr/bin/hello', content: 'hi\n', mode: 0o755 }] }] } },
    tls: { key: pki.leafKey, cert: pki.goodChain },
  });
  releaseDir = writeRelease(archive, { hello: SLICES });
});

afterAll(async () => {
  await archive?.close();
});

/** A cut of hello_bins from the https archive: through the shebang (as the npm bin runs), or `node bin/chisel-ts.js`. */
function cut(how: 'shebang' | 'node', extraCa: string | undefined) {
  const root = path.join(tempDir(), 'root');
  const args = ['cut', '--release', releaseDir, '--arch', 'amd64', '--cache-dir', tempDir(), '--root', root, 'hello_bins'];
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.CHISEL_TS_EXTRA_CA_CERTS;
  if (extraCa) env.NODE_EXTRA_CA_CERTS = extraCa;
  const run = how === 'shebang' ? runAsync(CLI, args, { env }) : runAsync(process.execPath, [CLI, ...args], { env });
  return run.then((r) => ({ ...r, root }));
}

describe('NODE_EXTRA_CA_CERTS', () => {
  it('through the shebang: the extra root is trusted by chisel-ts itself', async () => {
    const r = await cut('shebang', rootPem);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(r.root, 'usr/bin/hello'), 'utf8')).toBe('hi\n');
  });

  it('run by node directly: Node loads it, as before', async () => {
    const r = await cut('node', rootPem);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(r.root, 'usr/bin/hello'), 'utf8')).toBe('hi\n');
  });

  it('without it the archive is not trusted', async () => {
    const r = await cut('shebang', undefined);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/certificate/i);
  });

  it('an unreadable file: chisel-ts warns (so the shell handed it over, Node did not load it) and trusts only the default roots', async () => {
    const r = await cut('shebang', path.join(tempDir(), 'missing.pem'));
    expect(r.err).toMatch(/^warning: ignoring extra certs from .*missing\.pem \(NODE_EXTRA_CA_CERTS\)/m);
    expect(r.err).not.toMatch(/Warning: Ignoring extra certs/); // Node's own warning
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/certificate/i);
  });
});
