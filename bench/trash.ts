// Outputs and caches of finished runs are moved aside, not deleted, until the
// benchmark ends. Deleting thousands of files just before a timed run makes
// that run slower on some filesystems (ext4 skips recently freed inodes when
// it allocates new ones), so each run would pay for the cleanup of the one
// before it. A rename costs nothing; the whole work directory goes at the end.

import { promises as fs } from 'node:fs';
import path from 'node:path';

let n = 0;

export async function discard(p: string, work: string): Promise<void> {
  const trash = path.join(work, 'trash');
  await fs.mkdir(trash, { recursive: true });
  try {
    await fs.rename(p, path.join(trash, String(n++)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
