// The tool's version: package.json's, read at run time from the package root
// (the same file whether running from sources, dist/, the bundle or an
// installed package), so a release only changes package.json.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './util/pkgroot.js';

export const VERSION = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
