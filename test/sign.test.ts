// --sign-key: images pushed by `cut --push` to a real docker-registry and
// signed in cosign's format, verified with the real cosign (`cosign verify
// --key ... --insecure-ignore-tlog`): with a key made by `cosign
// generate-key-pair` (encrypted, COSIGN_PASSWORD) and one made by `chisel-ts
// keygen` (PKCS#8 PEM); and refused for another key, a tag moved to another
// image, and a tampered signature. .ci/run installs cosign; without it the
// cosign checks are skipped (and say so). --attest: the SBOM (SPDX and
// CycloneDX) and the provenance (SLSA v1) as in-toto attestations, checked
// with cosign verify-attestation.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '../compiler/version.js';
import { tempDir, writeRelease } from './support/cutenv.js';
import { runAsync, type Run } from './support/proc.js';
import { startRegistry, tool, type Registry } from './support/registry.js';
import { TestArchive } from './support/testarchive.js';

const BIN = path.resolve(__dirname, '..', 'bin', 'chisel-ts.js');
const COSIGN = spawnSync('cosign', ['version'], { encoding: 'utf8' }).status === 0;
if (!COSIGN) console.warn('test/sign.test.ts: cosign is not installed (.ci/run installs it): the cosign verify tests are skipped');
const PASSWORD = 'sign-test-password';

let archive: TestArchive;
let release: string;
let registry: Registry;
let keys: string;

beforeAll(async () => {
  const pkg = (arch: string, n: string) => ({
    name: 'hello',
    version: '1.0',
    arch,
    files: [
      { path: '/usr/bin/hello', content: `#!/bin/sh\necho hello ${n} from ${arch}\n`, mode: 0o755 },
      { path: '/etc/hello.conf', content: 'other\n' },
    ],
  });
  archive = await TestArchive.create({ archs: ['amd64', 'arm64'], suites: { stable: { main: [pkg('amd64', '1'), pkg('arm64', '1')] } } });
  release = writeRelease(archive, {
    hello: 'package: hello\nslices:\n  bins:\n    contents:\n      /usr/bin/hello:\n  other:\n    contents:\n      /etc/hello.conf:\n',
  });
  registry = await startRegistry();
  keys = tempDir('chisel-ts-sign-keys-');
  if (COSIGN) {
    tool('cosign', ['generate-key-pair', '--output-key-prefix', path.join(keys, 'cosign')], {
      env: { ...process.env, COSIGN_PASSWORD: PASSWORD },
    });
    tool('cosign', ['generate-key-pair', '--output-key-prefix', path.join(keys, 'other')], {
      env: { ...process.env, COSIGN_PASSWORD: PASSWORD },
    });
  }
});

afterAll(async () => {
  await archive?.close();
  await registry?.stop();
});

// Asynchronous: the test archive is served from this process.
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const cache = tempDir('chisel-ts-sign-cache-');
  return runAsync('node', [BIN, ...args], { env: { ...process.env, CI: 'true', XDG_CACHE_HOME: path.join(cache, 'xdg'), ...env } });
}

async function cut(args: string[], env: Record<string, string> = {}): Promise<any> {
  const r = await cli(['cut', '--release', release, '--json', ...args], env);
  if (r.code !== 0) throw new Error(`cut failed (${r.code}): ${r.err}`);
  return JSON.parse(r.out);
}

function cosignVerify(pub: string, ref: string): { ok: boolean; out: string } {
  const r = spawnSync('cosign', ['verify', '--key', pub, '--insecure-ignore-tlog', '--allow-insecure-registry', ref], {
    encoding: 'utf8',
  });
  return { ok: r.status === 0, out: `${r.stdout}\n${r.stderr}` };
}

const raw = (ref: string) => tool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);

