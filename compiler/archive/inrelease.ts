// InRelease: a cleartext-signed Release file. Verified with openpgp against
// the archive's keys (full certificates: a signature by any valid signing
// subkey counts; signatures by keys the archive does not trust are ignored
// when another one verifies). Verification results are cached in the store's
// meta by sha256 of the InRelease bytes and the trusted key ids, so a warm run
// does no public-key crypto; Valid-Until is checked on every use.

import type * as openpgp from 'openpgp';
import type { ContentStore } from '../cache/store.js';
import { sha256Hex } from '../cache/store.js';
import type { PublicKeyDef } from '../release/model.js';
import { ChiselError, ExitCode } from '../util/errors.js';

export interface ReleaseFileEntry {
  sha256: string;
  size: number;
}

export interface InReleaseInfo {
  /** sha256 of the InRelease bytes. */
  sha256: string;
  suite?: string;
  codename?: string;
  date: string;
  dateParsed?: Date;
  validUntil?: Date;
  acquireByHash: boolean;
  components: string[];
  architectures: string[];
  /** path relative to dists/<suite>/ -> SHA256 entry. */
  files: Map<string, ReleaseFileEntry>;
  /** Key ids (16 upper-case hex) whose signatures verified. */
  signers: string[];
}

export interface Ctx {
  archive: string;
  suite: string;
}

/** The signed text of a cleartext-signed message (dash-escaping removed), without crypto. */
export function cleartextBody(text: string): string {
  const begin = text.indexOf('-----BEGIN PGP SIGNED MESSAGE-----');
  if (begin < 0) throw new Error('not a cleartext-signed message (no BEGIN PGP SIGNED MESSAGE)');
  // Armor headers ("Hash: SHA256") end at the first empty line.
  let start = text.indexOf('\n', begin);
  const blank = text.search(/\n\r?\n/);
  if (blank < 0 || start < 0) throw new Error('truncated cleartext-signed message');
  start = text.indexOf('\n', blank + 1) + 1;
  const end = text.indexOf('\n-----BEGIN PGP SIGNATURE-----', start - 1);
  if (end < 0) throw new Error('cleartext-signed message without a signature');
  const body = text.slice(start, end);
  return body
    .split('\n')
    .map((l) => (l.startsWith('- ') ? l.slice(2) : l).replace(/\r$/, ''))
    .join('\n');
}

