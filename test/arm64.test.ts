// arm64 images of the shipped releases, cut from the real Debian archive (its
// URL from this machine's APT sources), must run: every set's ELF files find
// their interpreter and libraries for the cut's architecture, and on an amd64
// host the programs of each Debian 13 set run under qemu-user-static (binfmt,
// installed by .ci/run) in chroot with /proc mounted, as the amd64 ones do in
// test/debian.test.ts; busybox runs under runc from each manifest of a
// two-arch OCI image.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/cutenv.js';
import { elfProblems, LOADED_BY_LAUNCHER } from './support/elf.js';
import { CLI, arm64Unavailable, chrootRun, cutSet, releaseSets, runcRun } from './support/realcut.js';
import { tool } from './support/registry.js';

const cache = tempDir('chisel-ts-arm64-cache-');
const work = tempDir('chisel-ts-arm64-');

const unavailable = arm64Unavailable();
if (unavailable) console.warn(`test/arm64.test.ts: running arm64 programs skipped: ${unavailable}`);

const roots = new Map<string, string>();
/** A cut of a set, made once per file (the ELF check and the program runs share it). */
function cutOnce(release: string, set: string, arch: string): string {
  const key = `${release}/${arch}/${set}`;
  let root = roots.get(key);
  if (!root) {
    root = cutSet(work, cache, release, set, arch);
    roots.set(key, root);
  }
  return root;
}

const releases = ['debian-13', 'debian-12'];

describe('every ELF finds its interpreter and libraries (arm64, and Debian 13 python3 on other architectures)', () => {
  for (const release of releases) {
    for (const set of releaseSets(release)) {
      it(`${release} ${set}`, () => {
        const root = cutOnce(release, set, 'arm64');
        expect(elfProblems(root, 'arm64', LOADED_BY_LAUNCHER)).toEqual([]);
      });
    }
  }

  // The other architectures the releases define paths for: the ELF check only,
  // on the python3 set (the widest set of C libraries; Java's and Node's are
  // checked by hand, see README). armhf found libgcc_s missing for libffi.
  for (const arch of ['armhf', 'i386', 'riscv64']) {
    it(`debian-13 python3 on ${arch}`, () => {
      expect(elfProblems(cutOnce('debian-13', 'python3', arch), arch)).toEqual([]);
    });
  }

  it('the check names the file and what it misses', () => {
    const root = path.join(work, 'broken');
    cpSync(cutOnce('debian-13', 'base', 'arm64'), root, { recursive: true, verbatimSymlinks: true });
    rmSync(path.join(root, 'usr/lib/ld-linux-aarch64.so.1'));
    rmSync(path.join(root, 'usr/lib/aarch64-linux-gnu/libcrypto.so.3'));
    const problems = elfProblems(root, 'arm64');
    expect(problems).toContain('/usr/lib/aarch64-linux-gnu/libc.so.6: missing interpreter /lib/ld-linux-aarch64.so.1');
    expect(problems).toContain('/usr/lib/aarch64-linux-gnu/libssl.so.3: missing libcrypto.so.3');
    // the tree read as another architecture's: every ELF is flagged as foreign code
    expect(elfProblems(root, 'amd64')).toContain("/usr/lib/aarch64-linux-gnu/libc.so.6: machine 183, not amd64's 62");
  });
});

