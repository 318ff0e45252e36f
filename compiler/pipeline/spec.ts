// What a build is asked for (BuildSpec) and what it gives back (BuildResult),
// with the small rules on them: which outputs make sense together, the image
// configuration with the non-root defaults, the source date epoch.

import { lstatSync, type Stats } from 'node:fs';
import type { PinnedInRelease, UsedInRelease } from '../archive/index.js';
import type { ContentStore } from '../cache/store.js';
import type { OutputCompression } from '../output/compression.js';
import type { LayerStrategy } from '../output/layers.js';
import type { ImageConfig, LayoutResult } from '../output/oci.js';
import type { PushResult } from '../registry/push.js';
import type { WrittenBlob } from '../output/tar.js';
import type { Release } from '../release/model.js';
import type { SigningKey } from '../registry/keys.js';
import type { SbomFormat } from '../sbom/index.js';
import type { CutEvent, CutResult, Ignore, ResolvedPackage } from '../slicer/cut.js';
import type { AddFiles } from '../context/addfiles.js';
import type { Tree } from '../tree/model.js';
import { ChiselError, ExitCode } from '../util/errors.js';

export const NONROOT = { uid: 65532, gid: 65532, home: '/home/nonroot' };

export interface Outputs {
  root?: string;
  tar?: string;
  oci?: string;
  ociArchive?: string;
  push?: string;
}

export interface BuildSpec {
  release: Release;
  slices: string[];
  archs: string[];
  outputs: Outputs;
  /** Image reference: "name:tag" or "tag" (default "latest"). */
  tag?: string;
  compression?: OutputCompression;
  /** How the image is split into layers (default single). */
  layers?: LayerStrategy;
  config?: ImageConfig;
  nonroot?: boolean;
  /** SBOM of the build: written to `file` (with the image digest), and/or put in the image. */
  sbom?: { file?: string; format: SbomFormat; inImage?: boolean };
  /** Files from the build context added on top of the slices (image file `files:`). */
  files?: AddFiles[];
  /** dpkg status.d metadata in the tree (default true). */
  packageMetadata?: boolean;
  /** Keep every setuid / setgid bit the packages ship, as Chisel does (--keep-setid, image file `keep-setid`). */
  keepSetId?: boolean;
  /** Seconds since the epoch for every time in the outputs (default SOURCE_DATE_EPOCH or 0). */
  epoch?: number;
  store: ContentStore;
  offline?: boolean;
  urlOverrides?: Map<string, string>;
  ignore?: Ignore[];
  insecure?: boolean;
  /** Sign the pushed image with this key (cosign's format); only with outputs.push. */
  sign?: SigningKey;
  /** With sign: attach the provenance (SLSA v1) and, with sbom.file, the SBOM as in-toto attestations (cosign attest's format). */
  attest?: boolean;
  /** The lockfile the build was held to (--locked), named in the provenance. */
  lockfile?: string;
  /** Packages pinned per arch (lockfile): arch -> name -> package. */
  pinned?: Map<string, Map<string, ResolvedPackage>>;
  /** The InRelease dates the lockfile records: a mirror older than them is not used, and a pinned package missing names them. */
  pinnedInReleases?: PinnedInRelease[];
  /** Compute the image digests (result.image) even without an image output. */
  digests?: boolean;
  /** Called with the result before any output is written; throw to write nothing. */
  verify?: (result: BuildResult) => void;
  onEvent?: (arch: string, ev: CutEvent) => void;
  log?: (msg: string) => void;
  /** One line for the user, shown without --verbose (a pro archive ignored). */
  notice?: (msg: string) => void;
}

export interface ArchBuild {
  arch: string;
  cut: CutResult;
  /** The cut's tree with the image's additions (non-root home, files, SBOM). */
  tree: Tree;
  /** The InRelease files the package choice read (none when every package was pinned). */
  archives: UsedInRelease[];
}

