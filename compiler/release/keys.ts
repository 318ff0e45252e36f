// Public keys of a release: the armored block is decoded with openpgp and its
// primary key id must equal `id`. Chisel's single-packet form and full
// certificates (primary key plus subkeys, as Debian uses) are both accepted.
//
// openpgp is loaded on first use, on the main thread: a worker thread for the
// keys (tried) cost more CPU than it saved on these 2-core machines, and a cut
// loads openpgp there anyway to verify InRelease files.

export interface KeyIdResult {
  /** The primary key's id, 16 upper-case hex digits. */
  id?: string;
  error?: string;
}

/** The primary key id of each armored key, in order. */
export async function armoredKeyIds(armors: string[]): Promise<KeyIdResult[]> {
  return Promise.all(armors.map(armoredKeyId));
}

/** The primary key's id (16 upper-case hex digits), or an error message. */
export async function armoredKeyId(armor: string): Promise<KeyIdResult> {
  if (armorChecksumMismatch(armor))
    return { error: 'armor invalid: its checksum (the "=" line) does not match its data; copy the key block again from its source' };
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
    const packets = await openpgp.PacketList.fromBinary(
      data as Uint8Array,
      allowed as never,
      { ...openpgp.config, ignoreUnsupportedPackets: true, ignoreMalformedPackets: true } as never,
    );
    const primary = packets.find((p) => p instanceof openpgp.PublicKeyPacket && !(p instanceof openpgp.PublicSubkeyPacket));
    if (!primary) return { error: 'the armored block holds no public key packet' };
    return { id: (primary as InstanceType<typeof openpgp.PublicKeyPacket>).getKeyID().toHex().toUpperCase() };
  } catch (e) {
    return { error: `cannot decode the armored key: ${(e as Error).message}` };
  }
}

/**
 * Whether the armor's checksum line (RFC 4880 6.1: "=" and the base64 of a
 * CRC-24 of the data) is there and does not match: openpgp.js does not check
 * it, Chisel (Go's armor reader) refuses the key. A block without one is
 * accepted, as by Chisel.
 */
export function armorChecksumMismatch(armor: string): boolean {
  const lines = armor.split('\n').map((l) => l.trim());
  const begin = lines.findIndex((l) => /^-----BEGIN PGP [A-Z ]+-----$/.test(l));
  if (begin === -1) return false;
  let i = begin + 1;
  while (i < lines.length && lines[i] !== '' && lines[i]!.includes(':')) i++; // armor headers
  if (lines[i] === '') i++;
  const body: string[] = [];
  for (; i < lines.length && !lines[i]!.startsWith('-----'); i++) {
    const l = lines[i]!;
    if (/^=[A-Za-z0-9+/]{4}$/.test(l)) {
      const want = Buffer.from(l.slice(1), 'base64');
      return crc24(Buffer.from(body.join(''), 'base64')) !== ((want[0]! << 16) | (want[1]! << 8) | want[2]!);
    }
    body.push(l);
  }
  return false;
}

function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let k = 0; k < 8; k++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}