/** A root CA, an intermediate and a server certificate for 127.0.0.1 (ECDSA P-256), made with the host's openssl. */
function makeTlsChain(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const ossl = (args: string[]): void => void tool('openssl', args, { cwd: dir });
  const ext = (name: string, text: string): string => {
    writeFileSync(path.join(dir, name), text);
    return name;
  };
  const ca = ext('ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
  const inter = ext(
    'int.ext',
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  );
  const server = ext(
    'server.ext',
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  );
  for (const k of ['ca', 'int', 'server']) ossl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${k}.key`]);
  ossl(['req', '-new', '-key', 'ca.key', '-subj', '/CN=chisel-ts test root', '-out', 'ca.csr']);
  ossl(['x509', '-req', '-in', 'ca.csr', '-signkey', 'ca.key', '-days', '2', '-set_serial', '1', '-extfile', ca, '-out', 'ca.pem']);
  ossl(['req', '-new', '-key', 'int.key', '-subj', '/CN=chisel-ts test intermediate', '-out', 'int.csr']);
  ossl([
    'x509',
    '-req',
    '-in',
    'int.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-days',
    '2',
    '-set_serial',
    '2',
    '-extfile',
    inter,
    '-out',
    'int.pem',
  ]);
  ossl(['req', '-new', '-key', 'server.key', '-subj', '/CN=127.0.0.1', '-out', 'server.csr']);
  ossl([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'int.pem',
    '-CAkey',
    'int.key',
    '-days',
    '2',
    '-set_serial',
    '3',
    '-extfile',
    server,
    '-out',
    'server.pem',
  ]);
  writeFileSync(
    path.join(dir, 'chain.pem'),
    readFileSync(path.join(dir, 'server.pem'), 'utf8') + readFileSync(path.join(dir, 'int.pem'), 'utf8'),
  );
}

// A TLS server in a thread of the same interpreter (127.0.0.1, the chain above);
// the client's default context holds the image's CA bundle: it rejects the
// unknown root, then accepts the chain once the test root is added to it.
const PYTHON_TLS = `
import platform, socket, ssl, sqlite3, threading
ctx = ssl.create_default_context()
n = len(ctx.get_ca_certs())
assert n > 100, n
srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
srv.load_cert_chain("/tls/chain.pem", "/tls/server.key")
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(2)
port = ls.getsockname()[1]
def serve():
    for _ in range(2):
        c, _ = ls.accept()
        try:
            with srv.wrap_socket(c, server_side=True) as s:
                s.sendall(b"hello")
        except (ssl.SSLError, OSError):
            pass
threading.Thread(target=serve, daemon=True).start()
def fetch():
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.recv(5).decode()
try:
    fetch()
    print("accepted an unknown root")
except ssl.SSLCertVerificationError as e:
    print("rejected:", e.verify_message)
ctx.load_verify_locations("/tls/ca.pem")
print("tls", fetch(), "bundle", n, platform.machine())
print("sqlite", sqlite3.connect(":memory:").execute("select 40 + 2").fetchone()[0])
`;

describe.skipIf(Boolean(unavailable))(`arm64 programs run${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const rel = 'debian-13';
  const crossGcc = spawnSync('aarch64-linux-gnu-gcc', ['--version']).status === 0;
  const crossGxx = spawnSync('aarch64-linux-gnu-g++', ['--version']).status === 0;

  it('static: a statically linked arm64 C program runs', { skip: !crossGcc }, () => {
    const root = cutOnce(rel, 'static', 'arm64');
    const src = path.join(work, 'hello-static.c');
    writeFileSync(src, '#include <stdio.h>\nint main(void){puts("static ok");return 0;}\n');
    execFileSync('aarch64-linux-gnu-gcc', ['-static', '-O2', '-o', path.join(root, 'hello'), src]);
    expect(chrootRun(root, ['/hello'])).toContain('static ok');
  });

  it('base: a dynamically linked arm64 C program runs', { skip: !crossGcc }, () => {
    const root = cutOnce(rel, 'base', 'arm64');
    const src = path.join(work, 'hello-dyn.c');
    writeFileSync(src, '#include <stdio.h>\nint main(void){puts("dynamic ok");return 0;}\n');
    execFileSync('aarch64-linux-gnu-gcc', ['-O2', '-o', path.join(root, 'hello'), src]);
    expect(chrootRun(root, ['/hello'], { proc: true })).toContain('dynamic ok');
  });

  it('cc: a dynamically linked arm64 C++ program runs', { skip: !crossGxx }, () => {
    const root = cutOnce(rel, 'cc', 'arm64');
    const src = path.join(work, 'hello.cc');
    writeFileSync(src, '#include <iostream>\n#include <string>\nint main(){std::string s("cc ok");std::cout<<s<<std::endl;return 0;}\n');
    execFileSync('aarch64-linux-gnu-g++', ['-O2', '-o', path.join(root, 'hello'), src]);
    expect(chrootRun(root, ['/hello'], { proc: true })).toContain('cc ok');
  });

  it('python3: ssl and sqlite3 import, a TLS chain validates against the image CA bundle', () => {
    const root = cutOnce(rel, 'python3', 'arm64');
    makeTlsChain(path.join(root, 'tls'));
    const out = chrootRun(root, ['/usr/bin/python3', '-c', PYTHON_TLS], { proc: true, timeoutMs: 180_000 });
    expect(out).toMatch(/^rejected: unable to get local issuer certificate$/m);
    expect(out).toMatch(/^tls hello bundle \d{3} aarch64$/m);
    expect(out).toMatch(/^sqlite 42$/m);
  });

  it('nodejs: crypto and https load', () => {
    const root = cutOnce(rel, 'nodejs', 'arm64');
    const out = chrootRun(
      root,
      [
        '/usr/bin/node',
        '-e',
        'const c=require("crypto");require("https");console.log("node ok", process.arch, c.createHash("sha256").update("x").digest("hex").slice(0,8))',
      ],
      { proc: true },
    );
    expect(out).toContain('node ok arm64 2d711642');
  });

  it('java: java -version and a compiled class run', () => {
    const root = cutOnce(rel, 'java', 'arm64');
    const src = path.join(work, 'Hello.java');
    writeFileSync(
      src,
      'public class Hello { public static void main(String[] a) { System.out.println("java ok " + Runtime.version().feature() + " " + System.getProperty("os.arch")); } }\n',
    );
    // the host's javac may be older than the image's JRE (21): class files of release 17 run on both
    execFileSync('javac', ['--release', '17', '-d', path.join(root, 'app'), src]);
    const java = '/usr/lib/jvm/java-21-openjdk-arm64/bin/java';
    expect(existsSync(path.join(root, java))).toBe(true);
    expect(chrootRun(root, [java, '-version'], { proc: true })).toMatch(/openjdk version "21/);
    expect(chrootRun(root, [java, '-cp', '/app', 'Hello'], { proc: true })).toMatch(/java ok 21 aarch64/);
  });

  it('debug: busybox runs a shell', () => {
    const root = cutOnce(rel, 'debug', 'arm64');
    const out = chrootRun(root, ['/bin/sh', '-c', 'echo debug ok on $(busybox uname -m); busybox ls /etc/passwd'], { proc: true });
    expect(out).toContain('debug ok on aarch64');
    expect(out).toContain('/etc/passwd');
  });

  it('debian-12 debug: busybox runs a shell', () => {
    const root = cutOnce('debian-12', 'debug', 'arm64');
    expect(chrootRun(root, ['/bin/sh', '-c', 'echo debug ok on $(busybox uname -m)'])).toContain('debug ok on aarch64');
  });

  // (the examples test runs python-web and node-app from two-arch images too)
  it('runc runs each platform of a two-arch image: arm64 under qemu, amd64 natively', () => {
    const d = tempDir('chisel-ts-arm64-oci-');
    const layout = path.join(d, 'layout');
    const r = spawnSync(
      process.execPath,
      [CLI, 'cut', '--release', rel, '--arch', 'amd64,arm64', '--cache-dir', cache, '--oci', layout, '--tag', 'debug', 'debug'],
      { encoding: 'utf8', env: { ...process.env, CI: 'true' } },
    );
    expect(r.status, r.stderr).toBe(0);
    const shell = () => ['/bin/sh', '-c', 'echo runc $(busybox uname -m); busybox ls /usr/lib/*/libssl.so.3'];
    expect(runcRun(layout, 'debug', 'arm64', d, shell).out).toMatch(/^runc aarch64\n\/usr\/lib\/aarch64-linux-gnu\/libssl.so.3$/);
    expect(runcRun(layout, 'debug', 'amd64', d, shell).out).toMatch(/^runc x86_64\n\/usr\/lib\/x86_64-linux-gnu\/libssl.so.3$/);
  });
});
