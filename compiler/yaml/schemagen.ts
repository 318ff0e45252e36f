// Build step (npm run build): compile the JSON Schemas of runtime-schema/ into
// standalone ajv validators (dist/runtime-schema/<name>.cjs), so loading a
// release does not pay for ajv's schema compilation on every run. Each
// generated module carries the sha256 of its schema; schema.ts falls back to
// compiling at run time when the two differ.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { packageRoot } from '../util/pkgroot.js';
import { AJV_OPTIONS, generatedValidatorPath, schemaSha } from './schema.js';

function main(): void {
  const dir = path.join(packageRoot(), 'runtime-schema');
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith('.schema.json'))
    .sort()) {
    const text = readFileSync(path.join(dir, name), 'utf8');
    const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
    const validate = ajv.compile(JSON.parse(text) as object);
    const code = (standaloneCode as unknown as (a: Ajv, v: unknown) => string)(ajv, validate);
    const out = generatedValidatorPath(name);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${code}\nmodule.exports.schemaSha256 = ${JSON.stringify(schemaSha(text))};\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) main();
