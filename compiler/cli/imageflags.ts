// Flags shared by `cut` and `build`: outputs, image configuration, archive
// access, reporting; and the JSON / human report of a finished build.

import path from 'node:path';
import type { Command } from 'commander';
import { ContentStore, defaultCacheDir } from '../cache/store.js';
import type { BuildResult, BuildSpec, Outputs } from '../pipeline/index.js';
import { COMPRESSIONS, type OutputCompression } from '../output/compression.js';
import type { ImageConfig } from '../output/oci.js';
import { ChiselError, ExitCode } from '../util/errors.js';
import { collect, parseArchiveUrls, parseIgnore, type Reporter } from './common.js';

export interface ImageFlags {
  root?: string;
  tar?: string;
  oci?: string;
  ociArchive?: string;
  push?: string;
  tag?: string;
  arch?: string;
  compression?: string;
  layers?: string;
  nonroot?: boolean;
  user?: string;
  entrypoint?: string;
  cmd?: string;
  env?: string[];
  workdir?: string;
  label?: string[];
  annotation?: string[];
  port?: string[];
  insecure?: boolean;
  signKey?: string;
  attest?: boolean;
  packageMetadata?: boolean;
  keepSetid?: boolean;
  sbom?: string;
  sbomFormat?: string;
  sbomInImage?: boolean;
  ignore?: string[];
  cacheDir?: string;
  offline?: boolean;
  archiveUrl?: string[];
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option('--root <dir>', 'write the root filesystem into this directory (created when missing)')
    .option('--tar <file>', 'write the root filesystem as a tarball (.tar, .tar.gz, .tar.zst)')
    .option('--oci <dir>', 'write an OCI image layout into this new directory')
    .option('--oci-archive <file>', 'write the OCI layout as one tar that docker/podman load and skopeo read')
    .option('--push <ref>', 'push the image to a registry: REGISTRY/REPO:TAG (credentials from the docker config file)')
    .option('--insecure', 'allow plain HTTP to a registry that is not on localhost')
    .option(
      '--sign-key <file>',
      "with --push: sign the pushed image in cosign's format with this ECDSA P-256 key (cosign generate-key-pair, password from COSIGN_PASSWORD; or PKCS#8 PEM, chisel-ts keygen)",
    )
    .option(
      '--attest',
      'with --sign-key: attach signed in-toto attestations of the provenance (SLSA v1) and, with --sbom, the SBOM (cosign verify-attestation reads them)',
    );
}

export function addImageOptions(cmd: Command): Command {
  return cmd
    .option('--tag <ref>', 'image name and tag, NAME:TAG or TAG (default: latest)')
    .option('--compression <c>', `layer compression: ${COMPRESSIONS.join(', ')} (default: gzip)`)
    .option(
      '--layers <strategy>',
      'split the image into layers: single (default), set (one layer per set of the release, your files on top)',
    )
    .option('--nonroot', 'run as uid/gid 65532 with working directory /home/nonroot (created, owned by 65532)')
    .option('--user <user>', 'image user (uid[:gid] or name)')
    .option('--entrypoint <json|path>', 'entrypoint: a JSON array, or a single program path')
    .option('--cmd <json|arg>', 'default arguments: a JSON array, or a single argument')
    .option('--env <KEY=VALUE>', 'environment variable (repeatable)', collect)
    .option('--workdir <dir>', 'working directory')
    .option('--label <k=v>', 'config label (repeatable)', collect)
    .option('--annotation <k=v>', 'manifest annotation (repeatable)', collect)
    .option('--port <port[/proto]>', 'exposed port (repeatable)', collect);
}

export function addLockOptions(cmd: Command): Command {
  return cmd
    .option('--locked', 'use exactly the packages of the lockfile; fail if the inputs or the outputs differ from it')
    .option('--lockfile <file>', 'lockfile (default: chisel-ts.lock.json, or IMAGE.lock.json next to an image file)');
}

