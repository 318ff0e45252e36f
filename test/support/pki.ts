// A test PKI made with openssl: a root, a leaf for 127.0.0.1 it signed, and
// a leaf signed by a root no bundle has.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A test root, a leaf it signed, and a leaf signed by a root no bundle has (openssl). */
export function makeTestPki(dir: string): { dir: string; root: string; goodChain: string; badChain: string; leafKey: string } {
  mkdirSync(dir, { recursive: true });
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  writeFileSync(
    path.join(dir, 'leaf.ext'),
    'basicConstraints=CA:false\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:app.test,IP:127.0.0.1\n',
  );
  for (const ca of ['root', 'other']) {
    ossl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '30',
      '-subj',
      `/O=chisel-ts/CN=chisel-ts ${ca === 'root' ? 'test' : 'other'} root`,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.pem`,
      '-addext',
      'basicConstraints=critical,CA:true',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
    ossl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=app.test', '-keyout', `${ca}-leaf.key`, '-out', `${ca}-leaf.csr`);
    ossl(
      'x509',
      '-req',
      '-in',
      `${ca}-leaf.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-set_serial',
      '2',
      '-days',
      '10',
      '-extfile',
      'leaf.ext',
      '-out',
      `${ca}-leaf.pem`,
    );
  }
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return {
    dir,
    root: read('root.pem'),
    goodChain: read('root-leaf.pem') + read('root.pem'),
    badChain: read('other-leaf.pem') + read('other.pem'),
    leafKey: read('root-leaf.key'),
  };
}
