// The shipped Debian releases against the real Debian archive (its URL from
// this machine's APT sources): every aggregate set is cut with the CLI, then
// real programs run in the root with chroot, and every ELF finds its libraries.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/cutenv.js';
import { makeTestPki } from './support/pki.js';
import { elfProblems, LOADED_BY_LAUNCHER } from './support/elf.js';
import { CLI, chrootRun, cutSet as cutSetIn } from './support/realcut.js';

const cache = tempDir('chisel-ts-debian-cache-');
const work = tempDir('chisel-ts-debian-');
const asRoot = process.getuid?.() === 0;
const cutSet = (release: string, set: string): string => cutSetIn(work, cache, release, set, 'amd64');
const run = chrootRun;
const SLICES = path.join(__dirname, '..', 'slices');

/** Reads a PEM chain and checks it as a TLS server chain with the JDK's default trust manager (the image's cacerts). */
const TRUST_JAVA = `import java.io.FileInputStream;
import java.security.KeyStore;
import java.security.cert.*;
import javax.net.ssl.*;
public class Trust {
  public static void main(String[] a) throws Exception {
    if (a[0].startsWith("https:")) {
      HttpsURLConnection c = (HttpsURLConnection) new java.net.URI(a[0]).toURL().openConnection();
      try { System.out.println("https " + c.getResponseCode()); }
      catch (SSLHandshakeException e) { System.out.println("untrusted: " + e.getMessage()); System.exit(2); }
      return;
    }
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    X509Certificate[] chain;
    try (FileInputStream in = new FileInputStream(a[0])) { chain = cf.generateCertificates(in).toArray(new X509Certificate[0]); }
    TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    f.init((KeyStore) null);
    X509TrustManager tm = (X509TrustManager) f.getTrustManagers()[0];
    X509Certificate[] issuers = tm.getAcceptedIssuers();
    System.out.println("issuers " + issuers.length);
    for (String cn : new String[] {"ISRG Root X1", "chisel-ts test root"}) {
      boolean found = false;
      for (X509Certificate c : issuers) found |= c.getSubjectX500Principal().getName().contains("CN=" + cn);
      System.out.println(cn.toLowerCase() + (found ? " yes" : " no"));
    }
    try { tm.checkServerTrusted(chain, "RSA"); System.out.println("trusted"); }
    catch (CertificateException e) { System.out.println("untrusted: " + e.getMessage()); System.exit(2); }
  }
}
`;

/** `openssl s_server -www` on a free port of 127.0.0.1, serving the leaf `ca`-leaf.pem and its root. */
async function tlsServer(dir: string, ca: string): Promise<{ port: number; stop: () => void }> {
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(
      'openssl',
      [
        's_server',
        '-accept',
        `127.0.0.1:${port}`,
        '-cert',
        `${ca}-leaf.pem`,
        '-key',
        `${ca}-leaf.key`,
        '-cert_chain',
        `${ca}.pem`,
        '-www',
        '-quiet',
      ],
      { cwd: dir, stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const up = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
      const poll = () => {
        const s = createConnection(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          clearTimeout(timer);
          resolve(true);
        });
        s.once('error', () => setTimeout(poll, 50));
      };
      poll();
    });
    if (up) return { port, stop: () => child.kill() };
    child.kill();
    if (attempt > 5) throw new Error(`openssl s_server did not start: ${err}`);
  }
}

function duKiB(root: string): number {
  return Number(execFileSync('du', ['-sk', root], { encoding: 'utf8' }).split('\t')[0]);
}

const LIMIT_KIB: Record<string, number> = { static: 2.5 * 1024, base: 20 * 1024, cc: 24 * 1024, python3: 40 * 1024 };
const releases = [
  { name: 'debian-13', java: 200 * 1024 },
  { name: 'debian-12', java: undefined },
];

afterAll(() => {
  spawnSync('rm', ['-rf', work, cache]);
});