/** A Release file's date ("Sat, 01 Nov 2026 09:12:01 UTC"); undefined when it is not one. */
export function parseReleaseDate(s: string | undefined): Date | undefined {
  if (!s) return undefined;
  const d = new Date(s.replace(/\s+UTC$/, ' GMT'));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Parse the fields of a Release file (the signed body of InRelease). */
export function parseReleaseFields(body: string): Omit<InReleaseInfo, 'sha256' | 'signers'> {
  const fields = new Map<string, string>();
  let cur: string | undefined;
  for (const line of body.split('\n')) {
    if (line === '') continue;
    if (line[0] === ' ' || line[0] === '\t') {
      if (cur !== undefined) fields.set(cur, `${fields.get(cur)!}\n${line.trim()}`);
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    cur = line.slice(0, i);
    fields.set(cur, line.slice(i + 1).trim());
  }
  const files = new Map<string, ReleaseFileEntry>();
  for (const l of (fields.get('SHA256') ?? '').split('\n')) {
    const m = /^([0-9a-fA-F]{64})\s+([0-9]+)\s+(\S+)$/.exec(l.trim());
    if (m) files.set(m[3]!, { sha256: m[1]!.toLowerCase(), size: Number(m[2]) });
  }
  const date = fields.get('Date') ?? '';
  const vu = parseReleaseDate(fields.get('Valid-Until'));
  const dp = parseReleaseDate(date);
  const suite = fields.get('Suite');
  const codename = fields.get('Codename');
  return {
    ...(suite !== undefined ? { suite } : {}),
    ...(codename !== undefined ? { codename } : {}),
    date,
    ...(dp ? { dateParsed: dp } : {}),
    ...(vu ? { validUntil: vu } : {}),
    acquireByHash: (fields.get('Acquire-By-Hash') ?? '').toLowerCase() === 'yes',
    components: (fields.get('Components') ?? '').split(/\s+/).filter(Boolean),
    architectures: (fields.get('Architectures') ?? '').split(/\s+/).filter(Boolean),
    files,
  };
}

// Parsed certificates, by armor text (reading a 4096-bit certificate costs ~15 ms).
const keyCache = new Map<string, Promise<openpgp.PublicKey[]>>();

/** openpgp is loaded only when a signature is verified (a warm run has the verdict cached). */
function pgp(): Promise<typeof openpgp> {
  return import('openpgp');
}

/** Starts loading openpgp while an InRelease downloads, when its verdict will not be in the cache. */
export function preloadVerifier(): void {
  pgp().catch(() => undefined);
}

function readKeys(def: PublicKeyDef): Promise<openpgp.PublicKey[]> {
  let p = keyCache.get(def.armor);
  if (!p) {
    p = pgp()
      .then((m) => m.readKeys({ armoredKeys: def.armor }))
      .catch((e: unknown) => {
        keyCache.delete(def.armor);
        throw new ChiselError(`public key ${def.name} (${def.id}): cannot read the armored key: ${(e as Error).message}`, {
          code: 'bad-key',
          exitCode: ExitCode.FAILURE,
          cause: e,
        });
      });
    keyCache.set(def.armor, p);
  }
  return p;
}

function hex(id: { toHex(): string }): string {
  return id.toHex().toUpperCase();
}

/** "B7C5D7D6350947F8 (debian-archive-12; subkeys 6ED0E7B82643E131)" for each key. */
async function describeTrusted(keys: PublicKeyDef[]): Promise<string> {
  const parts: string[] = [];
  for (const def of keys) {
    const certs = await readKeys(def).catch(() => []);
    const subs = certs.flatMap((c) => c.getSubkeys().map((s) => hex(s.getKeyID())));
    parts.push(`${def.id} (${def.name}${subs.length ? `; subkeys ${subs.join(', ')}` : ''})`);
  }
  return parts.join(', ') || '(none)';
}

function keySetId(keys: PublicKeyDef[]): string {
  return sha256Hex(
    keys
      .map((k) => `${k.id}\n${sha256Hex(k.armor)}`)
      .sort()
      .join('\n'),
  ).slice(0, 16);
}

interface VerifiedMeta {
  v: 1;
  signers: string[];
}

/**
 * Verify InRelease bytes against the archive's keys and parse them. Refuses
 * (ChiselError code 'bad-signature') when no signature by a trusted key
 * verifies; the message names the signing key ids and the trusted ones.
 * Valid-Until is not checked here (see checkValidUntil).
 */
export async function verifyInRelease(bytes: Uint8Array, keys: PublicKeyDef[], ctx: Ctx, store?: ContentStore): Promise<InReleaseInfo> {
  const sum = sha256Hex(bytes);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const where = `archive ${ctx.archive} suite ${ctx.suite}`;
  const metaKey = `${sum}-${keySetId(keys)}`;
  const cached = store ? await store.getMeta<VerifiedMeta>('inrelease-verified', metaKey) : undefined;
  let body: string;
  let signers: string[];
  if (cached?.v === 1 && cached.signers.length > 0) {
    try {
      body = cleartextBody(text);
    } catch (e) {
      throw new ChiselError(`${where}: InRelease: ${(e as Error).message}`, { code: 'bad-inrelease', exitCode: ExitCode.ARCHIVE });
    }
    signers = cached.signers;
  } else {
    let message: openpgp.CleartextMessage;
    try {
      message = await (await pgp()).readCleartextMessage({ cleartextMessage: text });
    } catch (e) {
      throw new ChiselError(`${where}: InRelease is not a valid cleartext-signed message: ${(e as Error).message}`, {
        code: 'bad-inrelease',
        exitCode: ExitCode.ARCHIVE,
      });
    }
    const certs = (await Promise.all(keys.map(readKeys))).flat();
    const result = await (await pgp()).verify({ message, verificationKeys: certs, expectSigned: false });
    const signedBy: string[] = [];
    const failures: string[] = [];
    signers = [];
    for (const s of result.signatures) {
      const id = hex(s.keyID);
      signedBy.push(id);
      try {
        if (await s.verified) signers.push(id);
      } catch (e) {
        const m = (e as Error).message;
        if (!/Could not find signing key/i.test(m)) failures.push(`${id}: ${m}`);
      }
    }
    if (signers.length === 0) {
      const trusted = await describeTrusted(keys);
      const why = failures.length
        ? `; verification failed: ${failures.join('; ')}`
        : signedBy.length
          ? ' (none of them is a key of the archive)'
          : '';
      throw new ChiselError(
        `${where}: InRelease signature not verified: signed by ${signedBy.join(', ') || 'no key'}${why}; trusted keys: ${trusted}`,
        {
          code: 'bad-signature',
          exitCode: ExitCode.ARCHIVE,
          hint: 'check the archive URL (a different archive or a tampered mirror?) and the public-keys of the archive in chisel.yaml',
        },
      );
    }
    body = message.getText();
    if (store) await store.putMeta('inrelease-verified', metaKey, { v: 1, signers } satisfies VerifiedMeta);
  }
  return { sha256: sum, signers, ...parseReleaseFields(body) };
}

/** Refuse an InRelease past its Valid-Until. */
export function checkValidUntil(info: InReleaseInfo, now: Date, ctx: Ctx): void {
  if (info.validUntil && info.validUntil.getTime() < now.getTime()) {
    throw new ChiselError(
      `archive ${ctx.archive} suite ${ctx.suite}: InRelease expired: Valid-Until ${info.validUntil.toUTCString()} is before now (${now.toUTCString()}); Date ${info.date}`,
      {
        code: 'inrelease-expired',
        exitCode: ExitCode.ARCHIVE,
        hint: 'the mirror is stale or replaying an old InRelease: use an up-to-date mirror (--archive-url), or run online to refresh the cache',
      },
    );
  }
}
