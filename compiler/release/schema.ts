// The JSON Schemas of runtime-schema/, compiled once with ajv; their errors
// are reported at the YAML position of the offending value.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { packageRoot } from '../util/pkgroot.js';
import { ChiselError } from '../util/errors.js';
import type { YamlFile } from './yamlfile.js';

const compiled = new Map<string, ValidateFunction>();

export function schemaValidator(name: string): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    const schema = JSON.parse(readFileSync(path.join(packageRoot(), 'runtime-schema', name), 'utf8')) as object;
    const ajv = new Ajv({ allErrors: true, strict: false });
    v = ajv.compile(schema);
    compiled.set(name, v);
  }
  return v;
}

/** Validate a parsed YAML file against a schema; one error per offending value. */
export function schemaErrors(file: YamlFile, data: unknown, schemaName: string): ChiselError[] {
  const validate = schemaValidator(schemaName);
  if (validate(data)) return [];
  const seen = new Set<string>();
  const out: ChiselError[] = [];
  for (const e of validate.errors ?? []) {
    // oneOf reports each branch; keep the most specific message per location.
    if (e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const segs = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const where = e.instancePath || '/';
    if (seen.has(where)) continue;
    seen.add(where);
    const subject = segs.length ? segs.join('.') : 'document';
    out.push(file.error(segs, `${subject}: ${describe(e)} (schema ${schemaName})`, 'schema', e.keyword === 'additionalProperties'));
  }
  return out;
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return `missing required field "${(e.params as { missingProperty: string }).missingProperty}"`;
    case 'type':
      return `must be ${(e.params as { type: string | string[] }).type.toString().replace(',', ' or ')}`;
    case 'enum':
      return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return `does not match ${(e.params as { pattern: string }).pattern}`;
    default:
      return e.message ?? e.keyword;
  }
}