describe.skipIf(!asRoot)('Debian releases against the real archive', () => {
  for (const rel of releases) {
    describe(rel.name, () => {
      it('static: a statically linked C program runs', () => {
        const root = cutSet(rel.name, 'static');
        expect(duKiB(root)).toBeLessThanOrEqual(LIMIT_KIB.static!);
        const src = path.join(work, 'hello-static.c');
        writeFileSync(src, '#include <stdio.h>\nint main(void){puts("static ok");return 0;}\n');
        execFileSync('gcc', ['-static', '-O2', '-o', path.join(root, 'hello'), src]);
        expect(run(root, ['/hello'])).toContain('static ok');
        expect(existsSync(path.join(root, 'etc/os-release'))).toBe(true);
        expect(elfProblems(root, 'amd64')).toEqual([]);
      });

      it('base: dynamically linked C program and every ELF resolves', () => {
        const root = cutSet(rel.name, 'base');
        expect(duKiB(root)).toBeLessThanOrEqual(LIMIT_KIB.base!);
        const src = path.join(work, 'hello-dyn.c');
        writeFileSync(src, '#include <stdio.h>\nint main(void){puts("dynamic ok");return 0;}\n');
        execFileSync('gcc', ['-O2', '-o', path.join(root, 'hello'), src]);
        expect(run(root, ['/hello'])).toContain('dynamic ok');
        expect(elfProblems(root, 'amd64')).toEqual([]);
      });

      it('cc: a dynamically linked C++ program runs', () => {
        const root = cutSet(rel.name, 'cc');
        expect(duKiB(root)).toBeLessThanOrEqual(LIMIT_KIB.cc!);
        const src = path.join(work, 'hello.cc');
        writeFileSync(
          src,
          '#include <iostream>\n#include <string>\nint main(){std::string s("cc ok");std::cout<<s<<std::endl;return 0;}\n',
        );
        execFileSync('g++', ['-O2', '-o', path.join(root, 'hello'), src]);
        expect(run(root, ['/hello'])).toContain('cc ok');
        expect(elfProblems(root, 'amd64')).toEqual([]);
      });

      it('python3: the promised modules import and the CA bundle loads', () => {
        const root = cutSet(rel.name, 'python3');
        const out = run(root, [
          '/usr/bin/python3',
          '-c',
          'import json, ssl, hashlib, sqlite3, ctypes, decimal, zlib, asyncio, urllib.request, http.client, email, logging, base64, datetime, uuid, lzma, bz2\n' +
            'c = ssl.create_default_context()\nn = len(c.get_ca_certs())\nassert n > 100, n\n' +
            'print("python ok", n, hashlib.sha256(b"x").hexdigest()[:8], sqlite3.connect(":memory:").execute("select 1").fetchone()[0])',
        ]);
        expect(out).toMatch(/python ok \d{3} 2d711642 1/);
        expect(elfProblems(root, 'amd64')).toEqual([]);
        expect(duKiB(root)).toBeLessThanOrEqual(LIMIT_KIB.python3!);
      });

      it('nodejs: crypto, zlib and https load', () => {
        const root = cutSet(rel.name, 'nodejs');
        const out = run(root, [
          '/usr/bin/node',
          '-e',
          'const c=require("crypto");require("zlib");require("https");console.log("node ok", c.createHash("sha256").update("x").digest("hex").slice(0,8))',
        ]);
        expect(out).toContain('node ok 2d711642');
        expect(elfProblems(root, 'amd64')).toEqual([]);
      });

      it('java: java -version and a compiled class run', () => {
        const root = cutSet(rel.name, 'java');
        if (rel.java) expect(duKiB(root)).toBeLessThanOrEqual(rel.java);
        const src = path.join(work, 'Hello.java');
        writeFileSync(
          src,
          'public class Hello { public static void main(String[] a) { System.out.println("java ok " + Runtime.version().feature()); } }\n',
        );
        execFileSync('javac', ['--release', '17', '-d', path.join(root, 'app'), src]);
        const java = execFileSync('sh', ['-c', `ls -d ${root}/usr/lib/jvm/*/bin/java | head -n1`], { encoding: 'utf8' })
          .trim()
          .slice(root.length);
        expect(run(root, [java, '-version'], { proc: true })).toMatch(/openjdk version "(17|21)/);
        expect(run(root, [java, '-cp', '/app', 'Hello'], { proc: true })).toMatch(/java ok (17|21)/);
        // The links a Debian install makes with update-alternatives.
        expect(run(root, ['/usr/bin/java', '-cp', '/app', 'Hello'], { proc: true })).toMatch(/java ok (17|21)/);
        const stores = run(root, ['/usr/bin/keytool', '-list', '-cacerts', '-storepass', 'changeit'], { proc: true });
        expect(stores).toMatch(/Your keystore contains (\d{3}) entries/);
        expect(elfProblems(root, 'amd64', LOADED_BY_LAUNCHER)).toEqual([]);
      });

      it('java: the default TrustManager trusts the CAs of the bundle the cut contains, and only those', async () => {
        // A copy of the release whose CA bundle also holds a test root; the
        // trust store is built from that bundle at cut time.
        const pki = makeTestPki(path.join(work, `pki-${rel.name}`));
        const release = path.join(work, `release-${rel.name}-testca`);
        execFileSync('cp', ['-r', path.join(SLICES, rel.name), release]);
        const caFile = path.join(release, 'slices', 'ca-certificates.yaml');
        const yamlText = readFileSync(caFile, 'utf8');
        const write = 'content.write("/etc/ssl/certs/ca-certificates.crt", bundle)';
        expect(yamlText).toContain(write);
        writeFileSync(
          caFile,
          yamlText.replace(write, `content.write("/etc/ssl/certs/ca-certificates.crt", bundle + ${JSON.stringify(pki.root)})`),
        );
        const root = path.join(work, `${rel.name}-java-testca`);
        const r = spawnSync(process.execPath, [CLI, 'cut', '--release', release, '--cache-dir', cache, '--root', root, 'java'], {
          encoding: 'utf8',
          env: { ...process.env, CI: 'true' },
        });
        expect(r.status, r.stderr).toBe(0);
        const bundle = readFileSync(path.join(root, 'etc/ssl/certs/ca-certificates.crt'), 'utf8');
        const inBundle = bundle.match(/-----BEGIN CERTIFICATE-----/g)!.length;
        mkdirSync(path.join(root, 'app'));
        writeFileSync(path.join(work, 'Trust.java'), TRUST_JAVA);
        execFileSync('javac', ['--release', '17', '-d', path.join(root, 'app'), path.join(work, 'Trust.java')]);
        writeFileSync(path.join(root, 'app/good.pem'), pki.goodChain);
        writeFileSync(path.join(root, 'app/bad.pem'), pki.badChain);
        const good = run(root, ['/usr/bin/java', '-cp', '/app', 'Trust', '/app/good.pem'], { proc: true });
        expect(good).toContain('trusted');
        expect(good).toContain(`issuers ${inBundle}`);
        expect(good).toContain('isrg root x1 yes');
        expect(good).toContain('chisel-ts test root yes');
        expect(() => run(root, ['/usr/bin/java', '-cp', '/app', 'Trust', '/app/bad.pem'], { proc: true })).toThrow(
          /failed \(2\)[\s\S]*untrusted/,
        );
        // HTTPS to servers on 127.0.0.1 with each chain: the handshake trusts only the bundle's root.
        const good443 = await tlsServer(pki.dir, 'root');
        const bad443 = await tlsServer(pki.dir, 'other');
        try {
          expect(run(root, ['/usr/bin/java', '-cp', '/app', 'Trust', `https://127.0.0.1:${good443.port}/`], { proc: true })).toContain(
            'https 200',
          );
          expect(() => run(root, ['/usr/bin/java', '-cp', '/app', 'Trust', `https://127.0.0.1:${bad443.port}/`], { proc: true })).toThrow(
            /failed \(2\)[\s\S]*untrusted: .*PKIX path building failed/,
          );
        } finally {
          good443.stop();
          bad443.stop();
        }
        // The shipped release's store: the same bundle without the test root.
        const shipped = cutSet(rel.name, 'java');
        const list = run(shipped, ['/usr/bin/keytool', '-list', '-cacerts', '-storepass', 'changeit'], { proc: true });
        expect(list).toContain(`Your keystore contains ${inBundle - 1} entries`);
        expect(list).not.toContain('chisel-ts test root');
      });

      it('debug: busybox sh runs', () => {
        const root = cutSet(rel.name, 'debug');
        expect(run(root, ['/bin/busybox', 'sh', '-c', 'echo debug ok; busybox ls /etc/passwd'])).toContain('debug ok');
        expect(run(root, ['/bin/sh', '-c', 'id -u 2>/dev/null || echo shell ok'])).toMatch(/0|shell ok/);
        expect(elfProblems(root, 'amd64')).toEqual([]);
      });
    });
  }

  it('a second identical cut succeeds --offline', () => {
    const root = path.join(work, 'offline');
    const r = spawnSync(
      process.execPath,
      [CLI, 'cut', '--offline', '--release', 'debian-13', '--cache-dir', cache, '--root', root, 'base'],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    copyFileSync(path.join(work, 'hello-dyn.c'), path.join(root, 'x.c'));
    expect(existsSync(path.join(root, 'usr/lib/x86_64-linux-gnu/libc.so.6'))).toBe(true);
  });
});