export function addAccessOptions(cmd: Command): Command {
  return cmd
    .option('--sbom <file>', 'write an SBOM of the build (with the image digest)')
    .option(
      '--sbom-format <f>',
      'spdx (SPDX 2.3 JSON, default) or cyclonedx (CycloneDX 1.6 JSON); default from the file name (*.cdx.json -> cyclonedx)',
    )
    .option('--sbom-in-image', 'also put the SBOM in the image, at /usr/share/sbom/chisel-ts.<format>.json')
    .option('--no-package-metadata', 'leave out /var/lib/dpkg/status.d (the package list scanners read)')
    .option('--keep-setid', 'keep the setuid / setgid bits of package files, as Chisel does (default: dropped, with a warning)')
    .option('--ignore <what>', 'cut even when the release is "unmaintained" or "unstable" (repeatable)', collect)
    .option('--cache-dir <dir>', 'content cache (default: $XDG_CACHE_HOME/chisel-ts)')
    .option('--offline', 'use only the cache; never touch the network')
    .option('--archive-url <name=url>', 'base URL for an archive of the release (repeatable; env CHISEL_TS_ARCHIVE_URL_<NAME>)', collect)
    .option('--json', 'print a JSON report on stdout')
    .option('--quiet', 'no progress output')
    .option('--verbose', 'explain decisions: slices pulled in, archive and version picked');
}

function argv(flag: string, v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  if (v.trim().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch (e) {
      throw new ChiselError(`${flag}: invalid JSON array: ${(e as Error).message}`, { code: 'usage', exitCode: ExitCode.USAGE });
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string'))
      throw new ChiselError(`${flag}: expected a JSON array of strings`, { code: 'usage', exitCode: ExitCode.USAGE });
    return parsed as string[];
  }
  return [v];
}

function pairs(flag: string, values: string[] | undefined): Record<string, string> | undefined {
  if (!values?.length) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0) throw new ChiselError(`${flag} ${JSON.stringify(v)}: expected KEY=VALUE`, { code: 'usage', exitCode: ExitCode.USAGE });
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

export function parseCompression(v: string | undefined): OutputCompression | undefined {
  if (v === undefined) return undefined;
  if (!(COMPRESSIONS as readonly string[]).includes(v))
    throw new ChiselError(`--compression ${JSON.stringify(v)}: expected one of ${COMPRESSIONS.join(', ')}`, {
      code: 'usage',
      exitCode: ExitCode.USAGE,
    });
  return v as OutputCompression;
}

export function parseArchs(v: string | undefined): string[] | undefined {
  return v === undefined
    ? undefined
    : v
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean);
}

export function flagOutputs(f: ImageFlags): Outputs {
  return {
    ...(f.root ? { root: f.root } : {}),
    ...(f.tar ? { tar: f.tar } : {}),
    ...(f.oci ? { oci: f.oci } : {}),
    ...(f.ociArchive ? { ociArchive: f.ociArchive } : {}),
    ...(f.push ? { push: f.push } : {}),
  };
}

export function flagConfig(f: ImageFlags): ImageConfig {
  for (const e of f.env ?? [])
    if (!/^[^=]+=/.test(e))
      throw new ChiselError(`--env ${JSON.stringify(e)}: expected KEY=VALUE`, { code: 'usage', exitCode: ExitCode.USAGE });
  const c: ImageConfig = {};
  const entrypoint = argv('--entrypoint', f.entrypoint);
  const cmd = argv('--cmd', f.cmd);
  const labels = pairs('--label', f.label);
  const annotations = pairs('--annotation', f.annotation);
  if (f.user) c.user = f.user;
  if (entrypoint) c.entrypoint = entrypoint;
  if (cmd) c.cmd = cmd;
  if (f.env?.length) c.env = f.env;
  if (f.workdir) c.workdir = f.workdir;
  if (labels) c.labels = labels;
  if (annotations) c.annotations = annotations;
  if (f.port?.length) c.ports = f.port;
  return c;
}

