// The shipped Debian releases against the real Debian archive (its URL from
// this machine's APT sources): every aggregate set is cut with the CLI, then
// real programs run in the root with chroot, and every ELF finds its libraries.

import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/cutenv.js';
import { elfProblems, LOADED_BY_LAUNCHER } from './support/elf.js';
import { CLI, chrootRun, cutSet as cutSetIn } from './support/realcut.js';

const cache = tempDir('chisel-ts-debian-cache-');
const work = tempDir('chisel-ts-debian-');
const asRoot = process.getuid?.() === 0;
const cutSet = (release: string, set: string): string => cutSetIn(work, cache, release, set, 'amd64');
const run = chrootRun;

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
        expect(elfProblems(root, 'amd64', LOADED_BY_LAUNCHER)).toEqual([]);
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
