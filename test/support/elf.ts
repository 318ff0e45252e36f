// ELF checks on a cut root: every DT_NEEDED library must be found inside the
// root (standard library dirs, RUNPATH/RPATH with $ORIGIN). Uses readelf.

import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, openSync, readSync, closeSync, readdirSync } from 'node:fs';
import path from 'node:path';

function isElf(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.toString('latin1') === '\x7fELF';
  } finally {
    closeSync(fd);
  }
}

export function elfFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && st.size > 64 && isElf(p)) out.push(p);
    }
  };
  walk(root);
  return out;
}

/** "file: missing libx.so.1" for each unresolved DT_NEEDED. */
export function missingNeeded(root: string, multiarch = 'x86_64-linux-gnu', ignore: string[] = []): string[] {
  const problems: string[] = [];
  const std = [`/usr/lib/${multiarch}`, `/lib/${multiarch}`, '/usr/lib', '/lib', '/usr/lib64', '/lib64'];
  for (const f of elfFiles(root)) {
    const dyn = execFileSync('readelf', ['-d', '-W', f], { encoding: 'utf8' });
    const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
    const runpath = [...dyn.matchAll(/\((?:RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[([^\]]+)\]/g)].flatMap((m) => m[1]!.split(':'));
    const origin = path.dirname(f.slice(root.length));
    const dirs = [...runpath.map((r) => r.replace('$ORIGIN', origin).replace('${ORIGIN}', origin)), ...std];
    for (const lib of needed) {
      if (ignore.includes(lib)) continue;
      if (!dirs.some((d) => existsSync(path.join(root, d, lib)))) problems.push(`${f.slice(root.length)}: missing ${lib}`);
    }
  }
  return problems;
}