export interface BuildResult {
  epoch: number;
  archs: ArchBuild[];
  tar?: WrittenBlob;
  oci?: LayoutResult;
  ociArchive?: LayoutResult;
  push?: PushResult;
  /** The image's digests: from --oci / --oci-archive, or computed on the side (spec.digests). */
  image?: LayoutResult;
  config: ImageConfig;
}

/** Seconds since the epoch for every time in the outputs: SOURCE_DATE_EPOCH, else 0. The only reader of the variable. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.SOURCE_DATE_EPOCH;
  return v && /^\d+$/.test(v) ? Number(v) : 0;
}

/** The epoch of a build: the spec's, else the environment's. */
export function specEpoch(spec: Pick<BuildSpec, 'epoch'>): number {
  return spec.epoch ?? sourceDateEpoch();
}

export function wantsImage(o: Outputs): boolean {
  return Boolean(o.oci || o.ociArchive || o.push);
}

export function checkOutputs(spec: Pick<BuildSpec, 'outputs' | 'archs' | 'sbom'>): void {
  const o = spec.outputs;
  checkKind('--root', o.root, 'directory');
  checkKind('--tar', o.tar, 'file');
  checkKind('--oci', o.oci, 'directory');
  checkKind('--oci-archive', o.ociArchive, 'file');
  checkKind('--sbom', spec.sbom?.file, 'file');
  if (!o.root && !o.tar && !wantsImage(o)) {
    throw new ChiselError('nothing to write: give at least one output', {
      code: 'usage',
      exitCode: ExitCode.USAGE,
      hint: 'use --root DIR, --tar FILE, --oci DIR, --oci-archive FILE or --push REGISTRY/REPO:TAG',
    });
  }
  if (spec.archs.length === 0) throw new ChiselError('no architecture given', { code: 'usage', exitCode: ExitCode.USAGE });
  if (new Set(spec.archs).size !== spec.archs.length)
    throw new ChiselError(`an architecture is listed twice: ${spec.archs.join(',')}`, { code: 'usage', exitCode: ExitCode.USAGE });
  if (spec.archs.length > 1 && (o.root || o.tar)) {
    throw new ChiselError(`--root and --tar hold one architecture, but ${spec.archs.length} were asked (${spec.archs.join(', ')})`, {
      code: 'usage',
      exitCode: ExitCode.USAGE,
      hint: 'use --oci, --oci-archive or --push for a multi-arch image, or cut each arch separately',
    });
  }
}

/**
 * Outputs are written to a temporary sibling and renamed into place, so a
 * path that exists must already be what the output is: renaming onto
 * /dev/null or a FIFO would replace the device with a file.
 */
function checkKind(flag: string, target: string | undefined, want: 'file' | 'directory'): void {
  if (!target) return;
  let st: Stats;
  try {
    st = lstatSync(target);
  } catch {
    return; // not there yet (or its parent is missing: the writer says so)
  }
  const kind = st.isCharacterDevice()
    ? 'a character device'
    : st.isBlockDevice()
      ? 'a block device'
      : st.isFIFO()
        ? 'a FIFO'
        : st.isSocket()
          ? 'a socket'
          : undefined;
  if (!kind) return; // files, directories and links: the writer checks what it needs
  throw new ChiselError(
    `${flag} ${target}: exists and is ${kind}; chisel-ts writes a new ${want} there (through a temporary sibling and a rename), which would replace it`,
    {
      code: 'usage',
      exitCode: ExitCode.USAGE,
      hint: `give a path that does not exist or is a ${want === 'file' ? 'regular file' : 'directory'}`,
    },
  );
}

/** The image configuration with the non-root defaults applied. */
export function effectiveConfig(spec: Pick<BuildSpec, 'config' | 'nonroot'>): ImageConfig {
  const c: ImageConfig = { ...(spec.config ?? {}) };
  if (spec.nonroot) {
    c.user ??= `${NONROOT.uid}:${NONROOT.gid}`;
    c.workdir ??= NONROOT.home;
  }
  return c;
}