/** --sign-key: the key read and opened before the build (a wrong password fails before anything is fetched). */
export async function signSpec(f: ImageFlags, outputs: Outputs): Promise<Pick<BuildSpec, 'sign' | 'attest'>> {
  if (f.attest && !f.signKey)
    throw new ChiselError('--attest signs its attestations: give --sign-key KEY too', {
      code: 'usage',
      exitCode: ExitCode.USAGE,
    });
  if (!f.signKey) return {};
  if (!outputs.push)
    throw new ChiselError('--sign-key signs a pushed image: give --push REGISTRY/REPO:TAG too', {
      code: 'usage',
      exitCode: ExitCode.USAGE,
    });
  return { sign: await (await import('../registry/keys.js')).loadSigningKey(f.signKey), ...(f.attest ? { attest: true } : {}) };
}

/** The SBOM part of a build spec. */
export function sbomSpec(f: ImageFlags): Pick<BuildSpec, 'sbom'> {
  if (!f.sbom && !f.sbomInImage) return {};
  const format = f.sbomFormat ?? (f.sbom && /(cdx|cyclonedx)/i.test(path.basename(f.sbom)) ? 'cyclonedx' : 'spdx');
  if (format !== 'spdx' && format !== 'cyclonedx')
    throw new ChiselError(`--sbom-format ${JSON.stringify(format)}: expected spdx or cyclonedx`, {
      code: 'usage',
      exitCode: ExitCode.USAGE,
    });
  return { sbom: { format, ...(f.sbom ? { file: f.sbom } : {}), ...(f.sbomInImage ? { inImage: true } : {}) } };
}

export function accessSpec(
  f: ImageFlags,
  report: Reporter,
): Pick<
  BuildSpec,
  'packageMetadata' | 'keepSetId' | 'store' | 'offline' | 'urlOverrides' | 'ignore' | 'insecure' | 'onEvent' | 'log' | 'notice'
> {
  return {
    packageMetadata: f.packageMetadata !== false,
    ...(f.keepSetid ? { keepSetId: true } : {}),
    store: new ContentStore(f.cacheDir ?? defaultCacheDir()),
    offline: Boolean(f.offline),
    urlOverrides: parseArchiveUrls(f.archiveUrl),
    ignore: parseIgnore(f.ignore),
    insecure: Boolean(f.insecure),
    onEvent: progressOf(report),
    log: (m) => report.verbose(m),
    notice: (m) => report.notice(m),
  };
}

/** Bytes for a person: 12 kB, 12.3 MB. */
function megabytes(n: number): string {
  return n < 1e6 ? `${Math.round(n / 1e3)} kB` : `${(n / 1e6).toFixed(1)} MB`;
}

interface ArchProgress {
  /** Set once the cut knows what it downloads and unpacks (no line for totals still growing). */
  planned?: { packages: number; downloads: number; bytes: number };
  fetched: number;
  /** Bytes downloaded of each package so far. */
  bytes: Map<string, number>;
  drawn: number;
  unpacked: number;
  cached: number;
  started: number;
  done?: number;
}

/**
 * Cut events -> --verbose explanations and, on a TTY, one live line per arch:
 * bytes downloaded of the total, packages unpacked of the total, elapsed
 * time (redrawn every second while anything runs), and a summary line per
 * arch when its packages are unpacked.
 */
