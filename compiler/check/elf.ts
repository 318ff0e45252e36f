// A small ELF reader: the header, the program headers and the dynamic
// section, which is all `chisel-ts check` needs (the interpreter, DT_NEEDED,
// DT_RPATH, DT_RUNPATH, DT_SONAME). 32 and 64 bit, either byte order. Reads
// through a callback, so a file is never read whole.

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type ReadAt = (offset: number, length: number) => Buffer;

export interface ElfInfo {
  bits: 32 | 64;
  machine: number;
  /** ET_EXEC 2, ET_DYN 3, ... */
  type: number;
  /** PT_INTERP: the program interpreter, when the file names one. */
  interp?: string;
  needed: string[];
  rpath: string[];
  runpath: string[];
  soname?: string;
}

/** Debian architecture -> multiarch triplet and ELF e_machine. */
export const ELF_ARCHS: Record<string, { multiarch: string; machine: number; bits: 32 | 64 }> = {
  amd64: { multiarch: 'x86_64-linux-gnu', machine: 62, bits: 64 },
  arm64: { multiarch: 'aarch64-linux-gnu', machine: 183, bits: 64 },
  armhf: { multiarch: 'arm-linux-gnueabihf', machine: 40, bits: 32 },
  armel: { multiarch: 'arm-linux-gnueabi', machine: 40, bits: 32 },
  i386: { multiarch: 'i386-linux-gnu', machine: 3, bits: 32 },
  ppc64el: { multiarch: 'powerpc64le-linux-gnu', machine: 21, bits: 64 },
  riscv64: { multiarch: 'riscv64-linux-gnu', machine: 243, bits: 64 },
  s390x: { multiarch: 's390x-linux-gnu', machine: 22, bits: 64 },
  mips64el: { multiarch: 'mips64el-linux-gnuabi64', machine: 8, bits: 64 },
  loong64: { multiarch: 'loongarch64-linux-gnu', machine: 258, bits: 64 },
  ppc64: { multiarch: 'powerpc64-linux-gnu', machine: 21, bits: 64 },
};

export class ElfError extends Error {}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
/** Bounds on what a hostile file can make the reader allocate. */
const MAX_PHNUM = 4096;
const MAX_DYNAMIC = 1 << 20;
const MAX_STRTAB = 16 << 20;

/** True when the bytes start an ELF file. */
export function isElf(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

/** The file's ELF facts, undefined when it is not ELF; ElfError when it is ELF but damaged. */
export function readElf(read: ReadAt): ElfInfo | undefined {
  const h = read(0, 64);
  if (!isElf(h)) return undefined;
  if (h.length < 52) throw new ElfError('truncated ELF header');
  const bits = h[4] === 2 ? 64 : h[4] === 1 ? 32 : undefined;
  const le = h[5] === 1 ? true : h[5] === 2 ? false : undefined;
  if (bits === undefined || le === undefined) throw new ElfError(`unknown ELF class ${h[4]} or byte order ${h[5]}`);
  if (bits === 64 && h.length < 64) throw new ElfError('truncated ELF header');
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (b: Buffer, o: number) => (bits === 64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
  const type = u16(h, 16);
  const machine = u16(h, 18);
  const phoff = bits === 64 ? word(h, 32) : u32(h, 28);
  const phentsize = u16(h, bits === 64 ? 54 : 42);
  const phnum = u16(h, bits === 64 ? 56 : 44);
  const info: ElfInfo = { bits, machine, type, needed: [], rpath: [], runpath: [] };
  if (phnum === 0) return info; // a relocatable object: nothing to load
  if (phnum > MAX_PHNUM || phentsize < (bits === 64 ? 56 : 32)) throw new ElfError(`bad program header table (${phnum} x ${phentsize})`);
  const ph = read(phoff, phnum * phentsize);
  if (ph.length < phnum * phentsize) throw new ElfError('truncated program header table');
  const loads: Array<{ vaddr: number; offset: number; filesz: number }> = [];
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize;
    const ptype = u32(ph, o);
    const offset = bits === 64 ? word(ph, o + 8) : u32(ph, o + 4);
    const vaddr = bits === 64 ? word(ph, o + 16) : u32(ph, o + 8);
    const filesz = bits === 64 ? word(ph, o + 32) : u32(ph, o + 16);
    if (ptype === PT_LOAD) loads.push({ vaddr, offset, filesz });
    else if (ptype === PT_DYNAMIC) dynamic = { offset, size: filesz };
    else if (ptype === PT_INTERP) {
      if (filesz > 4096) throw new ElfError('PT_INTERP is too long');
      info.interp = cString(read(offset, filesz), 0);
    }
  }
  if (!dynamic) return info;
  if (dynamic.size > MAX_DYNAMIC) throw new ElfError('dynamic section is too large');
  const dyn = read(dynamic.offset, dynamic.size);
  const entsize = bits === 64 ? 16 : 8;
  const entries: Array<[number, number]> = [];
  let strtab: number | undefined;
  let strsz = 0;
  for (let o = 0; o + entsize <= dyn.length; o += entsize) {
    const tag = bits === 64 ? word(dyn, o) : u32(dyn, o);
    const val = bits === 64 ? word(dyn, o + 8) : u32(dyn, o + 4);
    if (tag === DT_NULL) break;
    if (tag === DT_STRTAB) strtab = val;
    else if (tag === DT_STRSZ) strsz = val;
    else entries.push([tag, val]);
  }
  if (!entries.some(([t]) => t === DT_NEEDED || t === DT_SONAME || t === DT_RPATH || t === DT_RUNPATH)) return info;
  if (strtab === undefined) throw new ElfError('dynamic section without DT_STRTAB');
  // DT_STRTAB is an address: the file offset is found through the PT_LOAD segment that maps it
  const seg = loads.find((l) => strtab! >= l.vaddr && strtab! < l.vaddr + l.filesz);
  if (!seg) throw new ElfError('DT_STRTAB is outside every loaded segment');
  const size = Math.min(strsz || seg.vaddr + seg.filesz - strtab, seg.vaddr + seg.filesz - strtab, MAX_STRTAB);
  const strings = read(seg.offset + (strtab - seg.vaddr), size);
  for (const [tag, val] of entries) {
    if (tag !== DT_NEEDED && tag !== DT_SONAME && tag !== DT_RPATH && tag !== DT_RUNPATH) continue;
    if (val >= strings.length) throw new ElfError(`dynamic string offset ${val} is outside the string table`);
    const s = cString(strings, val);
    if (tag === DT_NEEDED) info.needed.push(s);
    else if (tag === DT_SONAME) info.soname = s;
    else (tag === DT_RPATH ? info.rpath : info.runpath).push(...s.split(':').filter((d) => d !== ''));
  }
  return info;
}

function cString(b: Buffer, at: number): string {
  const end = b.indexOf(0, at);
  return b.toString('utf8', at, end < 0 ? b.length : end);
}
