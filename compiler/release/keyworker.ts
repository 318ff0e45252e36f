// Worker thread of keys.ts: decodes the armored keys it is given and posts
// back their primary key ids.

import { parentPort, workerData } from 'node:worker_threads';
import { armoredKeyId } from './keys.js';

const armors = workerData as string[];
void Promise.all(armors.map(armoredKeyId)).then((ids) => parentPort!.postMessage(ids));