function progressOf(report: Reporter): NonNullable<BuildSpec['onEvent']> {
  const archs = new Map<string, ArchProgress>();
  let ticker: NodeJS.Timeout | undefined;
  const line = (arch: string, c: ArchProgress) => {
    const p = c.planned!;
    const secs = (((c.done ?? Date.now()) - c.started) / 1000).toFixed(1);
    return `[${arch}] ${megabytes(downloaded(c))} of ${megabytes(p.bytes)} downloaded (${c.fetched}/${p.downloads} .debs), ${c.unpacked}/${p.packages} packages unpacked, ${secs}s`;
  };
  const draw = () => {
    const live = [...archs].filter(([, c]) => c.planned && c.done === undefined);
    if (live.length === 0) {
      if (ticker) clearInterval(ticker);
      ticker = undefined;
      report.clearStatus();
      return;
    }
    report.statusLines(live.map(([a, c]) => line(a, c)));
  };
  return (arch, ev) => {
    let c = archs.get(arch);
    if (!c) archs.set(arch, (c = { fetched: 0, bytes: new Map(), drawn: 0, unpacked: 0, cached: 0, started: Date.now() }));
    if (ev.kind === 'selected') return report.verbose(`[${arch}] select ${ev.slice} (${ev.reason})`);
    if (ev.kind === 'resolved')
      return report.verbose(
        `[${arch}] package ${ev.package.name} ${ev.package.version} from archive ${ev.package.archive}${ev.package.suite ? ` (${ev.package.suite}/${ev.package.component})` : ''}`,
      );
    if (ev.kind === 'planned') {
      c.planned = { packages: ev.packages, downloads: ev.downloads, bytes: ev.bytes };
      c.started = Date.now();
      if (ev.packages === 0) c.done = c.started;
      if (report.progress && !ticker) ticker = setInterval(draw, 1000).unref();
    } else if (ev.kind === 'downloading') {
      c.bytes.set(ev.package, ev.bytes);
      // chunks come often: redraw at most ten times a second
      if (Date.now() - c.drawn < 100) return;
    } else if (ev.kind === 'healed') {
      report.warn(
        `warning: [${arch}] cached content of ${ev.paths.join(', ')} was damaged; package ${ev.package} unpacked again from its verified .deb`,
      );
      return;
    } else if (ev.kind === 'fetched') {
      c.fetched++;
      c.bytes.set(ev.package, ev.bytes);
    } else if (ev.kind === 'unpacked') {
      c.unpacked++;
      if (ev.cached) c.cached++;
    }
    if (!c.planned) return;
    if (ev.kind === 'unpacked' && c.unpacked === c.planned.packages) {
      c.done = Date.now();
      report.info(
        `[${arch}] ${c.planned.packages} packages: ${c.fetched} downloaded (${megabytes(downloaded(c))}), ${c.unpacked - c.cached} unpacked, ${c.cached} from the cache, ${((c.done - c.started) / 1000).toFixed(1)}s`,
      );
    }
    c.drawn = Date.now();
    draw();
  };
}

function downloaded(c: ArchProgress): number {
  let n = 0;
  for (const b of c.bytes.values()) n += b;
  return n;
}

export function buildReport(spec: Pick<BuildSpec, 'outputs'>, r: BuildResult): Record<string, unknown> {
  return {
    epoch: r.epoch,
    outputs: spec.outputs,
    archs: r.archs.map((a) => ({
      arch: a.arch,
      slices: a.cut.selection.slices.map((s) => `${s.package}_${s.name}`),
      packages: a.cut.packages
        .map((pkg) => ({ name: pkg.name, version: pkg.version, arch: pkg.arch, archive: pkg.archive, sha256: pkg.sha256 }))
        .sort((x, y) => (x.name < y.name ? -1 : 1)),
      entries: a.tree.entries.length,
      setid: setIdFiles(a.tree).map((e) => e.path),
      setidDropped: a.cut.setIdDropped.map((d) => d.path),
      files: a.tree.entries.filter((e) => e.type === 'file').length,
      bytes: a.tree.entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0),
    })),
    ...(r.tar ? { tar: { sha256: r.tar.sha256, size: r.tar.size, diffId: r.tar.diffId } } : {}),
    ...((r.oci ?? r.ociArchive) ? { image: imageReport((r.oci ?? r.ociArchive)!) } : {}),
    ...(r.push ? { push: r.push } : {}),
  };
}

