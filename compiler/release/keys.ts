// Public keys of a release: the armored block is decoded with openpgp and its
// primary key id must equal `id`. Chisel's single-packet form and full
// certificates (primary key plus subkeys, as Debian uses) are both accepted.
//
// Loading openpgp and decoding a release's keys takes ~40 ms of CPU: when the
// compiled worker (keyworker.js) is there, it runs on another thread while
// the loader parses the slice files (unless the command loads openpgp on the
// main thread anyway: see LoadOptions.keysHere).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface KeyIdResult {
  /** The primary key's id, 16 upper-case hex digits. */
  id?: string;
  error?: string;
}

/**
 * The primary key id of each armored key, in order: in a worker thread when
 * available, or on this thread with `here` (for a command that loads openpgp
 * here anyway: one openpgp instead of two, and no thread to start).
 */
export async function armoredKeyIds(armors: string[], opts: { here?: boolean } = {}): Promise<KeyIdResult[]> {
  if (armors.length === 0) return [];
  const worker = new URL('./keyworker.js', import.meta.url);
  if (opts.here || !existsSync(fileURLToPath(worker))) return Promise.all(armors.map(armoredKeyId));
  try {
    return await new Promise<KeyIdResult[]>((resolve, reject) => {
      const w = new Worker(worker, { workerData: armors });
      w.once('message', (r: KeyIdResult[]) => resolve(r));
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`key worker exited with code ${code}`)));
    });
  } catch {
    // A thread that cannot start (resource limits): decode here.
    return Promise.all(armors.map(armoredKeyId));
  }
}

/** The primary key's id (16 upper-case hex digits), or an error message. */
export async function armoredKeyId(armor: string): Promise<KeyIdResult> {
  const openpgp = await import('openpgp');
  try {
    const { data } = await openpgp.unarmor(armor);
    const t = openpgp.enums.packet;
    const allowed = {
      [t.publicKey]: openpgp.PublicKeyPacket,
      [t.publicSubkey]: openpgp.PublicSubkeyPacket,
      [t.userID]: openpgp.UserIDPacket,
      [t.signature]: openpgp.SignaturePacket,
      [t.userAttribute]: openpgp.UserAttributePacket,
    };
    const packets = await openpgp.PacketList.fromBinary(data as Uint8Array, allowed as never, { ...openpgp.config, ignoreUnsupportedPackets: true, ignoreMalformedPackets: true } as never);
    const primary = packets.find((p) => p instanceof openpgp.PublicKeyPacket && !(p instanceof openpgp.PublicSubkeyPacket));
    if (!primary) return { error: 'the armored block holds no public key packet' };
    return { id: (primary as InstanceType<typeof openpgp.PublicKeyPacket>).getKeyID().toHex().toUpperCase() };
  } catch (e) {
    return { error: `cannot decode the armored key: ${(e as Error).message}` };
  }
}
