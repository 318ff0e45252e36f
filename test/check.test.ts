// chisel-ts check on a hermetic release: real .deb files from a signed test
// archive on 127.0.0.1 holding this machine's C library and programs built
// here with gcc (a library with a soname, a program that finds it through
// RUNPATH $ORIGIN). Each kind of failure is detected in a slice made to have
// it, a good slice passes, and its smoke test runs in the cut root. The ELF
// reader is checked against readelf on the host's own libraries.

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore } from '../compiler/cache/store.js';
import { checkRelease, type SliceCheck } from '../compiler/check/index.js';
import { readElf } from '../compiler/check/elf.js';
import { loadRelease } from '../compiler/release/index.js';
import { hostArch } from '../compiler/util/arch.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { CLI } from './support/realcut.js';
import { runCli } from './support/proc.js';
import { referencePresent, REFERENCE_CHISEL } from './support/chiselref.js';
import { TestArchive } from './support/testarchive.js';

const amd64 = hostArch() === 'amd64';
const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const work = tempDir('chisel-ts-check-');
let archive: TestArchive;
let releaseDir: string;
let cacheDir: string;

const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';
const LDSO = '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2';

function build(): { lib: Buffer; hello: Buffer; plain: Buffer } {
  writeFileSync(path.join(work, 'greet.c'), '#include <stdio.h>\nvoid greet(void){puts("hello from greet");}\n');
  writeFileSync(
    path.join(work, 'hello.c'),
    '#include <stdlib.h>\nvoid greet(void);\nint main(int c, char **v){ if (c > 1) return atoi(v[1]); greet(); return 0; }\n',
  );
  writeFileSync(path.join(work, 'plain.c'), '#include <stdio.h>\nint main(void){ puts("plain"); return 0; }\n');
  const lib = path.join(work, 'libgreet.so.1');
  execFileSync('gcc', ['-shared', '-fPIC', '-Wl,-soname,libgreet.so.1', '-o', lib, path.join(work, 'greet.c')]);
  const hello = path.join(work, 'hello');
  execFileSync('gcc', ['-o', hello, path.join(work, 'hello.c'), lib, '-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib/greet']);
  const plain = path.join(work, 'plain');
  execFileSync('gcc', ['-o', plain, path.join(work, 'plain.c')]);
  return { lib: readFileSync(lib), hello: readFileSync(hello), plain: readFileSync(plain) };
}

const SLICES = {
  hostlibc: `package: hostlibc
slices:
  libs:
    contents:
      ${LIBC}:
      ${LDSO}:
      /lib64/ld-linux-x86-64.so.2:
`,
  greet: `package: greet
slices:
  libs:
    essential: [hostlibc_libs]
    contents:
      /usr/lib/greet/libgreet.so.1:
  good:
    essential: [greet_libs, hostlibc_libs]
    contents:
      /usr/bin/hello:
      /usr/bin/hi: {symlink: hello}
      /usr/share/greet/libc: {symlink: ../../lib/x86_64-linux-gnu/libc.so.6}
    checks:
      - run: [/usr/bin/hello]
        expect: hello from greet
      - run: [/usr/bin/hi, "0"]
  nolib:
    essential: [hostlibc_libs]
    contents:
      /usr/bin/hello:
  noloader:
    contents:
      /usr/bin/plain:
  dangling:
    essential: [greet_libs]
    contents:
      /usr/bin/gone: {symlink: /usr/bin/nothing-here}
  escape:
    contents:
      /usr/lib/greet/out: {symlink: ../../../../etc/passwd}
  badsmoke:
    essential: [greet_libs]
    contents:
      /usr/bin/hello:
    checks:
      - run: [/usr/bin/hello]
        expect: goodbye
      - run: [/usr/bin/hello, "3"]
      - run: [/usr/bin/absent]
`,
  cross: `package: cross
slices:
  toolchain:
    contents:
      /usr/lib/gcc-cross/aarch64-linux-gnu/14/libplain.so.1:
  sysroot:
    contents:
      /usr/x86_64-linux-gnu/lib/plain:
  testdata:
    contents:
      /usr/share/cross/testdata/plain.elf:
  bins:
    contents:
      /usr/bin/plain-arm64:
`,
};

/** An ELF file of another machine: a copy whose e_machine says aarch64 (183). */
function arm64Copy(elf: Buffer): Buffer {
  const b = Buffer.from(elf);
  b.writeUInt16LE(183, 18);
  return b;
}