describe.skipIf(!COSIGN)('cosign verify of images signed with --sign-key', () => {
  it('a cosign key pair (encrypted, COSIGN_PASSWORD): the index and each platform manifest verify; another key does not', async () => {
    const repo = `${registry.addr}/chisel/signed`;
    const r = await cut(['--arch', 'amd64,arm64', '--push', `${repo}:v1`, '--sign-key', path.join(keys, 'cosign.key'), 'hello_bins'], {
      COSIGN_PASSWORD: PASSWORD,
    });
    const platforms = JSON.parse(raw(`${repo}:v1`)).manifests.map((m: any) => m.digest);
    expect(platforms).toHaveLength(2);
    expect(r.push.signatures.map((s: any) => s.digest)).toEqual([r.push.digest, ...platforms]);
    const ok = cosignVerify(path.join(keys, 'cosign.pub'), `${repo}:v1`);
    expect(ok.ok, ok.out).toBe(true);
    // what cosign checked: our payload names the repository and the index digest
    expect(ok.out).toContain(`"docker-manifest-digest":"${r.push.digest}"`);
    expect(ok.out).toContain(`"docker-reference":"${repo}"`);
    for (const d of platforms) expect(cosignVerify(path.join(keys, 'cosign.pub'), `${repo}@${d}`).ok).toBe(true);
    expect(cosignVerify(path.join(keys, 'other.pub'), `${repo}:v1`).ok).toBe(false);
  });

  it('a chisel-ts keygen key (PKCS#8 PEM) verifies; the tag moved to an unsigned image does not', async () => {
    const d = tempDir('chisel-ts-keygen-');
    const k = await cli(['keygen', path.join(d, 'mine')]);
    expect(k.code, k.err).toBe(0);
    expect(readFileSync(path.join(d, 'mine.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(statSync(path.join(d, 'mine.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(d, 'mine.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    // keygen refuses to overwrite a key
    const again = await cli(['keygen', path.join(d, 'mine')]);
    expect(again.code).not.toBe(0);
    expect(again.err).toContain('not overwriting');

    const ref = `${registry.addr}/chisel/keygen:v1`;
    await cut(['--arch', 'amd64', '--push', ref, '--sign-key', path.join(d, 'mine.key'), 'hello_bins']);
    const ok = cosignVerify(path.join(d, 'mine.pub'), ref);
    expect(ok.ok, ok.out).toBe(true);
    // the same tag now names another image, pushed without signing
    await cut(['--arch', 'amd64', '--push', ref, 'hello_other']);
    const moved = cosignVerify(path.join(d, 'mine.pub'), ref);
    expect(moved.ok).toBe(false);
    expect(moved.out).toMatch(/no signatures found|no matching signatures/);
  });

  it('signatures cosign adds under the same .sig tag are kept when chisel-ts signs again, and the other way round', async () => {
    const d = tempDir('chisel-ts-cosign-too-');
    expect((await cli(['keygen', path.join(d, 'k')])).code).toBe(0);
    const ref = `${registry.addr}/chisel/both:v1`;
    const args = ['--arch', 'amd64', '--push', ref, '--sign-key', path.join(d, 'k.key'), 'hello_bins'];
    const r = await cut(args);
    tool(
      'cosign',
      [
        'sign',
        '--key',
        path.join(keys, 'other.key'),
        '--tlog-upload=false',
        '--allow-insecure-registry',
        '-y',
        `${ref.replace(/:v1$/, '')}@${r.push.digest}`,
      ],
      {
        env: { ...process.env, COSIGN_PASSWORD: PASSWORD },
      },
    );
    expect(cosignVerify(path.join(d, 'k.pub'), ref).ok).toBe(true);
    expect(cosignVerify(path.join(keys, 'other.pub'), ref).ok).toBe(true);
    // signing again replaces our own signature and keeps cosign's: two layers, both verify
    await cut(args);
    const sig = JSON.parse(raw(`${ref.replace(/:v1$/, '')}:${r.push.digest.replace(':', '-')}.sig`));
    expect(sig.layers).toHaveLength(2);
    expect(cosignVerify(path.join(d, 'k.pub'), ref).ok).toBe(true);
    expect(cosignVerify(path.join(keys, 'other.pub'), ref).ok).toBe(true);
  });

  it('an openssl PKCS#8 key verifies; a tampered signature (one bit of the annotation changed) does not', async () => {
    const d = tempDir('chisel-ts-tamper-');
    // a PKCS#8 key made by openssl, and its public key
    tool('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path.join(d, 'k.key')]);
    tool('openssl', ['pkey', '-in', path.join(d, 'k.key'), '-pubout', '-out', path.join(d, 'k.pub')]);
    const repo = `${registry.addr}/chisel/tampered`;
    const r = await cut(['--arch', 'amd64', '--push', `${repo}:v1`, '--sign-key', path.join(d, 'k.key'), 'hello_bins']);
    expect(cosignVerify(path.join(d, 'k.pub'), `${repo}:v1`).ok).toBe(true);
    const sigTag = `${r.push.digest.replace(':', '-')}.sig`;
    const manifest = JSON.parse(raw(`${repo}:${sigTag}`));
    const sig = Buffer.from(manifest.layers[0].annotations['dev.cosignproject.cosign/signature'], 'base64');
    sig[sig.length - 1]! ^= 1;
    manifest.layers[0].annotations['dev.cosignproject.cosign/signature'] = sig.toString('base64');
    const res = await fetch(`http://${registry.addr}/v2/chisel/tampered/manifests/${sigTag}`, {
      method: 'PUT',
      headers: { 'Content-Type': manifest.mediaType },
      body: JSON.stringify(manifest),
    });
    expect(res.status).toBe(201);
    const bad = cosignVerify(path.join(d, 'k.pub'), `${repo}:v1`);
    expect(bad.ok).toBe(false);
    expect(bad.out).toMatch(/no matching signatures|invalid signature|verification/);
  });
});

function cosignVerifyAttestation(pub: string, type: string, ref: string): { ok: boolean; out: string; err: string } {
  const r = spawnSync(
    'cosign',
    ['verify-attestation', '--key', pub, '--type', type, '--insecure-ignore-tlog', '--allow-insecure-registry', ref],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  return { ok: r.status === 0, out: r.stdout, err: r.stderr };
}

describe.skipIf(!COSIGN)('--attest: the SBOM as an in-toto attestation, verified with cosign verify-attestation', () => {
  for (const [format, type, file, predicateType] of [
    ['spdx', 'spdxjson', 'sbom.spdx.json', 'https://spdx.dev/Document'],
    ['cyclonedx', 'cyclonedx', 'sbom.cdx.json', 'https://cyclonedx.org/bom'],
  ] as const) {
    it(`${format}: cosign verify-attestation --type ${type} passes and gives back the SBOM; another key or type does not`, async () => {
      const d = tempDir('chisel-ts-attest-');
      const repo = `${registry.addr}/chisel/attest-${format}`;
      const sbomFile = path.join(d, file);
      const args = [
        '--arch',
        'amd64,arm64',
        '--push',
        `${repo}:v1`,
        '--sbom',
        sbomFile,
        '--attest',
        '--sign-key',
        path.join(keys, 'cosign.key'),
        'hello_bins',
      ];
      const r = await cut(args, { COSIGN_PASSWORD: PASSWORD });
      const att = `${r.push.digest.replace(':', '-')}.att`;
      expect(r.push.attestations.map((a: any) => [a.digest, a.tag, a.predicateType])).toEqual([
        [r.push.digest, att, predicateType],
        [r.push.digest, att, 'https://slsa.dev/provenance/v1'],
      ]);
      const v = cosignVerifyAttestation(path.join(keys, 'cosign.pub'), type, `${repo}:v1`);
      expect(v.ok, v.err).toBe(true);
      // cosign prints the verified envelope: its statement is about the index and carries the SBOM written to the file
      const statement = JSON.parse(Buffer.from(JSON.parse(v.out.trim().split('\n')[0]!).payload, 'base64').toString('utf8'));
      expect(statement.subject).toEqual([{ name: repo, digest: { sha256: r.push.digest.slice('sha256:'.length) } }]);
      expect(statement.predicate).toEqual(JSON.parse(readFileSync(sbomFile, 'utf8')));
      expect(cosignVerifyAttestation(path.join(keys, 'other.pub'), type, `${repo}:v1`).ok).toBe(false);
      expect(cosignVerifyAttestation(path.join(keys, 'cosign.pub'), type === 'spdxjson' ? 'cyclonedx' : 'spdxjson', `${repo}:v1`).ok).toBe(
        false,
      );
      // the same inputs make the same statement; attesting again replaces the attestations (SBOM + provenance: two layers)
      await cut(args, { COSIGN_PASSWORD: PASSWORD });
      const again = cosignVerifyAttestation(path.join(keys, 'cosign.pub'), type, `${repo}:v1`);
      expect(again.ok, again.err).toBe(true);
      expect(JSON.parse(again.out.trim().split('\n')[0]!).payload).toBe(JSON.parse(v.out.trim().split('\n')[0]!).payload);
      expect(JSON.parse(raw(`${repo}:${r.push.digest.replace(':', '-')}.att`)).layers).toHaveLength(2);
    });
  }
});

describe.skipIf(!COSIGN)('--attest: the provenance as a SLSA v1 attestation', () => {
  it('cosign verify-attestation --type slsaprovenance1 passes; the predicate names chisel-ts, the release files, the lockfile and the .debs', async () => {
    const d = tempDir('chisel-ts-provenance-');
    const repo = `${registry.addr}/chisel/provenance`;
    const lockfile = path.join(d, 'chisel-ts.lock.json');
    const common = ['--release', release, '--arch', 'amd64', '--lockfile', lockfile];
    const lock = await cli(['lock', ...common, 'hello_bins']);
    expect(lock.code, lock.err).toBe(0);
    const args = [
      'cut',
      ...common,
      '--locked',
      '--json',
      '--push',
      `${repo}:v1`,
      '--attest',
      '--sign-key',
      path.join(keys, 'cosign.key'),
      'hello_bins',
    ];
    const statementOf = async () => {
      const r = await cli(args, { COSIGN_PASSWORD: PASSWORD });
      expect(r.code, r.err).toBe(0);
      const v = cosignVerifyAttestation(path.join(keys, 'cosign.pub'), 'slsaprovenance1', `${repo}:v1`);
      expect(v.ok, v.err).toBe(true);
      return Buffer.from(JSON.parse(v.out.trim().split('\n')[0]!).payload, 'base64').toString('utf8');
    };
    const first = await statementOf();
    const statement = JSON.parse(first);
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
    const p = statement.predicate;
    expect(p.runDetails.builder.version['chisel-ts']).toBe(VERSION);
    expect(p.buildDefinition.externalParameters).toMatchObject({ slices: ['hello_bins'], archs: ['amd64'], locked: true });
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    const byName = new Map(p.buildDefinition.resolvedDependencies.map((x: any) => [x.name, x.digest.sha256]));
    expect(byName.get('release/chisel.yaml')).toBe(sha(path.join(release, 'chisel.yaml')));
    expect(byName.get('release/slices/hello.yaml')).toBe(sha(path.join(release, 'slices', 'hello.yaml')));
    expect(byName.get('lockfile/chisel-ts.lock.json')).toBe(sha(lockfile));
    const locked = JSON.parse(readFileSync(lockfile, 'utf8'));
    const lockedDebs = JSON.stringify(locked).match(/[0-9a-f]{64}/g) ?? [];
    const debs = p.buildDefinition.resolvedDependencies.filter((x: any) => x.name.endsWith('.deb'));
    expect(debs.map((x: any) => x.name)).toEqual(['hello_1.0_amd64.deb']);
    expect(lockedDebs).toContain(debs[0].digest.sha256);
    // the same inputs: the same statement
    expect(await statementOf()).toBe(first);
  });
});

describe.skipIf(!COSIGN)('build IMAGE-FILE --sign-key --attest', () => {
  it("signs the image file's push and attests its sbom: file", async () => {
    const d = tempDir('chisel-ts-build-sign-');
    expect((await cli(['keygen', path.join(d, 'k')])).code).toBe(0);
    const ref = `${registry.addr}/chisel/built:v1`;
    writeFileSync(
      path.join(d, 'image.yaml'),
      `release: ${release}\narchs: [amd64, arm64]\nslices: [hello_bins]\noutputs:\n  push: ${ref}\nsbom:\n  file: hello.spdx.json\n`,
    );
    const r = await cli(['build', path.join(d, 'image.yaml'), '--sign-key', path.join(d, 'k.key'), '--attest', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).push.signatures).toHaveLength(3);
    const v = cosignVerify(path.join(d, 'k.pub'), ref);
    expect(v.ok, v.out).toBe(true);
    const a = cosignVerifyAttestation(path.join(d, 'k.pub'), 'spdxjson', ref);
    expect(a.ok, a.err).toBe(true);
  });
});

describe('--sign-key errors', () => {
  // a push that must fail before anything is fetched or pushed
  const signedPush = (key: string, env?: NodeJS.ProcessEnv) =>
    runAsync('node', [BIN, 'cut', '--release', release, '--push', `${registry.addr}/x:y`, '--sign-key', key, 'hello_bins'], {
      env: env ?? process.env,
    });

  it('without --push, a missing key, a public key: usage errors that say what to do', async () => {
    const d = tempDir('chisel-ts-sign-err-');
    expect((await cli(['keygen', path.join(d, 'k')])).code).toBe(0);
    const noPush = await cli([
      'cut',
      '--release',
      release,
      '--tar',
      path.join(d, 'x.tar'),
      '--sign-key',
      path.join(d, 'k.key'),
      'hello_bins',
    ]);
    expect(noPush.code).toBe(2);
    expect(noPush.err).toContain('--push');
    expect(existsSync(path.join(d, 'x.tar'))).toBe(false);
    const missing = await signedPush(path.join(d, 'nope.key'));
    expect([missing.code, missing.err]).toEqual([2, expect.stringContaining('nope.key: cannot read it')]);
    const noKey = await cli(['cut', '--release', release, '--push', `${registry.addr}/x:y`, '--attest', 'hello_bins']);
    expect([noKey.code, noKey.err]).toEqual([2, expect.stringContaining('--attest signs its attestations: give --sign-key KEY')]);
    // an EC key on another curve (openssl): cosign verifies P-256 only
    tool('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', path.join(d, 'p384.key')]);
    const p384 = await signedPush(path.join(d, 'p384.key'));
    expect([p384.code, p384.err]).toEqual([2, expect.stringContaining('secp384r1 key, not ECDSA P-256')]);
    const pub = await signedPush(path.join(d, 'k.pub'));
    expect([pub.code, pub.err]).toEqual([2, expect.stringContaining('"PUBLIC KEY" block is not a private key')]);
  });

  it.skipIf(!COSIGN)('a cosign key with a wrong COSIGN_PASSWORD, or none', async () => {
    const wrong = await signedPush(path.join(keys, 'cosign.key'), { ...process.env, COSIGN_PASSWORD: 'not-the-password' });
    expect([wrong.code, wrong.err]).toEqual([2, expect.stringContaining('wrong password')]);
    const env = { ...process.env };
    delete env.COSIGN_PASSWORD;
    const unset = await signedPush(path.join(keys, 'cosign.key'), env);
    expect([unset.code, unset.err]).toEqual([2, expect.stringContaining('COSIGN_PASSWORD is not set')]);
  });
});
