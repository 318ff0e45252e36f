// Signing keys: an ECDSA P-256 private key, from a cosign key file (made by
// `cosign generate-key-pair`: "ENCRYPTED SIGSTORE PRIVATE KEY", the PKCS#8 key
// sealed with NaCl secretbox under a key derived from the password with
// scrypt) or a plain PKCS#8 / SEC1 PEM; and `chisel-ts keygen`'s key pairs.
// scrypt, ECDSA and the key formats are node's crypto; secretbox
// (XSalsa20-Poly1305), which node lacks, is tweetnacl's.

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, scrypt } from 'node:crypto';
import { promises as fs } from 'node:fs';
import nacl from 'tweetnacl';
import { ChiselError, ExitCode } from '../util/errors.js';

export interface SigningKey {
  /** The key file, for messages. */
  file: string;
  key: KeyObject;
  /** SPKI PEM of the public key (what `cosign verify --key` takes). */
  publicPem: string;
}

/** Labels of the encrypted PEM cosign writes (the older one from cosign before 2.0). */
const ENCRYPTED_LABELS = ['ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY'];

interface EncryptedKey {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

function keyError(file: string, what: string, hint: string, cause?: unknown): ChiselError {
  return new ChiselError(`signing key ${file}: ${what}`, {
    code: 'sign-key',
    exitCode: ExitCode.USAGE,
    hint,
    ...(cause !== undefined ? { cause } : {}),
  });
}

const KEY_HINT = 'give a key made by `cosign generate-key-pair` or `chisel-ts keygen` (a PKCS#8 EC P-256 PEM)';

/** Reads and opens the private key in `file`; `password` opens a cosign-encrypted key (default: $COSIGN_PASSWORD). */
export async function loadSigningKey(file: string, password = process.env.COSIGN_PASSWORD): Promise<SigningKey> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw keyError(file, `cannot read it: ${(e as Error).message}`, 'give the path of the private key file to --sign-key', e);
  }
  const m = /-----BEGIN ([A-Z ]+)-----\s*([\s\S]*?)\s*-----END \1-----/.exec(text);
  if (!m) throw keyError(file, 'no PEM block in it', KEY_HINT);
  const label = m[1]!;
  let key: KeyObject;
  if (ENCRYPTED_LABELS.includes(label)) {
    if (password === undefined)
      throw keyError(file, 'it is encrypted and COSIGN_PASSWORD is not set', 'set COSIGN_PASSWORD to the password of the key pair');
    key = await decryptCosignKey(file, Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64'), password);
  } else if (label === 'PRIVATE KEY' || label === 'EC PRIVATE KEY') {
    try {
      key = createPrivateKey({ key: m[0], format: 'pem' });
    } catch (e) {
      throw keyError(file, `not a valid ${label}: ${(e as Error).message}`, KEY_HINT, e);
    }
  } else if (label === 'ENCRYPTED PRIVATE KEY') {
    throw keyError(file, 'a password-protected PKCS#8 key is not supported', `${KEY_HINT}, or decrypt it with \`openssl pkcs8\``);
  } else {
    throw keyError(file, `a "${label}" block is not a private key`, KEY_HINT);
  }
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType !== 'ec' || d?.namedCurve !== 'prime256v1')
    throw keyError(
      file,
      `it is a ${key.asymmetricKeyType}${d?.namedCurve ? ` ${d.namedCurve}` : ''} key, not ECDSA P-256`,
      `${KEY_HINT}; cosign verifies ECDSA P-256 signatures made with SHA-256`,
    );
  const publicPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return { file, key, publicPem };
}

async function decryptCosignKey(file: string, der: Buffer, password: string): Promise<KeyObject> {
  let doc: EncryptedKey;
  try {
    doc = JSON.parse(der.toString('utf8')) as EncryptedKey;
  } catch (e) {
    throw keyError(file, 'its encrypted block is not the JSON cosign writes', KEY_HINT, e);
  }
  if (doc?.kdf?.name !== 'scrypt' || doc.cipher?.name !== 'nacl/secretbox')
    throw keyError(
      file,
      `unsupported encryption ${doc?.kdf?.name ?? '?'} + ${doc?.cipher?.name ?? '?'}`,
      'cosign keys use scrypt + nacl/secretbox',
    );
  const { N, r, p } = doc.kdf.params;
  const salt = Buffer.from(doc.kdf.salt, 'base64');
  const derived = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, nacl.secretbox.keyLength, { N, r, p, maxmem: 256 * N * r * p }, (err, k) => (err ? reject(err) : resolve(k))),
  ).catch((e: unknown) => {
    throw keyError(file, `scrypt(N=${N}, r=${r}, p=${p}) failed: ${(e as Error).message}`, KEY_HINT, e);
  });
  const opened = nacl.secretbox.open(
    Buffer.from(doc.ciphertext, 'base64'),
    Buffer.from(doc.cipher.nonce, 'base64'),
    new Uint8Array(derived),
  );
  if (!opened)
    throw keyError(
      file,
      'wrong password (COSIGN_PASSWORD), or the key file is damaged',
      'set COSIGN_PASSWORD to the password the key pair was made with',
    );
  try {
    return createPrivateKey({ key: Buffer.from(opened), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw keyError(file, `the decrypted key is not PKCS#8: ${(e as Error).message}`, KEY_HINT, e);
  }
}

/** A new ECDSA P-256 key pair: the private key as PKCS#8 PEM, the public key as SPKI PEM. */
export function generateKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