beforeAll(async () => {
  if (!amd64 || !hasGcc) return;
  const b = build();
  archive = await TestArchive.create({
    suites: {
      stable: {
        main: [
          {
            name: 'hostlibc',
            version: '1.0',
            files: [
              { path: LIBC, content: readFileSync(LIBC), mode: 0o755 },
              { path: LDSO, content: readFileSync(LDSO), mode: 0o755 },
              { path: '/lib64/ld-linux-x86-64.so.2', type: 'symlink', link: LDSO },
            ],
          },
          {
            name: 'greet',
            version: '1.0',
            files: [
              { path: '/usr/lib/greet/libgreet.so.1', content: b.lib, mode: 0o644 },
              { path: '/usr/bin/hello', content: b.hello, mode: 0o755 },
              { path: '/usr/bin/plain', content: b.plain, mode: 0o755 },
            ],
          },
          {
            name: 'cross',
            version: '1.0',
            files: [
              { path: '/usr/lib/gcc-cross/aarch64-linux-gnu/14/libplain.so.1', content: arm64Copy(b.plain), mode: 0o644 },
              // this machine's program in a cross toolchain's system root: its loader is that system's, not checked
              { path: '/usr/x86_64-linux-gnu/lib/plain', content: b.plain, mode: 0o755 },
              { path: '/usr/bin/plain-arm64', content: arm64Copy(b.plain), mode: 0o755 },
              // this machine's program, without its loader and libc: as data under /usr/share it is not checked
              { path: '/usr/share/cross/testdata/plain.elf', content: b.plain, mode: 0o644 },
            ],
          },
        ],
      },
    },
  });
  releaseDir = writeRelease(archive, SLICES);
  cacheDir = tempDir('chisel-ts-check-cache-');
});

afterAll(async () => {
  await archive?.close();
});

async function check(names: string[]): Promise<Map<string, SliceCheck>> {
  const release = await loadRelease(releaseDir);
  const results = await checkRelease({
    release,
    names,
    arch: 'amd64',
    store: new ContentStore(cacheDir),
    archives: { http: { retries: 1, backoffMs: 10, timeoutMs: 5000 } },
  });
  return new Map(results.map((r) => [r.name, r]));
}

