// The file worker (see dir.ts): makes a root's entries from the back of the
// list (entries.ts) while the main thread works from the front.

import { parentPort } from 'node:worker_threads';
import { serializeError, type SerializedError } from '../util/errors.js';
import { makeEntries, type Claims, type EntryJob } from './entries.js';

export interface FileWork {
  jobs: EntryJob[];
  claims: Claims;
  mtime: number;
}
export type FileWorkReply = { ok: true; made: number; bad: string[] } | { ok: false; error: SerializedError };

parentPort!.once('message', (w: FileWork) => {
  makeEntries(w.jobs, w.claims, -1, w.mtime).then(
    ({ made, bad }) => parentPort!.postMessage({ ok: true, made, bad } satisfies FileWorkReply),
    (e: unknown) => parentPort!.postMessage({ ok: false, error: serializeError(e) } satisfies FileWorkReply),
  );
});
