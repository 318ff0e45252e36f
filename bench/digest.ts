// A digest of a root directory as written on disk: every path (sorted), its
// type, mode, owner, mtime, and its content (sha256) or link target. Two
// roots with the same digest are the same tree, byte for byte.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

async function walk(root: string, rel: string, out: string[]): Promise<void> {
  const names = (await fs.readdir(path.join(root, rel))).sort();
  for (const name of names) {
    const r = `${rel}/${name}`;
    const p = path.join(root, r);
    const st = await fs.lstat(p);
    const head = `${r}\0${st.mode.toString(8)}\0${st.uid}:${st.gid}\0${Math.floor(st.mtimeMs / 1000)}`;
    if (st.isSymbolicLink()) out.push(`${head}\0->${await fs.readlink(p)}`);
    else if (st.isFile())
      out.push(
        `${head}\0${st.nlink > 1 ? `n${st.nlink}` : ''}\0${createHash('sha256')
          .update(await fs.readFile(p))
          .digest('hex')}`,
      );
    else if (st.isDirectory()) {
      out.push(`${head}\0dir`);
      await walk(root, r, out);
    } else out.push(`${head}\0other`);
  }
}

export async function dirDigest(root: string): Promise<string> {
  const lines: string[] = [];
  await walk(root, '', lines);
  return `sha256:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
}
