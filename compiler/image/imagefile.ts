// The image file: one YAML document holding the release, archs, slices,
// image configuration and outputs, so a committed file is the whole build.
// Validated with runtime-schema/image.schema.json; errors at file:line:col.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { schemaErrors } from '../yaml/schema.js';
import { YamlFile } from '../yaml/file.js';
import { readYamlText } from '../yaml/text.js';
import { ChiselError, ChiselErrors } from '../util/errors.js';
import { invalidRangeMessage, unmetRangeError, VERSION_KEY } from '../util/minversion.js';
import type { OutputCompression } from '../output/compression.js';
import type { LayerStrategy } from '../output/layers.js';
import { normalizePort, type ImageConfig } from '../output/oci.js';
import type { AddFiles } from '../context/addfiles.js';
import type { Outputs } from '../pipeline/spec.js';
import { resolveSource, sourceInContext } from '../context/source.js';

export interface ImageFile {
  file: string;
  /** Shipped release name, or an absolute directory. */
  release?: string;
  archs?: string[];
  slices: string[];
  tag?: string;
  nonroot: boolean;
  /** `keep-setid: true`: keep the packages' setuid / setgid bits (--keep-setid). */
  keepSetId: boolean;
  compression?: OutputCompression;
  layers?: LayerStrategy;
  sourceDateEpoch?: number;
  config: ImageConfig;
  files: AddFiles[];
  /** The build context `files:` read from (absolute). */
  context: string;
  /** Paths resolved against the image file's directory. */
  outputs: Outputs;
  sbom?: { file?: string; format?: string; inImage?: boolean };
}

interface RawImage {
  /** The chisel-ts versions this file needs (a semver range). */
  'chisel-ts'?: string;
  release?: string;
  archs?: string[];
  slices: string[];
  tag?: string;
  nonroot?: boolean;
  'keep-setid'?: boolean;
  compression?: OutputCompression;
  layers?: LayerStrategy;
  'source-date-epoch'?: number;
  config?: {
    user?: string;
    entrypoint?: string[];
    cmd?: string[];
    env?: Record<string, string | number | boolean>;
    workdir?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ports?: Array<string | number>;
  };
  context?: string;
  files?: Array<{ src: string; dest: string; uid?: number; gid?: number; mode?: string | number; exclude?: string[] }>;
  outputs?: { root?: string; tar?: string; oci?: string; 'oci-archive'?: string; push?: string };
  sbom?: { file?: string; format?: string; 'in-image'?: boolean };
}

export interface ImageFileOptions {
  /** --context: the build context, overriding the file's `context:` key. */
  context?: string;
}

