// Verified downloads into the content store, and the errors they raise as
// the user sees them (shared by the main thread and the index worker).

import { HashMismatchError, type ContentStore } from '../cache/store.js';
import { ChiselError, ExitCode, localError } from '../util/errors.js';
import { HttpStatusError, httpGetOnce, withRetries, type HttpOptions } from './http.js';

/** Download `url` into the store, verified against `sha256`, with retries; `tap` (called once per attempt) also sees every chunk. */
export async function downloadVerified(
  store: ContentStore,
  url: string,
  sha256: string,
  what: string,
  http: HttpOptions = {},
  tap?: () => (chunk: Uint8Array) => void,
): Promise<void> {
  await withRetries(url, http, async () => {
    const { body } = await httpGetOnce(url, http.timeoutMs ?? 30_000, http.authorization);
    const see = tap?.();
    await store.putStream(see ? teed(body, see) : body, sha256, what);
  }).catch((e: unknown) => {
    throw archiveError(e, what);
  });
}

async function* teed(src: AsyncIterable<Uint8Array>, see: (chunk: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of src) {
    see(chunk);
    yield chunk;
  }
}

export function archiveError(e: unknown, what: string): ChiselError {
  if (e instanceof ChiselError) return e;
  // the local disk (a full or read-only cache) is not the network
  const local = localError(e);
  if (local)
    return new ChiselError(`${what}: ${local.message}`, { code: local.code, exitCode: local.exitCode, hint: local.hint!, cause: e });
  if (e instanceof HttpStatusError) {
    const hint =
      e.status === 404
        ? 'the archive no longer serves this file (superseded version?) or the archive URL is wrong; check --archive-url / APT sources'
        : e.status === 401 || e.status === 403
          ? 'the archive needs credentials or refuses access'
          : 'the server failed; try again later or use another mirror';
    return new ChiselError(`${what}: ${e.message}`, { code: `http-${e.status}`, exitCode: ExitCode.ARCHIVE, hint });
  }
  const err = e as Error;
  if (e instanceof HashMismatchError)
    return new ChiselError(`${what}: ${err.message} — the download does not match the signed index; refusing it`, {
      code: 'hash-mismatch',
      exitCode: ExitCode.ARCHIVE,
      hint: 'the mirror may be corrupt or tampered with; try another mirror',
    });
  return new ChiselError(`${what}: ${err?.message ?? String(e)}`, {
    code: 'network',
    exitCode: ExitCode.ARCHIVE,
    hint: 'check the network and the archive URL',
  });
}
