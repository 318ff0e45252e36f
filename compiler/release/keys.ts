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
