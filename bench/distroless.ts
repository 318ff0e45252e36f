// Our sets beside the nearest distroless images, measured on the same
// machine from the same archive. No container registry is reachable here, so
// the distroless side is rebuilt from its own package lists: distroless's
// Bazel rules add each listed Debian package whole (its data.tar), and this
// script cuts exactly those packages whole (one `/**` slice each, in a
// release generated from the shipped chisel.yaml) and measures the root and
// the gzip layer the way bench/sizes.ts measures our sets.
//
// The lists are distroless's (GoogleContainerTools/distroless, read
// 2026-12-04): static/config.bzl STATIC_PACKAGES, base/config.bzl
// BASE_PACKAGES, cc/config.bzl CC_PACKAGES, python3/config.bzl
// PYTHON_PACKAGES (python3 is built on cc), java/java.bzl (java_base on
// base_nossl, then openjdk-N-jre-headless). Not rebuilt: what distroless adds
// besides packages (passwd, group, os-release, nsswitch.conf, /tmp: a few KiB)
// and the CA bundle, which it generates from ca-certificates (counted here as
// the whole ca-certificates package). distroless's Debian 13 java images use
// Temurin's JRE from Adoptium, which is not a Debian archive: that row uses
// Debian's openjdk-21-jre-headless, the JRE our java set ships. distroless's
// nodejs images use upstream Node.js, and its debug images a busybox built by
// distroless: no rows for those.
//
// Usage: node dist/bench/distroless.js [--cache-dir DIR]

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { measure } from './sizes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'chisel-ts.js');

const STATIC: Record<string, string[]> = {
  'debian-12': ['base-files', 'netbase', 'tzdata', 'media-types', 'ca-certificates'],
  'debian-13': ['base-files', 'netbase', 'tzdata', 'tzdata-legacy', 'media-types', 'ca-certificates'],
};
const BASE: Record<string, string[]> = {
  'debian-12': ['libc6', 'libssl3'],
  'debian-13': ['libc6', 'libssl3t64', 'libzstd1', 'zlib1g'],
};
const CC: Record<string, string[]> = {
  'debian-12': ['libgomp1', 'libstdc++6', 'libgcc-s1', 'gcc-12-base'],
  'debian-13': ['libgomp1', 'libstdc++6', 'libgcc-s1', 'gcc-14-base'],
};
// python3/config.bzl: the same list on both, with Debian 13's t64 names and venv.
const PYTHON_COMMON = [
  'libbz2-1.0',
  'libexpat1',
  'liblzma5',
  'libsqlite3-0',
  'libuuid1',
  'libncursesw6',
  'libtinfo6',
  'zlib1g',
  'libcom-err2',
  'libcrypt1',
  'libgssapi-krb5-2',
  'libk5crypto3',
  'libkeyutils1',
  'libkrb5-3',
  'libkrb5support0',
  'libnsl2',
  'libffi8',
];
const PYTHON: Record<string, string[]> = {
  'debian-12': [
    ...PYTHON_COMMON,
    'libdb5.3',
    'python3-distutils',
    'libreadline8',
    'libtirpc3',
    'libpython3.11-minimal',
    'libpython3.11-stdlib',
    'python3.11-minimal',
  ],
  'debian-13': [
    ...PYTHON_COMMON,
    'libdb5.3t64',
    'libreadline8t64',
    'libtirpc3t64',
    'libpython3.13-minimal',
    'libpython3.13-stdlib',
    'python3.13-minimal',
    'python3.13-venv',
  ],
};
// java/java.bzl: java_build_base's packages, then java_base's (harfbuzz and what it needs).
const JAVA_COMMON = [
  'zlib1g',
  'libjpeg62-turbo',
  'liblcms2-2',
  'libfreetype6',
  'fonts-dejavu-core',
  'fontconfig-config',
  'libexpat1',
  'libfontconfig1',
  'libuuid1',
  'libbrotli1',
  'libcrypt1',
  'libstdc++6',
  'libgcc-s1',
];
const JAVA_BASE: Record<string, string[]> = {
  'debian-12': [...JAVA_COMMON, 'gcc-12-base', 'libpng16-16', 'libharfbuzz0b', 'libgraphite2-3', 'libpcre2-8-0', 'libglib2.0-0'],
  'debian-13': [
    ...JAVA_COMMON,
    'gcc-14-base',
    'libpng16-16t64',
    'libbz2-1.0',
    'libharfbuzz0b',
    'libgraphite2-3',
    'libpcre2-8-0',
    'libglib2.0-0t64',
  ],
};

