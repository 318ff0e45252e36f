// Build step (`npm run bundle`): `node dist/compiler/util/codeidgen.js <bundle dir>`
// writes the bundle's code id beside it (codeid.ts reads it at run time).

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CODE_ID_FILE, dependencyLock, hashCodeDir } from './codeid.js';

const dir = path.resolve(process.argv[2] ?? 'dist/bundle');
writeFileSync(path.join(dir, CODE_ID_FILE), `${hashCodeDir(dir, dependencyLock(dir))}\n`);
