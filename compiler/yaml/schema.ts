// The JSON Schemas of runtime-schema/, compiled once with ajv; their errors
// are reported at the YAML position of the offending value.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { packageRoot } from '../util/pkgroot.js';
import { createHash } from 'node:crypto';
import type { ChiselError } from '../util/errors.js';
import type { YamlDoc } from './file.js';

export const AJV_OPTIONS = { allErrors: true, strict: false } as const;

/** Where the build (schemagen.ts) writes the standalone validator of a schema. */
export function generatedValidatorPath(name: string): string {
  return path.join(packageRoot(), 'dist', 'runtime-schema', name.replace(/\.json$/, '.cjs'));
}

export function schemaSha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const compiled = new Map<string, ValidateFunction>();

export function schemaValidator(name: string): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    const text = readFileSync(path.join(packageRoot(), 'runtime-schema', name), 'utf8');
    v = precompiled(name, text) ?? compileNow(text);
    compiled.set(name, v);
  }
  return v;
}

/** The validator generated at build time (schemagen.ts), when it matches the schema. */
function precompiled(name: string, text: string): ValidateFunction | undefined {
  const file = generatedValidatorPath(name);
  if (!existsSync(file)) return undefined;
  const mod = createRequire(import.meta.url)(file) as ValidateFunction & { default?: ValidateFunction; schemaSha256?: string };
  if (mod.schemaSha256 !== schemaSha(text)) return undefined;
  return mod.default ?? mod;
}

function compileNow(text: string): ValidateFunction {
  const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
  return new Ajv(AJV_OPTIONS).compile(JSON.parse(text) as object);
}

/** Validate a parsed YAML file against a schema; one error per offending value. */
export function schemaErrors(file: YamlDoc, data: unknown, schemaName: string): ChiselError[] {
  const validate = schemaValidator(schemaName);
  if (validate(data)) return [];
  const seen = new Set<string>();
  const out: ChiselError[] = [];
  const all = (validate.errors ?? []).filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'if');
  for (const e of all) {
    // oneOf reports each branch; keep the most specific message per location,
    // and drop a branch's type error where another branch failed deeper
    // (arch: [amd64, [x]] is "arch.1: must be string", not also "arch: must be string").
    if (e.keyword === 'type' && all.some((o) => o.instancePath.startsWith(`${e.instancePath}/`))) continue;
    const segs = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (e.keyword === 'additionalProperties') segs.push((e.params as { additionalProperty: string }).additionalProperty);
    const where = e.keyword === 'additionalProperties' ? `${e.instancePath}/${segs[segs.length - 1]}` : e.instancePath || '/';
    if (seen.has(where)) continue;
    seen.add(where);
    const subject = segs.length ? segs.join('.') : 'document';
    const message =
      e.keyword === 'additionalProperties'
        ? `${subject}: unknown field; remove it or check its spelling (schema ${schemaName})`
        : `${subject}: ${describe(e)} (schema ${schemaName})`;
    out.push(file.error(segs, message, 'schema', e.keyword === 'additionalProperties'));
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
