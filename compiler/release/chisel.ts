// chisel.yaml (merged with its bases' when it extends one) -> format, archives, public keys, maintenance, sets.

import type { ArchiveDef, Format, Maintenance, PublicKeyDef, ReleaseLayer } from './model.js';
import { readChiselChain } from './extends.js';
import type { ChiselError } from '../util/errors.js';
import { armoredKeyIds } from './keys.js';

export const PRO_VALUES = ['fips', 'fips-updates', 'esm-apps', 'esm-infra'];
export const SLICE_NAME = /^[a-z](?:-?[a-z0-9]){2,}$/;
/** Ubuntu versions whose maintenance dates Chisel v1.4 knows (a release of these may leave out "maintenance"). */
const KNOWN_UBUNTU_VERSIONS = ['20.04', '22.04', '22.10', '23.04', '23.10', '24.04', '24.10', '25.04'];
export const SET_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

export interface ChiselConfig {
  format: Format;
  maintenance?: Maintenance;
  archives: Map<string, ArchiveDef>;
  publicKeys: Map<string, PublicKeyDef>;
  sets: Map<string, string[]>;
  /** Positions of set members, for errors found later. */
  setPos: Map<string, Array<{ file: string; line: number; col: number }>>;
  /** An overlay's layers, bottom first (see extends.ts); absent for a release that extends none. */
  layers?: ReleaseLayer[];
}

interface RawArchive {
  version: string | number;
  suites: string[];
  components: string[];
  priority?: number;
  default?: boolean;
  pro?: string;
  'public-keys': string[];
  url?: string;
}

interface RawChisel {
  format: Format;
  maintenance?: Record<string, string>;
  archives?: Record<string, RawArchive>;
  'v2-archives'?: Record<string, RawArchive>;
  'public-keys'?: Record<string, { id: string; armor: string }>;
  sets?: Record<string, string[]>;
}

/** chisel.yaml, with its public keys checked; errors are added to `errors`. */
export async function parseChiselYaml(
  file: string,
  text: string,
  errors: ChiselError[],
  warnings: ChiselError[] = [],
): Promise<ChiselConfig | undefined> {
  const read = readChiselYaml(file, text, errors, warnings);
  if (!read) return undefined;
  await read.keysChecked;
  return read.cfg;
}

/**
 * chisel.yaml, with the check of its armored keys under way (openpgp loads
 * meanwhile): `keysChecked` resolves once key errors, if any, are in `errors`.
 */
