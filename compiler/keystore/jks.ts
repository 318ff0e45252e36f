// A Java trust store (JKS) of X.509 certificates, written byte-reproducibly.
//
// JKS is what Debian's ca-certificates-java writes to
// /etc/ssl/certs/java/cacerts and what every JDK reads as a trust store
// (keystore.type.compat lets a PKCS12 default read it too). Layout: magic
// FEEDFEED, version 2, entry count, then per entry tag 2 (trusted
// certificate), alias, creation time (ms), "X.509" and the DER bytes; last a
// SHA-1 over the UTF-16BE password, "Mighty Aphrodite" and everything before.
// The creation time is the certificate's notBefore and the entries are sorted
// by alias, so the bytes depend only on the set of certificates.

import { createHash, X509Certificate } from 'node:crypto';

export interface TrustedEntry {
  alias: string;
  /** ms since the epoch: the certificate's notBefore. */
  date: number;
  der: Buffer;
}

const PEM = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/** The DER certificates of a PEM bundle, in order; throws on a block that is not a certificate. */
export function pemCertificates(pem: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of pem.matchAll(PEM)) {
    const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
    try {
      new X509Certificate(der);
    } catch (e) {
      throw new Error(`certificate ${out.length + 1} of the bundle does not parse: ${(e as Error).message}`);
    }
    out.push(der);
  }
  return out;
}

/** One trusted entry per distinct certificate, sorted by alias. */
export function trustedEntries(ders: Buffer[]): TrustedEntry[] {
  const byHash = new Map<string, TrustedEntry>();
  for (const der of ders) {
    const hash = createHash('sha256').update(der).digest('hex');
    if (byHash.has(hash)) continue;
    const cert = new X509Certificate(der);
    byHash.set(hash, { alias: `${aliasName(cert.subject)} [${hash.slice(0, 12)}]`, date: Date.parse(cert.validFrom), der });
  }
  return [...byHash.values()].sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0));
}

/** The subject's CN (else OU, else O), folded to lower-case ASCII: JKS aliases are case-insensitive. */
function aliasName(subject: string): string {
  const fields = new Map<string, string>();
  for (const line of subject.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && !fields.has(line.slice(0, i))) fields.set(line.slice(0, i), line.slice(i + 1));
  }
  const name = fields.get('CN') ?? fields.get('OU') ?? fields.get('O') ?? 'certificate';
  const ascii = name
    .normalize('NFKD')
    .replace(/[^\x20-\x7e]/g, '')
    .trim()
    .toLowerCase();
  return ascii || 'certificate';
}

/** The JKS bytes of `entries` (already sorted), sealed with `password`. */
export function encodeJks(entries: TrustedEntry[], password: string): Buffer {
  const parts: Buffer[] = [u32(0xfeedfeed), u32(2), u32(entries.length)];
  for (const e of entries) {
    parts.push(u32(2), utf(e.alias), u64(e.date), utf('X.509'), u32(e.der.length), e.der);
  }
  const body = Buffer.concat(parts);
  const pw = Buffer.alloc(password.length * 2);
  for (let i = 0; i < password.length; i++) pw.writeUInt16BE(password.charCodeAt(i), i * 2);
  const digest = createHash('sha1').update(pw).update('Mighty Aphrodite', 'utf8').update(body).digest();
  return Buffer.concat([body, digest]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

/** Java's DataOutput.writeUTF of an ASCII string (aliases are folded to ASCII). */
function utf(s: string): Buffer {
  const data = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from([data.length >> 8, data.length & 0xff]), data]);
}
