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

export function hostArch(): string {
  return NODE_TO_DEBIAN[process.arch] ?? process.arch;
}
