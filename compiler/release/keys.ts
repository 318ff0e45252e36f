// Public keys of a release: the armored block is decoded with openpgp and its
// primary key id must equal `id`. Chisel's single-packet form and full
// certificates (primary key plus subkeys, as Debian uses) are both accepted.

import * as openpgp from 'openpgp';

/** The primary key's id (16 upper-case hex digits), or an error message. */
export async function armoredKeyId(armor: string): Promise<{ id?: string; error?: string }> {
  try {
    const { data } = await openpgp.unarmor(armor);
    const packets = await openpgp.PacketList.fromBinary(data as Uint8Array, allowed() as never, { ...openpgp.config, ignoreUnsupportedPackets: true, ignoreMalformedPackets: true } as never);
    const primary = packets.find((p) => p instanceof openpgp.PublicKeyPacket && !(p instanceof openpgp.PublicSubkeyPacket));
    if (!primary) return { error: 'the armored block holds no public key packet' };
    return { id: (primary as openpgp.PublicKeyPacket).getKeyID().toHex().toUpperCase() };
  } catch (e) {
    return { error: `cannot decode the armored key: ${(e as Error).message}` };
  }
}

function allowed(): Record<number, unknown> {
  const t = openpgp.enums.packet;
  return {
    [t.publicKey]: openpgp.PublicKeyPacket,
    [t.publicSubkey]: openpgp.PublicSubkeyPacket,
    [t.userID]: openpgp.UserIDPacket,
    [t.signature]: openpgp.SignaturePacket,
    [t.userAttribute]: openpgp.UserAttributePacket,
  };
}
