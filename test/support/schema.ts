// A JSON Schema file compiled with ajv (strict, all errors, formats).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv as AjvType } from 'ajv';

const require = createRequire(import.meta.url);

export function validatorWith(schemaFile: string): ReturnType<AjvType['compile']> {
  const { Ajv } = require('ajv') as typeof import('ajv');
  const addFormats = require('ajv-formats') as (a: AjvType) => AjvType;
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
}