export interface Comparison {
  release: string;
  /** Our set. */
  set: string;
  /** The distroless image it is compared with. */
  image: string;
  /** The Debian packages that image is made of, each whole. */
  packages: string[];
}

export function comparisons(): Comparison[] {
  const out: Comparison[] = [];
  for (const [release, n] of [
    ['debian-13', '13'],
    ['debian-12', '12'],
  ] as const) {
    const s = STATIC[release]!;
    const base = [...s, ...BASE[release]!];
    const cc = [...base, ...CC[release]!];
    const nossl = [...s, 'libc6'];
    const jre = release === 'debian-13' ? 'openjdk-21-jre-headless' : 'openjdk-17-jre-headless';
    out.push(
      { release, set: 'static', image: `static-debian${n}`, packages: s },
      { release, set: 'base', image: `base-debian${n}`, packages: base },
      { release, set: 'cc', image: `cc-debian${n}`, packages: cc },
      { release, set: 'python3', image: `python3-debian${n}`, packages: [...cc, ...PYTHON[release]!] },
      {
        release,
        set: release === 'debian-13' ? 'java' : 'java17',
        image: release === 'debian-13' ? 'java21-debian13 (with Debian\u2019s JRE)' : 'java17-debian12',
        packages: [...nossl, ...JAVA_BASE[release]!, jre],
      },
    );
  }
  return out.map((c) => ({ ...c, packages: [...new Set(c.packages)] }));
}

/** The package's entries (type, path) in the shipped release's archive, from `scaffold --list`. */
function listing(release: string, pkg: string, cacheDir: string): Array<{ type: string; path: string }> {
  const r = spawnSync(
    process.execPath,
    [BIN, 'scaffold', '--release', release, '--arch', 'amd64', '--cache-dir', cacheDir, '--list', pkg],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`scaffold --list ${pkg}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l)!;
      return { type: m[1]!, path: m[2]! };
    });
}

/**
 * A release of the shipped one's archives and keys, with one `all` slice for
 * each package that lists every file and link of it (Chisel's rules let no two
 * packages copy the same path or overlap with globs; the directories come as
 * the parents of what they hold, so an empty directory is left out).
 */
export function wholePackageRelease(release: string, packages: string[], dir: string, cacheDir: string): void {
  const cfg = parse(readFileSync(path.join(ROOT, 'slices', release, 'chisel.yaml'), 'utf8')) as Record<string, unknown>;
  delete cfg.sets;
  mkdirSync(path.join(dir, 'slices'), { recursive: true });
  writeFileSync(path.join(dir, 'chisel.yaml'), stringify(cfg));
  for (const p of packages) {
    const contents = Object.fromEntries(
      listing(release, p, cacheDir)
        .filter((e) => e.type !== 'dir')
        .map((e) => [e.path, null]),
    );
    writeFileSync(path.join(dir, 'slices', `${p}.yaml`), stringify({ package: p, slices: { all: { contents } } }));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const ci = args.indexOf('--cache-dir');
  const cacheDir = ci >= 0 ? args.splice(ci, 2)[1]! : mkdtempSync(path.join(tmpdir(), 'chisel-ts-distroless-cache-'));
  const mib = (k: number) => (k / 1024).toFixed(1);
  process.stdout.write(
    '| release | set | root (du) | gzip layer | distroless image | its packages | root (du) | gzip layer |\n|---|---|---:|---:|---|---:|---:|---:|\n',
  );
  for (const c of comparisons()) {
    const ours = measure(c.release, c.set, cacheDir);
    const work = mkdtempSync(path.join(tmpdir(), 'chisel-ts-distroless-'));
    try {
      wholePackageRelease(c.release, c.packages, work, cacheDir);
      const theirs = measure(
        work,
        c.packages.map((p) => `${p}_all`),
        cacheDir,
      );
      process.stdout.write(
        `| ${c.release} | ${c.set} | ${mib(ours.rootKiB)} MiB | ${mib(ours.layerKiB)} MiB | ${c.image} | ${c.packages.length} | ${mib(theirs.rootKiB)} MiB | ${mib(theirs.layerKiB)} MiB |\n`,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}
