// Describe a directory tree the way Chisel's tests do, so expectations read
// as tables: "/dir/": "dir 0755", "/f": "file 0644 1a2b3c4d", "/l": "symlink ./f".
// Hard links share a "<N>" suffix numbered in path order.

import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export function describeTree(root: string, opts: { owners?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const inodes = new Map<number, string[]>();
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const st = lstatSync(abs);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      const own = opts.owners ? ` ${st.uid}:${st.gid}` : '';
      const p = `${rel}/${name}`;
      if (st.isDirectory()) {
        out[`${p}/`] = `dir ${mode}${own}`;
        walk(abs, p);
      } else if (st.isSymbolicLink()) {
        out[p] = `symlink ${readlinkSync(abs)}${own}`;
      } else if (st.isFile()) {
        const sum = createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 8);
        out[p] = `file ${mode} ${sum}${own}`;
        if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), p]);
      } else {
        out[p] = `other ${mode}`;
      }
    }
  };
  walk(root, '');
  let n = 0;
  const groups = [...inodes.values()].sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  for (const g of groups) {
    n++;
    for (const p of g) out[p] += ` <${n}>`;
  }
  return out;
}

export function sha8(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 8);
}
