// The hash worker: checks stored content (hashcheck.ts) on its own thread,
// so a write of the outputs goes on meanwhile (ContentStore.checkContentsAside).

import { parentPort, workerData } from 'node:worker_threads';
import { damagedContents, type CheckItem } from './hashcheck.js';

try {
  parentPort!.postMessage({ ok: true, bad: damagedContents(workerData as CheckItem[]) });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).message });
}
