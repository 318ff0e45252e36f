// YAML files with positions: every value can be traced back to file:line:col
// for error messages. YAML 1.2 core schema; scalars whose YAML 1.2 reading
// differs from Go's yaml.v3 (octal modes like 0755, versions like 22.10) are
// read from their source text by the callers.

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type ParsedNode } from 'yaml';
import { ChiselError } from '../util/errors.js';
import type { SourcePos } from './model.js';

const MAX_ALIASES = 100;

export class YamlFile {
  readonly doc: Document.Parsed;
  private readonly lines: LineCounter;
  constructor(
    readonly file: string,
    text: string,
  ) {
    this.lines = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false, strict: true });
  }

  /** Syntax errors (with positions). */
  syntaxErrors(): ChiselError[] {
    return this.doc.errors.map((e) => {
      const { line, col } = this.lines.linePos(e.pos[0]);
      const msg = e.code === 'DUPLICATE_KEY' ? `duplicate key: ${firstLine(e.message)}` : `YAML syntax error: ${firstLine(e.message)}`;
      return new ChiselError(msg, { code: 'yaml', location: { file: this.file, line, col } });
    });
  }

  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: MAX_ALIASES });
  }

  posOfNode(node: Node | null | undefined): SourcePos {
    const off = (node as ParsedNode | undefined)?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(off);
    return { file: this.file, line, col };
  }

  /** The node at a path of keys / indexes (the key node when `key` is set). */
  nodeAt(path: Array<string | number>, key = false): Node | undefined {
    let cur: unknown = this.doc.contents;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (isMap(cur)) {
        const pair = cur.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
        if (!pair) return cur as Node;
        if (key && i === path.length - 1) return pair.key as Node;
        cur = pair.value ?? pair.key;
      } else if (isSeq(cur)) {
        const item = cur.items[Number(seg)];
        if (item === undefined) return cur as Node;
        cur = item;
      } else return cur as Node;
    }
    return cur as Node;
  }

  pos(path: Array<string | number>, key = false): SourcePos {
    return this.posOfNode(this.nodeAt(path, key));
  }

  /** Source text of a scalar (e.g. "0755", "22.10"). */
  source(path: Array<string | number>): string | undefined {
    const n = this.nodeAt(path);
    if (!isScalar(n)) return undefined;
    return (n as { source?: string }).source ?? String(n.value);
  }

  error(path: Array<string | number>, message: string, code = 'invalid', key = false): ChiselError {
    const p = this.pos(path, key);
    return new ChiselError(message, { code, location: { file: p.file, line: p.line, col: p.col } });
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