describe.skipIf(!amd64 || !hasGcc)('chisel-ts check', () => {
  it('a good slice passes: its libraries resolve through RUNPATH $ORIGIN, its links inside the root, its smoke tests run', async () => {
    const r = (await check(['greet_good'])).get('greet_good')!;
    expect(r.problems).toEqual([]);
    expect(r.result).toBe('pass');
    expect(r.elfs).toBe(4);
    // the four ELF files and the dpkg metadata of the two packages (status.d/<pkg> and <pkg>.md5sums)
    expect(r.files).toBe(8);
    const elfBytes =
      [LIBC, LDSO].reduce((n, f) => n + statSync(f).size, 0) +
      statSync(path.join(work, 'hello')).size +
      statSync(path.join(work, 'libgreet.so.1')).size;
    expect(r.size).toBeGreaterThan(elfBytes);
    expect(r.size).toBeLessThan(elfBytes + 4096);
    const canRun = process.getuid?.() === 0 || spawnSync('unshare', ['--user', '--map-root-user', 'true']).status === 0;
    expect(r.smoke.map((s) => s.result)).toEqual(canRun ? ['pass', 'pass'] : ['skipped', 'skipped']);
  });

  it('a missing DT_NEEDED library and a missing interpreter are detected', async () => {
    const m = await check(['greet_nolib', 'greet_noloader']);
    expect(m.get('greet_nolib')!.problems).toEqual(['/usr/bin/hello: needs libgreet.so.1, which is not in the root']);
    expect(m.get('greet_nolib')!.result).toBe('fail');
    expect(m.get('greet_noloader')!.problems).toEqual([
      '/usr/bin/plain: interpreter /lib64/ld-linux-x86-64.so.2 is not in the root',
      '/usr/bin/plain: needs libc.so.6, which is not in the root',
    ]);
  });

  it('a dangling symlink and a symlink that climbs out of the root are detected', async () => {
    const m = await check(['greet_dangling', 'greet_escape']);
    expect(m.get('greet_dangling')!.problems).toEqual([
      'symlink /usr/bin/gone -> /usr/bin/nothing-here is dangling (/usr/bin/nothing-here is not in the root)',
    ]);
    expect(m.get('greet_escape')!.problems).toEqual(['symlink /usr/lib/greet/out -> ../../../../etc/passwd climbs out of the root']);
    expect(m.get('greet_escape')!.result).toBe('fail');
  });

  it("another machine's code fails where this one runs programs or loads libraries, and is a note elsewhere (a cross toolchain)", async () => {
    const m = await check(['cross_toolchain', 'cross_bins', 'cross_sysroot']);
    const what = "ELF for machine 183 (64-bit), not amd64's 62 (64-bit)";
    expect(m.get('cross_toolchain')!.result).toBe('pass');
    expect(m.get('cross_toolchain')!.notes).toEqual([
      `/usr/lib/gcc-cross/aarch64-linux-gnu/14/libplain.so.1: ${what}, off amd64's program and library directories (not checked)`,
    ]);
    expect(m.get('cross_sysroot')!.result).toBe('pass');
    expect(m.get('cross_sysroot')!.notes).toEqual([
      "/usr/x86_64-linux-gnu/lib/plain: in /usr/x86_64-linux-gnu/, a cross toolchain's system root (its loader and libraries are its own): not checked",
    ]);
    expect(m.get('cross_bins')!.problems).toEqual([`/usr/bin/plain-arm64: ${what}`]);
    expect(m.get('cross_bins')!.result).toBe('fail');
  });

  it('an ELF file under /usr/share is data: not checked, noted', async () => {
    const r = (await check(['cross_testdata'])).get('cross_testdata')!;
    expect(r.result).toBe('pass');
    expect(r.elfs).toBe(1);
    expect(r.notes).toEqual([
      '/usr/share/cross/testdata/plain.elf: an ELF file under /usr/share/, which holds data (test data, firmware, sources): not checked',
    ]);
  });

  it.skipIf(process.getuid?.() !== 0 && spawnSync('unshare', ['--user', '--map-root-user', 'true']).status !== 0)(
    'failing smoke tests are detected: wrong output, non-zero exit, a program the cut lacks',
    async () => {
      const r = (await check(['greet_badsmoke'])).get('greet_badsmoke')!;
      expect(r.result).toBe('fail');
      expect(r.smoke.map((s) => s.result)).toEqual(['fail', 'fail', 'fail']);
      expect(r.problems).toEqual([
        'check /usr/bin/absent: /usr/bin/absent is not in the root',
        'check /usr/bin/hello: output lacks "goodbye"; output: "hello from greet"',
        'check /usr/bin/hello 3: exit 3; output: ""',
      ]);
    },
  );

  it('the CLI prints a table and a JSON report, and exits 1 on a failure and 0 when all pass', async () => {
    const run = (args: string[]) => runCli(['check', '--release', releaseDir, '--cache-dir', cacheDir, '--arch', 'amd64', ...args]);
    const bad = await run(['greet']);
    expect(bad.code, bad.err).toBe(1);
    expect(bad.out).toMatch(/^SLICE +RESULT +SIZE +SMOKE +PROBLEMS$/m);
    expect(bad.out).toMatch(/^greet_nolib +fail +[\d.]+ MiB +- +\/usr\/bin\/hello: needs libgreet\.so\.1, which is not in the root$/m);
    expect(bad.out).toMatch(/^greet_good +pass /m);
    expect(bad.out).toContain('7 checked on amd64: 2 passed, 5 failed');
    const good = await run(['greet_good', 'greet_libs', '--json']);
    expect(good.code, good.err).toBe(0);
    const doc = JSON.parse(good.out);
    expect(doc).toMatchObject({ arch: 'amd64', passed: 2, failed: 0 });
    expect(doc.results.map((r: SliceCheck) => [r.name, r.result])).toEqual([
      ['greet_good', 'pass'],
      ['greet_libs', 'pass'],
    ]);
  });

  it('an unreachable archive stops the run with exit 3 instead of failing every slice', async () => {
    const r = await runCli([
      'check',
      '--release',
      releaseDir,
      '--cache-dir',
      tempDir('chisel-ts-check-cold-'),
      '--archive-url',
      'test=http://127.0.0.1:9/none',
      'greet_good',
    ]);
    expect(r.code, r.out + r.err).toBe(3);
    expect(r.err).toMatch(/^error: .*InRelease/m);
  });
});

