// Debian architecture names.

const NODE_TO_DEBIAN: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'armhf',
  ia32: 'i386',
  ppc64: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
};

export const DEBIAN_ARCHS = ['amd64', 'arm64', 'armel', 'armhf', 'i386', 'ppc64el', 'riscv64', 's390x'];

/** Every architecture name a slice's `arch:` may hold (Debian's, ports included). */
export const KNOWN_ARCHS: ReadonlySet<string> = new Set([...DEBIAN_ARCHS, 'ppc64', 'mips64el', 'loong64']);

/** The architectures Chisel knows (the ones Ubuntu publishes): the only ones a release with an "ubuntu" archive may name. */
export const UBUNTU_ARCHS: ReadonlySet<string> = new Set(['amd64', 'arm64', 'armhf', 'i386', 'ppc64el', 'riscv64', 's390x']);

export function hostArch(): string {
  return NODE_TO_DEBIAN[process.arch] ?? process.arch;
}

/** The OCI platform (GOARCH naming) of a Debian architecture. */
export function ociPlatform(debArch: string): { architecture: string; os: 'linux'; variant?: string } {
  const map: Record<string, { architecture: string; variant?: string }> = {
    amd64: { architecture: 'amd64' },
    arm64: { architecture: 'arm64', variant: 'v8' },
    armhf: { architecture: 'arm', variant: 'v7' },
    armel: { architecture: 'arm', variant: 'v5' },
    i386: { architecture: '386' },
    ppc64el: { architecture: 'ppc64le' },
    riscv64: { architecture: 'riscv64' },
    s390x: { architecture: 's390x' },
  };
  const p = map[debArch] ?? { architecture: debArch };
  return { architecture: p.architecture, os: 'linux', ...(p.variant ? { variant: p.variant } : {}) };
}
