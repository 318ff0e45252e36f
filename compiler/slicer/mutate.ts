// Mutate scripts: Starlark run per slice, dependencies first, with one global
// `content` that reads selected paths, writes mutable ones and lists selected
// directories. Written content goes into the content store; the tree keeps
// references only.

import { posix } from 'node:path';
import { fromJS, hostModule, runScript, StarlarkError, type Value } from '../starlark/index.js';
import { sliceKey, type SliceDef } from '../release/model.js';
import { ChiselError } from '../util/errors.js';
import type { ContentReader, ContentStore } from '../cache/store.js';
import type { BuiltTree, Node } from './build.js';
import type { Selection } from './selection.js';

export async function runMutateScripts(sel: Selection, built: BuiltTree, store: ContentStore): Promise<void> {
  const reader = store.contentReader();
  try {
    for (const slice of sel.slices) if (slice.mutate) await runMutateScript(slice, built, store, reader);
  } finally {
    reader.close();
  }
}

async function runMutateScript(slice: SliceDef, built: BuiltTree, store: ContentStore, reader: ContentReader): Promise<void> {
  const key = sliceKey(slice.package, slice.name);
  const writes = new Map<string, string>();
  const fail = (msg: string): never => {
    throw new Error(msg);
  };
  const nodeFor = (path: string, what: string): Node => {
    if (typeof path !== 'string' || !path.startsWith('/')) fail(`${what}: path must be absolute, got ${JSON.stringify(path)}`);
    const node = built.nodes.get(built.resolve(path));
    if (!node) fail(`${what}: ${path} is not part of the selected slices`);
    return node!;
  };
  const content = hostModule('content', {
    read: (args) => {
      const path = pathArg(args[0]);
      const node = nodeFor(path, 'content.read');
      if (!node.explicit) fail(`content.read: ${path} is not listed in the selected slices`);
      if (node.entry.type === 'dir') fail(`content.read: ${path} is a directory`);
      const text = writes.get(node.entry.path) ?? reader.read(node.entry.sha256!).toString('utf8');
      return text;
    },
    write: (args) => {
      const path = pathArg(args[0]);
      const data = args[1];
      if (typeof data !== 'string') fail(`content.write: data for ${path} must be a string`);
      const node = nodeFor(path, 'content.write');
      if (!node.mutable) fail(`content.write: ${path} is not mutable (mark it {mutable: true} in its slice)`);
      if (node.entry.type === 'hardlink' || node.inode !== undefined) fail(`content.write: ${path} is a hard link and cannot be written`);
      writes.set(node.entry.path, data as string);
      return null;
    },
    list: (args) => {
      const path = pathArg(args[0]);
      const node = nodeFor(path.length > 1 ? path.replace(/\/$/, '') : path, 'content.list');
      if (node.entry.type !== 'dir') fail(`content.list: ${path} is not a directory`);
      const prefix = `${node.entry.path}/`;
      const names: string[] = [];
      for (const [p, n] of built.nodes) {
        if (p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
          names.push(posix.basename(p) + (n.entry.type === 'dir' ? '/' : ''));
      }
      names.sort();
      return fromJS(names);
    },
  });
  try {
    runScript(slice.mutate!, { filename: `${slice.package}.yaml (slice ${key} mutate)`, globals: { content } });
  } catch (e) {
    const where = slice.pos ? `${slice.pos.file}: ` : '';
    if (e instanceof StarlarkError)
      throw new ChiselError(`${where}slice ${key}: mutate script: ${e.message}`, { code: 'mutate', location: { subject: key } });
    throw new ChiselError(`${where}slice ${key}: mutate script: ${(e as Error).message}`, {
      code: 'mutate',
      location: { subject: key },
      cause: e,
    });
  }
  for (const [path, text] of writes) {
    const node = built.nodes.get(path)!;
    const data = Buffer.from(text, 'utf8');
    node.entry.sha256 = await store.putBuffer(data);
    node.entry.size = data.length;
    node.slices.add(key);
  }
}

/** Remove `until: mutate` paths (only when every slice listing them said so; non-empty directories stay). */
export function removeUntilMutate(built: BuiltTree): void {
  const paths = [...built.nodes.keys()].filter((p) => {
    const n = built.nodes.get(p)!;
    return n.explicit && n.untilMutate;
  });
  // Children first, so a directory emptied by the removals can go too.
  paths.sort().reverse();
  for (const p of paths) {
    const n = built.nodes.get(p)!;
    if (n.entry.type === 'dir') {
      const prefix = `${p}/`;
      let empty = true;
      for (const q of built.nodes.keys())
        if (q.startsWith(prefix)) {
          empty = false;
          break;
        }
      if (!empty) continue;
    }
    built.nodes.delete(p);
  }
}

function pathArg(v: Value | undefined): string {
  if (typeof v !== 'string') throw new Error(`path must be a string, got ${v === undefined ? 'nothing' : typeof v}`);
  return v;
}
