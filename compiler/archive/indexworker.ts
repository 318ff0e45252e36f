// The index worker (see indexhost.ts): loads Packages indexes and answers
// lookups by package name, on its own thread.

import { parentPort } from 'node:worker_threads';
import { ContentStore } from '../cache/store.js';
import { serializeError } from '../util/errors.js';
import { TableSet, type IndexReply, type IndexRequest } from './indexhost.js';

const sets = new Map<string, TableSet>();
const port = parentPort!;
const reply = (m: IndexReply): void => port.postMessage(m);

port.on('message', (req: IndexRequest) => {
  let set = sets.get(req.root);
  if (!set) {
    set = new TableSet(new ContentStore(req.root));
    sets.set(req.root, set);
  }
  if (req.op === 'load') {
    set.load(req.job).then(
      ({ cached, storing }) => {
        reply({ id: req.id, ok: true, cached, storing: Boolean(storing) });
        storing?.finally(() => reply({ id: req.id, stored: true })).catch(() => undefined);
      },
      (e: unknown) => reply({ id: req.id, ok: false, error: serializeError(e) }),
    );
  } else {
    set.lookup(req.sha256, req.name).then(
      (rows) => reply({ id: req.id, ok: true, rows }),
      (e: unknown) => reply({ id: req.id, ok: false, error: serializeError(e) }),
    );
  }
});