/** Read, validate and resolve an image file: its `files:` sources checked inside the build context. */
export async function loadImageFile(file: string, opts: ImageFileOptions = {}): Promise<ImageFile> {
  const abs = path.resolve(file);
  try {
    await fs.access(abs);
  } catch (e) {
    throw new ChiselError(`cannot read image file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      code: 'image-file',
      hint: 'pass the path of an image YAML file; see examples/',
    });
  }
  // Size, file type and encoding errors name the file (and line:col).
  const text = await readYamlText(abs, 'pass the path of an image YAML file; see examples/');
  const img = parseImageFile(abs, text, opts);
  const files: AddFiles[] = [];
  for (const f of img.files) files.push(f.context ? { ...f, ...(await resolveSource(f.src, f.context)) } : f);
  return { ...img, files };
}

/** Parse and validate (no file system access): `files:` sources are checked lexically (not absolute, not climbing out of the context). */
export function parseImageFile(file: string, text: string, opts: ImageFileOptions = {}): ImageFile {
  const y = new YamlFile(file, text);
  const syntax = y.syntaxErrors();
  if (syntax.length) throw new ChiselErrors(syntax);
  let raw: RawImage;
  try {
    raw = (y.toJS() ?? {}) as RawImage;
  } catch (e) {
    throw new ChiselErrors([e as ChiselError]);
  }
  // A file for a newer chisel-ts may use keys this one does not know: its version range comes first.
  const range = raw[VERSION_KEY];
  if (typeof range === 'string') {
    const unmet = unmetRangeError(range, y.pos([VERSION_KEY]));
    if (unmet) throw unmet;
  }
  const errors = schemaErrors(y, raw, 'image.schema.json');
  const invalid = typeof range === 'string' ? invalidRangeMessage(range) : undefined;
  if (invalid) errors.push(y.error([VERSION_KEY], invalid, 'schema'));
  if (errors.length) throw new ChiselErrors(errors);
  const dir = path.dirname(file);
  const rel = (p: string | undefined) => (p === undefined ? undefined : path.resolve(dir, p));
  const c = raw.config ?? {};
  const config: ImageConfig = {};
  if (c.user !== undefined) config.user = c.user;
  if (c.entrypoint) config.entrypoint = c.entrypoint;
  if (c.cmd) config.cmd = c.cmd;
  if (c.env) config.env = Object.entries(c.env).map(([k, v]) => `${k}=${String(v)}`);
  if (c.workdir !== undefined) config.workdir = c.workdir;
  if (c.labels) config.labels = c.labels;
  if (c.annotations) config.annotations = c.annotations;
  if (c.ports) {
    config.ports = c.ports.map((p, i) => {
      try {
        return normalizePort(String(p));
      } catch (e) {
        throw new ChiselErrors([y.error(['config', 'ports', i], (e as Error).message, 'schema')]);
      }
    });
  }
  const context = opts.context !== undefined ? path.resolve(opts.context) : path.resolve(dir, raw.context ?? '.');
  const files: AddFiles[] = (raw.files ?? []).map((f, i) => ({
    src: contextSource(y, context, f.src, i),
    dest: f.dest,
    ...(f.uid !== undefined ? { uid: f.uid } : {}),
    ...(f.gid !== undefined ? { gid: f.gid } : {}),
    ...(f.mode !== undefined ? { mode: fileMode(y, ['files', i, 'mode'], f.mode) } : {}),
    context: { root: context, exclude: f.exclude ?? [], at: y.pos(['files', i, 'src']) },
  }));
  const o = raw.outputs ?? {};
  const outputs: Outputs = {};
  for (const [k, v] of [
    ['root', rel(o.root)],
    ['tar', rel(o.tar)],
    ['oci', rel(o.oci)],
    ['ociArchive', rel(o['oci-archive'])],
  ] as const) {
    if (v !== undefined) outputs[k] = v;
  }
  if (o.push) outputs.push = o.push;
  const release =
    raw.release === undefined
      ? undefined
      : raw.release.includes('/') || raw.release.startsWith('.')
        ? path.resolve(dir, raw.release)
        : raw.release;
  return {
    file,
    ...(release !== undefined ? { release } : {}),
    ...(raw.archs ? { archs: raw.archs } : {}),
    slices: raw.slices,
    ...(raw.tag !== undefined ? { tag: raw.tag } : {}),
    nonroot: raw.nonroot ?? false,
    keepSetId: raw['keep-setid'] ?? false,
    ...(raw.compression ? { compression: raw.compression } : {}),
    ...(raw.layers ? { layers: raw.layers } : {}),
    ...(raw['source-date-epoch'] !== undefined ? { sourceDateEpoch: raw['source-date-epoch'] } : {}),
    config,
    files,
    context,
    outputs,
    ...(raw.sbom
      ? {
          sbom: {
            ...(raw.sbom.file ? { file: rel(raw.sbom.file)! } : {}),
            ...(raw.sbom.format ? { format: raw.sbom.format } : {}),
            ...(raw.sbom['in-image'] ? { inImage: true } : {}),
          },
        }
      : {}),
  };
}

function contextSource(y: YamlFile, context: string, src: string, i: number): string {
  const r = sourceInContext(context, src);
  if ('error' in r)
    throw new ChiselErrors([
      new ChiselError(r.error, {
        code: 'image-context',
        location: y.pos(['files', i, 'src']),
        hint: 'write src relative to the build context',
      }),
    ]);
  return r.path;
}

/** An octal mode as written: YAML 1.2 reads 0755 as the integer 755, so a number is read from its source text. */
function fileMode(y: YamlFile, at: Array<string | number>, value: string | number): number {
  const src = typeof value === 'string' ? value : (y.source(at) ?? String(value));
  const m = /^0?o?([0-7]{3,4})$/i.exec(src);
  if (!m)
    throw new ChiselErrors([
      y.error(at, `${at.join('.')}: mode ${JSON.stringify(src)} is not an octal mode; write it like 0755 or "0644"`, 'schema'),
    ]);
  return parseInt(m[1]!, 8);
}
