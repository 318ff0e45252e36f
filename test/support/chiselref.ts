// The reference Chisel (../shared/tools/chisel-v1.4.1/chisel) as a test
// oracle on a hermetic TestArchive. Chisel knows only the Ubuntu archive
// hosts, over plain HTTP, and honours HTTP_PROXY: a proxy on 127.0.0.1
// answers every request from the TestArchive's files (the first path segment,
// the archive's base path, dropped), so Chisel cuts the same .debs as
// chisel-ts. The archive must be signed with an RSA key (generateKey(_, 'rsa'))
// and labelled "Ubuntu" (archive.label).

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { zstdDecompress } from '../../compiler/util/zstd.js';
import { tempDir } from './cutenv.js';
import { runAsync, type Run } from './proc.js';
import type { TestArchive } from './testarchive.js';

export const REFERENCE_CHISEL = path.resolve(__dirname, '..', '..', '..', 'shared', 'tools', 'chisel-v1.4.1', 'chisel');
export const referencePresent = existsSync(REFERENCE_CHISEL);

export interface ChiselProxy {
  /** The environment for Chisel: the proxy, and a cache of its own. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function proxyTo(archive: TestArchive): Promise<ChiselProxy> {
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://proxy.invalid').pathname.replace(/^\/[^/]*\//, '');
    const body = archive.files.get(p);
    if (!body) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    env: { ...process.env, HTTP_PROXY: proxy, http_proxy: proxy, NO_PROXY: '', no_proxy: '', XDG_CACHE_HOME: tempDir('chisel-ref-cache-') },
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** `chisel cut` of the release directory into a new root; the root is returned with the run. */
export async function chiselCut(releaseDir: string, slices: string[], env: NodeJS.ProcessEnv): Promise<Run & { root: string }> {
  const root = path.join(tempDir('chisel-ref-root-'), 'root');
  mkdirSync(root);
  const r = await runAsync(REFERENCE_CHISEL, ['cut', '--release', `${releaseDir}/`, '--root', root, ...slices], { env });
  return { ...r, root };
}

/** The decompressed /var/lib/chisel/manifest.wall of a root, or undefined when it has none. */
export async function readWall(root: string, at = 'var/lib/chisel/manifest.wall'): Promise<string | undefined> {
  const file = path.join(root, at);
  if (!existsSync(file)) return undefined;
  return (await zstdDecompress(readFileSync(file))).toString('utf8');
}
