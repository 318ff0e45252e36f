// Files from the build context added to a cut tree (an image file's
// `files:`): the application on top of the slices. Contents go to the content
// store; modes are normalised (0755 when any execute bit is set, else 0644;
// directories 0755) and owners come from the entry, so the result does not
// depend on the checkout's umask or owner. Symlinks are copied as links.

import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { ContentStore } from '../cache/store.js';
import { openInContext, type SourceContext, walkEntry } from './source.js';
import { ChiselError } from '../util/errors.js';
import { ensureDir, withEntries } from '../tree/edit.js';
import type { Tree, TreeEntry } from '../tree/model.js';

export interface AddFiles {
  /** File or directory on the host (absolute). */
  src: string;
  /** Absolute path in the image; for a directory source, the directory it becomes. */
  dest: string;
  uid?: number;
  gid?: number;
  /** Override the mode of added files (not directories). */
  mode?: number;
  /** An image file's entry: the walk stays inside this build context (context/source.ts). */
  context?: SourceContext;
}

export async function addFiles(tree: Tree, adds: AddFiles[], store: ContentStore): Promise<Tree> {
  let out = tree;
  for (const a of adds) {
    const st = await fs.lstat(a.src).catch(() => undefined);
    if (!st)
      throw new ChiselError(`files: ${a.src} does not exist`, {
        code: 'image-file',
        hint: 'paths in files: are relative to the image file',
      });
    const dest = path.posix.normalize(a.dest).replace(/\/$/, '');
    if (!dest.startsWith('/') || dest === '/')
      throw new ChiselError(`files: destination ${a.dest} must be an absolute path below /`, { code: 'image-file' });
    const entries: TreeEntry[] = [];
    const visit = async (src: string, to: string): Promise<void> => {
      const s = await fs.lstat(src);
      if (a.context && !(await walkEntry(a.context, src, s))) return;
      const owner = { uid: a.uid ?? 0, gid: a.gid ?? 0 };
      if (s.isDirectory()) {
        entries.push({ path: to, type: 'dir', mode: 0o755, ...owner, size: 0 });
        for (const name of (await fs.readdir(src)).sort()) await visit(path.join(src, name), `${to}/${name}`);
      } else if (s.isSymbolicLink()) {
        entries.push({ path: to, type: 'symlink', mode: 0o777, ...owner, size: 0, link: await fs.readlink(src) });
      } else if (s.isFile()) {
        const { sha256, size } = await store.putStream(a.context ? await openInContext(a.context, src, s) : createReadStream(src));
        entries.push({ path: to, type: 'file', mode: a.mode ?? (s.mode & 0o111 ? 0o755 : 0o644), ...owner, size, sha256 });
      } else {
        throw new ChiselError(`files: ${src} is not a regular file, directory or symlink`, { code: 'image-file' });
      }
    };
    await visit(a.src, dest);
    out = withEntries(ensureDir(out, path.posix.dirname(dest), 0o755, 0, 0), entries);
  }
  return out;
}
