// Images of the shipped Debian 13 release from the real Debian archive: run
// with runc as the non-root user, a two-arch index whose arm64 layer holds
// arm64 code, dpkg metadata a scanner can read.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLayout } from '../compiler/output/oci.js';
import { tempDir } from './support/cutenv.js';
import { blob, decompressLayer, manifestsOf, tarEntries } from './support/oci.js';
import { tool } from './support/registry.js';

const CLI = path.join(__dirname, '..', 'bin', 'chisel-ts.js');
const cache = tempDir('chisel-ts-real-img-cache-');

function cut(args: string[]): any {
  const r = spawnSync(process.execPath, [CLI, 'cut', '--release', 'debian-13', '--cache-dir', cache, '--json', ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  if (r.status !== 0) throw new Error(`cut failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** e_machine of an ELF file. */
function elfMachine(data: Buffer): number {
  expect(data.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  return data.readUInt16LE(18);
}

describe('Debian 13 images', () => {
  it('runc runs python3 from the image as uid 65532 in /home/nonroot', () => {
    const d = tempDir('chisel-ts-runc-');
    const layout = path.join(d, 'layout');
    cut(['--arch', 'amd64', '--oci', layout, '--tag', 'py', '--nonroot', '--entrypoint', '["/usr/bin/python3"]', 'python3']);
    expect(tool('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=py', layout])).toMatch(/Validation succeeded|OK/);
    const bundle = path.join(d, 'bundle');
    tool('umoci', ['unpack', '--image', `${layout}:py`, bundle]);
    const cfgPath = path.join(bundle, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.process.terminal = false;
    cfg.process.args = [
      '/usr/bin/python3',
      '-c',
      'import os, ssl, json; print(os.getuid(), os.getgid(), os.getcwd(), json.dumps({"ok": True}), ssl.OPENSSL_VERSION.split()[0])',
    ];
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const id = `chisel-ts-${process.pid}-${Date.now()}`;
    const r = spawnSync('runc', ['run', id], { cwd: bundle, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    spawnSync('runc', ['delete', '--force', id]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('65532 65532 /home/nonroot {"ok": true} OpenSSL');
  });

  it('a two-arch index: the arm64 manifest carries arm64 code, the amd64 one x86-64', async () => {
    const d = tempDir('chisel-ts-2arch-');
    const layout = path.join(d, 'layout');
    const r = cut(['--arch', 'amd64,arm64', '--oci', layout, '--tag', 'base', 'base']);
    expect(await checkLayout(layout)).toEqual([]);
    tool('oci-image-tool', ['validate', '--type', 'image', '--ref', 'name=base', layout]);
    const ms = manifestsOf(layout);
    expect(ms.map((m) => m.config.architecture)).toEqual(['amd64', 'arm64']);
    const libc = { amd64: 'usr/lib/x86_64-linux-gnu/libc.so.6', arm64: 'usr/lib/aarch64-linux-gnu/libc.so.6' } as const;
    const machine = { amd64: 62, arm64: 183 } as const;
    for (const m of ms) {
      const arch = m.config.architecture as 'amd64' | 'arm64';
      const layer = await decompressLayer(blob(layout, m.manifest.layers[0].digest), m.manifest.layers[0].mediaType);
      const entries = new Map((await tarEntries(layer)).map((e) => [e.name, e]));
      expect(elfMachine(entries.get(libc[arch])!.content)).toBe(machine[arch]);
      const status = entries.get('var/lib/dpkg/status.d/libc6')!.content.toString();
      expect(status).toMatch(new RegExp(`^Architecture: ${arch}$`, 'm'));
      const pkg = r.archs.find((a: any) => a.arch === arch).packages.find((p: any) => p.name === 'libc6');
      expect(status).toMatch(new RegExp(`^Version: ${pkg.version.replace(/[.+]/g, '\\$&')}$`, 'm'));
    }
  });

  it('dpkg metadata: a status paragraph and md5sums of exactly the shipped files, per package', () => {
    const d = tempDir('chisel-ts-dpkg-');
    const root = path.join(d, 'root');
    const r = cut(['--arch', 'amd64', '--root', root, 'python3']);
    const names = r.archs[0].packages.map((p: any) => p.name).sort();
    const listed = tool('ls', [path.join(root, 'var/lib/dpkg/status.d')])
      .trim()
      .split('\n')
      .filter((n) => !n.endsWith('.md5sums'))
      .sort();
    expect(listed).toEqual(names);
    // every md5sums line matches the file on disk, and every shipped regular file is listed
    const check = spawnSync('sh', ['-c', 'md5sum --quiet -c var/lib/dpkg/status.d/*.md5sums'], { cwd: root, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const sums = new Set(tool('sh', ['-c', 'cat var/lib/dpkg/status.d/*.md5sums | cut -c35-'], { cwd: root }).trim().split('\n'));
    const files = tool('sh', ['-c', 'find . -type f ! -path "./var/lib/dpkg/*" | cut -c3- | sort'], { cwd: root }).trim().split('\n');
    expect(files.filter((f) => !sums.has(f))).toEqual([]);
    expect(readFileSync(path.join(root, 'etc/os-release'), 'utf8')).toMatch(/^VERSION_ID="13"$/m);
    const without = path.join(d, 'plain');
    cut(['--arch', 'amd64', '--root', without, '--no-package-metadata', 'python3']);
    expect(spawnSync('test', ['-e', path.join(without, 'var/lib/dpkg/status.d')]).status).not.toBe(0);
  });

  it('lock, then cut --locked from the real archive reproduces the pinned digests', () => {
    const d = tempDir('chisel-ts-real-lock-');
    const lockfile = path.join(d, 'static.lock.json');
    const l = spawnSync(
      process.execPath,
      [CLI, 'lock', '--release', 'debian-13', '--arch', 'amd64', '--cache-dir', cache, '--lockfile', lockfile, 'static'],
      { encoding: 'utf8', env: { ...process.env, CI: 'true' } },
    );
    expect(l.status, l.stderr).toBe(0);
    const lock = JSON.parse(readFileSync(lockfile, 'utf8'));
    expect(lock.archives.map((a: any) => a.name)).toContain('debian');
    const r = cut(['--arch', 'amd64', '--locked', '--lockfile', lockfile, '--oci', path.join(d, 'layout'), 'static']);
    expect(r.image.digest).toBe(lock.outputs.image);
    expect(r.archs[0].packages.map((p: any) => `${p.name}=${p.version}`)).toEqual(lock.packages.map((p: any) => `${p.name}=${p.version}`));
  });
});