/** Files with the setuid or setgid bit (kept as the package has them, as Chisel does). */
export function setIdFiles(tree: BuildResult['archs'][number]['tree']): Array<{ path: string; mode: number }> {
  return tree.entries.filter((e) => e.type === 'file' && e.mode & 0o6000).map((e) => ({ path: e.path, mode: e.mode }));
}

/** One warning line when bits were dropped (how many, how to keep them); --verbose: each file, kept or dropped. */
export function reportSetId(report: Reporter, r: BuildResult): void {
  const dropped = new Set(r.archs.flatMap((a) => a.cut.setIdDropped.map((d) => d.path)));
  if (dropped.size > 0) {
    const first = [...dropped].sort()[0]!;
    report.notice(
      `warning: setuid/setgid bits dropped from ${dropped.size} file${dropped.size === 1 ? '' : 's'} (${first}${dropped.size > 1 ? ', ...' : ''}); pass --keep-setid (image file: keep-setid: true) to keep them as the packages ship them, as Chisel does`,
    );
  }
  for (const a of r.archs) {
    for (const d of a.cut.setIdDropped) {
      const bits = [d.mode & 0o4000 ? 'setuid' : '', d.mode & 0o2000 ? 'setgid' : ''].filter(Boolean).join('+');
      report.verbose(
        `[${a.arch}] ${bits} dropped from ${d.path} (package ${d.pkg} ships mode ${(d.mode & 0o7777).toString(8).padStart(4, '0')}; keep it with --keep-setid, or mode: 0${(d.mode & 0o7777).toString(8)} on the path in its slice)`,
      );
    }
    for (const f of setIdFiles(a.tree)) {
      const bits = [f.mode & 0o4000 ? 'setuid' : '', f.mode & 0o2000 ? 'setgid' : ''].filter(Boolean).join('+');
      report.verbose(`[${a.arch}] ${bits} ${f.path} (mode ${(f.mode & 0o7777).toString(8).padStart(4, '0')})`);
    }
  }
}

function imageReport(l: NonNullable<BuildResult['oci']>): Record<string, unknown> {
  return {
    digest: l.top.digest,
    mediaType: l.top.mediaType,
    manifests: l.images.map((i) => ({
      arch: i.arch,
      digest: i.manifest.digest,
      config: i.config.digest,
      ...(i.layers.length === 1 ? { layer: i.layers[0]!.desc.digest } : {}),
      // the rootfs: the layer's diff_id, or the ChainID of the layers
      diffId: `sha256:${i.chainId}`,
      layers: i.layers.map((l) => ({ digest: l.desc.digest, diffId: `sha256:${l.diffId}`, size: l.desc.size, cached: l.cached })),
    })),
  };
}

export function summary(spec: Pick<BuildSpec, 'outputs'>, r: BuildResult, seconds: number): string {
  const a = r.archs[0]!;
  const bytes = a.tree.entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
  const parts = [
    `cut ${a.cut.selection.slices.length} slices of ${a.cut.packages.length} packages (${r.archs.map((x) => x.arch).join(', ')}): ${a.tree.entries.length} entries, ${(bytes / 1048576).toFixed(1)} MiB`,
  ];
  const o = spec.outputs;
  if (o.root) parts.push(`root ${o.root}`);
  if (r.tar) parts.push(`tar ${o.tar} sha256:${r.tar.sha256}`);
  const img = r.oci ?? r.ociArchive;
  if (img) parts.push(`image ${img.top.digest}`);
  if (r.push) parts.push(`pushed ${r.push.reference}@${r.push.digest}`);
  if (r.push?.signatures) parts.push(`signed ${r.push.signatures.map((x) => x.digest).join(', ')} (cosign signatures)`);
  return `${parts.join('\n  ')}\n  in ${seconds.toFixed(1)}s`;
}
