// chisel-ts keygen: an ECDSA P-256 key pair for --sign-key. The private key
// is a plain PKCS#8 PEM (mode 0600; keep it in a secret store), the public
// key an SPKI PEM, which `cosign verify --key` takes.

import { promises as fs } from 'node:fs';
import type { Command } from 'commander';
import { generateKeyPair } from '../registry/keys.js';
import { ChiselError, localError } from '../util/errors.js';

export function register(program: Command): void {
  program
    .command('keygen')
    .description('make an ECDSA P-256 key pair for --sign-key: PREFIX.key (PKCS#8 PEM) and PREFIX.pub (SPKI PEM, for cosign verify --key)')
    .argument('[prefix]', 'file name prefix', 'chisel-ts')
    .action(async (prefix: string) => {
      const { privatePem, publicPem } = generateKeyPair();
      const keyFile = `${prefix}.key`;
      const pubFile = `${prefix}.pub`;
      for (const f of [keyFile, pubFile]) {
        if (await fs.stat(f).catch(() => undefined))
          throw new ChiselError(`${f} exists; not overwriting a key`, {
            code: 'exists',
            hint: 'remove it, or give another prefix: chisel-ts keygen PREFIX',
          });
      }
      try {
        await fs.writeFile(keyFile, privatePem, { mode: 0o600, flag: 'wx' });
        await fs.writeFile(pubFile, publicPem, { flag: 'wx' });
      } catch (e) {
        throw localError(e, 'output', keyFile) ?? e;
      }
      process.stderr.write(`private key written to ${keyFile}\npublic key written to ${pubFile}\n`);
    });
}