describe('checks: in slice definitions', () => {
  it('is read into the model, and a relative program is refused at its position', async () => {
    const dir = tempDir('chisel-ts-check-release-');
    cpSync(path.join(__dirname, '..', 'slices', 'debian-13'), dir, { recursive: true });
    const rel = await loadRelease(dir);
    expect(
      rel.packages
        .get('busybox')!
        .slices.get('bins')!
        .checks!.map((c) => c.run[0]),
    ).toContain('/usr/bin/busybox');
    const file = path.join(dir, 'slices', 'busybox.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('run: [/usr/bin/busybox,', 'run: [busybox,'));
    const r = spawnSync(process.execPath, [CLI, 'validate', '--release', dir], {
      encoding: 'utf8',
      env: { ...process.env, CHISEL_TS_NO_CACHE: '1' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/busybox\.yaml:\d+:\d+: .*check 1 runs "busybox": give the program's absolute, clean path/);
  });

  it.skipIf(!referencePresent)('Chisel v1.4.1 ignores the key', () => {
    const dir = tempDir('chisel-ts-check-ubuntu-');
    cpSync(path.join(__dirname, '..', '..', 'shared', 'corpus', 'chisel-releases', 'ubuntu-24.04'), dir, { recursive: true });
    const file = path.join(dir, 'slices', 'base-files.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('\n  base:\n');
    writeFileSync(file, text.replace('\n  base:\n', '\n  base:\n    checks:\n      - run: [/usr/bin/true]\n        expect: ""\n'));
    const r = spawnSync(REFERENCE_CHISEL, ['info', '--release', dir, 'base-files_base'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('base-files_copyright');
    const ours = spawnSync(process.execPath, [CLI, 'validate', '--release', dir], { encoding: 'utf8' });
    expect(ours.status, ours.stderr).toBe(0);
  });
});

describe('ELF reader', () => {
  it('reads the interpreter, DT_NEEDED, RUNPATH / RPATH and SONAME of the host libraries as readelf does', () => {
    const dir = '/usr/lib/x86_64-linux-gnu';
    const files = readdirSync(dir)
      .filter((n) => /\.so(\.\d+)*$/.test(n))
      .map((n) => realpathSync(path.join(dir, n)))
      .filter((f, i, a) => a.indexOf(f) === i && statSync(f).isFile())
      .slice(0, 150);
    files.push(realpathSync('/usr/bin/ls'), realpathSync(process.execPath));
    expect(files.length).toBeGreaterThan(20);
    let compared = 0;
    for (const f of files) {
      const r = spawnSync('readelf', ['-l', '-d', '-W', f], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (r.status !== 0) continue;
      const t = r.stdout;
      const bytes = readFileSync(f);
      const info = readElf((o, n) => bytes.subarray(o, o + n));
      expect(info, f).toBeDefined();
      const want = {
        interp: /\[Requesting program interpreter: ([^\]]+)\]/.exec(t)?.[1],
        needed: [...t.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]),
        runpath: [...t.matchAll(/\(RUNPATH\)\s+Library runpath: \[([^\]]+)\]/g)].flatMap((m) => m[1]!.split(':')),
        rpath: [...t.matchAll(/\(RPATH\)\s+Library rpath: \[([^\]]+)\]/g)].flatMap((m) => m[1]!.split(':')),
        soname: /\(SONAME\)\s+Library soname: \[([^\]]+)\]/.exec(t)?.[1],
      };
      expect({ interp: info!.interp, needed: info!.needed, runpath: info!.runpath, rpath: info!.rpath, soname: info!.soname }, f).toEqual(
        want,
      );
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
  });

  it('is not fooled by what is not ELF, and reports a damaged file', () => {
    expect(readElf((o, n) => Buffer.from('#!/bin/sh\necho hi\n'.padEnd(200)).subarray(o, o + n))).toBeUndefined();
    const ls = readFileSync(realpathSync('/usr/bin/ls'));
    const cut = ls.subarray(0, 64);
    expect(() => readElf((o, n) => cut.subarray(o, o + n))).toThrow(/truncated program header table/);
    const info = readElf((o, n) => ls.subarray(o, o + n))!;
    expect(info).toMatchObject({ bits: 64, machine: 62, interp: '/lib64/ld-linux-x86-64.so.2' });
  });
});