export function readChiselYaml(
  file: string,
  text: string,
  errors: ChiselError[],
  warnings: ChiselError[] = [],
): { cfg: ChiselConfig; keysChecked: Promise<void>; texts: string[] } | undefined {
  // An overlay (`extends:`) is read with its bases, merged (extends.ts); the checks below see the merged file.
  const chain = readChiselChain(file, text, errors, warnings);
  if (!chain) return undefined;
  const y = chain.doc;
  const raw = chain.raw as unknown as RawChisel;
  const format = raw.format;
  const cfg: ChiselConfig = {
    format,
    archives: new Map(),
    publicKeys: new Map(),
    sets: new Map(),
    setPos: new Map(),
    ...(chain.layers.length > 1 ? { layers: chain.layers } : {}),
  };

  if (raw.maintenance) {
    const m = raw.maintenance;
    for (const k of ['standard', 'expanded', 'legacy', 'end-of-life']) {
      const v = m[k];
      if (v !== undefined && Number.isNaN(Date.parse(`${v}T00:00:00Z`)))
        errors.push(y.error(['maintenance', k], `maintenance.${k}: invalid date ${JSON.stringify(v)} (expected YYYY-MM-DD)`));
    }
    cfg.maintenance = {
      standard: m.standard!,
      endOfLife: m['end-of-life']!,
      ...(m.expanded ? { expanded: m.expanded } : {}),
      ...(m.legacy ? { legacy: m.legacy } : {}),
    };
  }

  const entries: Array<[string, RawArchive, string]> = Object.entries(raw.archives ?? {}).map(([n, a]) => [n, a, 'archives']);
  if (raw['v2-archives']) {
    if (format !== 'v1')
      errors.push(
        y.error(
          ['v2-archives'],
          `v2-archives is only allowed in format v1 (this release is ${format}); move the archives into "archives"`,
          'format',
          true,
        ),
      );
    else
      for (const [n, a] of Object.entries(raw['v2-archives'])) {
        if (raw.archives && Object.hasOwn(raw.archives, n))
          errors.push(
            y.error(
              ['v2-archives', n],
              `archive "${n}" defined twice (in archives and in v2-archives); rename or remove one`,
              'archives',
              true,
            ),
          );
        else entries.push([n, a, 'v2-archives']);
      }
  }
  if (entries.length === 0) errors.push(y.error([], 'chisel.yaml defines no archives', 'archives'));

  const withPriority = entries.filter(([, a]) => a.priority !== undefined);
  const defaults = entries.filter(([, a]) => a.default);
  for (const [n, a, where] of entries) {
    if (a.default !== undefined && format !== 'v1')
      errors.push(y.error([where, n, 'default'], `archive ${n}: "default" is only allowed in format v1; use "priority"`, 'format', true));
    if (a.priority === 0) errors.push(y.error([where, n, 'priority'], `archive ${n}: priority must not be 0`, 'priority'));
  }
  if (defaults.length > 1)
    errors.push(
      y.error(
        [defaults[1]![2], defaults[1]![0], 'default'],
        `more than one default archive: ${defaults.map((d) => d[0]).join(', ')}`,
        'priority',
        true,
      ),
    );
  if (withPriority.length > 0 && withPriority.length < entries.length) {
    for (const [n, , where] of entries.filter(([, a]) => a.priority === undefined))
      errors.push(y.error([where, n], `archive ${n} has no priority, but other archives do: every archive needs one`, 'priority', true));
  } else if (withPriority.length === 0 && entries.length > 1 && defaults.length === 0) {
    errors.push(y.error([entries[0]![2]], `several archives and no priorities: give each archive a unique "priority"`, 'priority', true));
  }
  const seenPrio = new Map<number, string>();
  for (const [n, a, where] of withPriority) {
    const other = seenPrio.get(a.priority!);
    if (other) errors.push(y.error([where, n, 'priority'], `archives ${other} and ${n} have the same priority ${a.priority}`, 'priority'));
    seenPrio.set(a.priority!, n);
  }
  // v1 legacy "default": the default archive gets priority 1, the others negative in name order.
  const legacyPriority = new Map<string, number>();
  if (withPriority.length === 0 && defaults.length > 0) {
    let next = -1;
    for (const [n, a] of [...entries].sort((p, q) => (p[0] < q[0] ? -1 : 1))) legacyPriority.set(n, a.default ? 1 : next--);
  }

  for (const [n, a, where] of entries) {
    if (a.pro !== undefined && !PRO_VALUES.includes(a.pro)) continue; // unknown pro value: the archive is dropped
    for (const [i, k] of a['public-keys'].entries()) {
      if (!raw['public-keys'] || !Object.hasOwn(raw['public-keys'], k))
        errors.push(y.error([where, n, 'public-keys', i], `archive ${n} refers to undefined public key "${k}"`, 'public-keys'));
    }
    const version = y.source([where, n, 'version']) ?? String(a.version);
    cfg.archives.set(n, {
      name: n,
      version,
      suites: a.suites,
      components: a.components,
      priority: a.priority ?? legacyPriority.get(n) ?? 0,
      publicKeys: a['public-keys'],
      ...(a.pro !== undefined ? { pro: a.pro } : {}),
      ...(a.url !== undefined ? { url: a.url.replace(/\/+$/, '') } : {}),
      pos: y.pos([where, n], true),
    });
  }
  // Without the block, Chisel takes the dates of the "ubuntu" archive's version from its own table.
  const ubuntu = entries.find(([n]) => n === 'ubuntu');
  const ubuntuVersion = ubuntu && (y.source([ubuntu[2], 'ubuntu', 'version']) ?? String(ubuntu[1].version));
  if (!cfg.maintenance && !(ubuntuVersion && KNOWN_UBUNTU_VERSIONS.includes(ubuntuVersion))) {
    errors.push(
      y.error(
        [],
        `chisel.yaml has no "maintenance" block (standard and end-of-life dates), which a release needs unless its "ubuntu" archive is a version whose dates Chisel knows (${KNOWN_UBUNTU_VERSIONS.join(', ')})`,
        'maintenance',
      ),
    );
  }

  const keys = Object.entries(raw['public-keys'] ?? {});
  for (const [name, k] of keys)
    cfg.publicKeys.set(name, { name, id: k.id.toUpperCase(), armor: k.armor, pos: y.pos(['public-keys', name], true) });
  const keysChecked = armoredKeyIds(keys.map(([, k]) => k.armor)).then((ids) =>
    ids.forEach((got, i) => {
      const [name, k] = keys[i]!;
      if (got.error) errors.push(y.error(['public-keys', name, 'armor'], `public key ${name}: ${got.error}`, 'public-key'));
      else if (got.id !== k.id.toUpperCase())
        errors.push(
          y.error(
            ['public-keys', name, 'id'],
            `public key ${name}: id ${k.id} does not match the armored key's id ${got.id}`,
            'public-key',
          ),
        );
    }),
  );

  for (const [name, members] of Object.entries(raw.sets ?? {})) {
    if (!SET_NAME.test(name))
      errors.push(
        y.error(
          ['sets', name],
          `set name "${name}" is invalid (lower case letters, digits and dashes, starting with a letter)`,
          'sets',
          true,
        ),
      );
    cfg.sets.set(name, members);
    cfg.setPos.set(
      name,
      members.map((_, i) => y.pos(['sets', name, i])),
    );
  }
  return { cfg, keysChecked, texts: chain.texts };
}
