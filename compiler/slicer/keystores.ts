// Java trust stores (`keystores:` of a slice, a chisel-ts extension): after
// the mutate scripts, each store's mutable path gets the JKS built from the
// PEM bundles the cut tree holds, as ca-certificates-java does at install
// time. The bytes depend only on the certificates (keystore/jks.ts).

import { posix } from 'node:path';
import { sliceKey, type KeystoreDef, type SliceDef } from '../release/model.js';
import { encodeJks, pemCertificates, trustedEntries } from '../keystore/jks.js';
import { ChiselError } from '../util/errors.js';
import type { ContentReader, ContentStore } from '../cache/store.js';
import type { BuiltTree, Node } from './build.js';
import type { Selection } from './selection.js';

export async function writeKeystores(sel: Selection, built: BuiltTree, store: ContentStore): Promise<void> {
  const stores = sel.slices.flatMap((s) => (s.keystores ?? []).map((k) => ({ slice: s, keystore: k })));
  if (stores.length === 0) return;
  const reader = store.contentReader();
  try {
    for (const { slice, keystore } of stores) await writeKeystore(slice, keystore, built, store, reader);
  } finally {
    reader.close();
  }
}

async function writeKeystore(
  slice: SliceDef,
  ks: KeystoreDef,
  built: BuiltTree,
  store: ContentStore,
  reader: ContentReader,
): Promise<void> {
  const key = sliceKey(slice.package, slice.name);
  const fail = (msg: string): never => {
    throw new ChiselError(`${ks.pos ? `${ks.pos.file}: ` : ''}slice ${key}: keystore ${ks.path}: ${msg}`, {
      code: 'keystore',
      location: { subject: key, ...(ks.pos ? { file: ks.pos.file, line: ks.pos.line, col: ks.pos.col } : {}) },
    });
  };
  const target = built.nodes.get(built.resolve(ks.path));
  if (target?.entry.type !== 'file') return fail('is not a file of the cut (is it listed in contents?)');
  const ders: Buffer[] = [];
  for (const c of ks.certificates) {
    const node = followLinks(built, c);
    if (!node) return fail(`certificates: ${c} is not part of the selected slices; add the slice that ships it to essential`);
    if (node.entry.type !== 'file' && node.entry.type !== 'hardlink') return fail(`certificates: ${c} is not a file`);
    const sha = node.entry.sha256 ?? built.nodes.get(node.entry.link ?? '')?.entry.sha256;
    if (!sha) return fail(`certificates: ${c} has no content`);
    try {
      ders.push(...pemCertificates(reader.read(sha).toString('latin1')));
    } catch (e) {
      return fail(`certificates: ${c}: ${(e as Error).message}`);
    }
  }
  const entries = trustedEntries(ders);
  if (entries.length === 0) return fail(`no certificates found in ${ks.certificates.join(', ')}`);
  const data = encodeJks(entries, ks.password);
  target.entry.sha256 = await store.putBuffer(data);
  target.entry.size = data.length;
  target.slices.add(key);
}

/** The node a path names, following symlinks (at most 16) through the tree. */
function followLinks(built: BuiltTree, path: string): Node | undefined {
  let p = path;
  for (let hops = 0; hops < 16; hops++) {
    const node = built.nodes.get(built.resolve(p));
    if (node?.entry.type !== 'symlink') return node;
    const link = node.entry.link!;
    p = link.startsWith('/') ? link : posix.join(posix.dirname(node.entry.path), link);
  }
  return undefined;
}
