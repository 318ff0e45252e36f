// YAML files with positions: every value can be traced back to file:line:col
// for error messages. YAML 1.2 core schema; scalars whose YAML 1.2 reading
// differs from Go's yaml.v3 (octal modes like 0755, versions like 22.10) are
// read from their source text by the callers.
//
// Hostile input is bounded here, before any caller sees a value:
//  * readYamlText (text.ts): files larger than MAX_YAML_BYTES, files that
//    are not regular files, bytes that are not UTF-8 are errors;
//  * control characters (NUL, ESC, ...) are errors at their line:column;
//  * files over LEX_CHECK_BYTES are lexed first and refused above
//    MAX_YAML_TOKENS tokens: the yaml library needs ~0.5 KB of heap per
//    token, and the largest slice file of chisel-releases has ~5,000;
//  * nesting deeper than MAX_YAML_DEPTH, duplicate keys, keys that are
//    collections, NUL characters in strings: errors at their position (one
//    iterative walk over the document, so no stack overflow);
//  * a stack overflow inside the parser (deep flow nesting) is reported as
//    "nesting too deep" at its position;
//  * alias expansion ("billion laughs") is bounded by MAX_ALIASES;
//  * at most MAX_ERRORS_PER_FILE errors are reported per file.

import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  parseAllDocuments,
  parseDocument,
  type Document,
  type Node,
  type Pair,
  type ParsedNode,
  type YAMLMap,
} from 'yaml';
import { ChiselError } from '../util/errors.js';
import { capErrors, MAX_ERRORS_PER_FILE, MAX_YAML_DEPTH } from './text.js';

/** Where a value came from in a YAML file, for error messages. */
export interface SourcePos {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
}

/** A parsed YAML file that can point at its keys and values (YamlFile, or FastYaml of fast.ts). */
export interface YamlDoc {
  readonly file: string;
  pos(path: Array<string | number>, key?: boolean): SourcePos;
  /** Source text of a scalar (e.g. "0755"). */
  source(path: Array<string | number>): string | undefined;
  error(path: Array<string | number>, message: string, code?: string, key?: boolean): ChiselError;
  /** A problem Chisel accepts: reported by `validate`, not failing (the fast path declines the file). */
  warning(path: Array<string | number>, message: string, code?: string, key?: boolean): ChiselError;
}

/**
 * Parse options shared by the YAML readers: merge keys (`<<: *anchor`) are
 * applied as go-yaml v3 (Chisel's YAML library) applies them: the keys of the
 * map win, then the merged maps in their order.
 */
const PARSE_OPTIONS = { merge: true, uniqueKeys: false, prettyErrors: false, strict: true } as const;

const MAX_ALIASES = 100;
/** Files above this size are lexed first to count their tokens. */
const LEX_CHECK_BYTES = 64 * 1024;
/** Most YAML tokens in one file (the largest file of chisel-releases has ~5,400). */
export const MAX_YAML_TOKENS = 200_000;

/** YAML forbids these (c-printable): C0 controls but tab, LF, CR; DEL; C1 controls but NEL; U+FFFE, U+FFFF. */
const NON_PRINTABLE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]/g;

/**
 * Bounds a message that echoes input: words longer than 160 characters (long
 * paths, values) are shortened, then a message still longer than 1000
 * characters keeps its start (what) and end (what to do).
 */
export function clipLongWords(message: string): string {
  if (message.length <= 400) return message;
  const m = message.replace(/\S{161,}/g, (w) => `${w.slice(0, 120)}…(${w.length} characters)`);
  if (m.length <= 1000) return m;
  return `${m.slice(0, 600)}…(${m.length - 800} characters)…${m.slice(-200)}`;
}

function charName(c: string): string {
  const names: Record<string, string> = {
    '\0': 'NUL',
    '\x1b': 'ESC',
    '\x7f': 'DEL',
    '\b': 'backspace',
    '\f': 'form feed',
    '\v': 'vertical tab',
  };
  const code = `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return names[c] ? `${code} (${names[c]})` : code;
}

export class YamlFile implements YamlDoc {
  readonly doc: Document.Parsed;
  private readonly lines: LineCounter;
  private readonly problems: ChiselError[] = [];
  private readonly notes: ChiselError[] = [];
  private readonly keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
  /** False when the document must not be converted (too large, too deep). */
  private convertible = true;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.lines = new LineCounter();
    const tokens = text.length > LEX_CHECK_BYTES ? countTokens(text, MAX_YAML_TOKENS) : 0;
    if (tokens > MAX_YAML_TOKENS) {
      // Not parsed at all: the parse itself is what costs the memory.
      this.doc = parseDocument('', { lineCounter: this.lines });
      this.problems.push(
        new ChiselError(
          `file has more than ${MAX_YAML_TOKENS} YAML tokens (the largest slice definition in chisel-releases has about 5,000); check that this is the file you meant`,
          {
            code: 'yaml-too-large',
            location: { file, line: 1, col: 1 },
          },
        ),
      );
      this.convertible = false;
      return;
    }
    // uniqueKeys: false — the library's duplicate check is quadratic in the
    // size of a map; walk() checks duplicates with a Set.
    // Chisel reads the first document of a file only; what follows a second "---" is ignored (a warning).
    const docs = parseAllDocuments(text, { lineCounter: this.lines, ...PARSE_OPTIONS });
    const all = Array.isArray(docs) ? docs : [];
    this.doc = all[0] ?? parseDocument(text, { lineCounter: this.lines, ...PARSE_OPTIONS });
    if (all.length > 1)
      this.notes.push(
        this.errorAt(
          all[1]!.range[0],
          'a second YAML document (after "---") is ignored, as Chisel reads only the first; remove it or move it to its own file',
          'yaml-documents',
        ),
      );
    for (const m of text.matchAll(NON_PRINTABLE)) {
      if (this.problems.length >= MAX_ERRORS_PER_FILE) break;
      this.problems.push(
        this.errorAt(
          m.index,
          `control character ${charName(m[0])} is not allowed in YAML; remove it (a double-quoted string can hold it as an escape, e.g. "\\x1b")`,
          'yaml',
        ),
      );
    }
    const rawControl = this.problems.length > 0;
    for (const e of this.doc.errors) {
      let msg: string;
      if (e.code === 'RESOURCE_EXHAUSTION') {
        msg = `YAML nesting is too deep to parse (${firstLine(e.message)}); release files nest a few levels only`;
        this.convertible = false;
      } else msg = `YAML syntax error: ${firstLine(e.message)}`;
      this.problems.push(this.errorAt(e.pos[0], msg, 'yaml'));
    }
    for (const w of this.doc.warnings) {
      if (w.code === 'TAG_RESOLVE_FAILED')
        this.problems.push(this.errorAt(w.pos[0], `${firstLine(w.message)}: custom YAML tags are not supported; remove the tag`, 'yaml'));
    }
    if (this.doc.errors.length === 0) this.walk(!rawControl);
  }

  /** Checks the document without recursion: depth, keys, duplicate keys, NUL characters. */
  private walk(checkNul: boolean): void {
    const stack: Array<{ node: unknown; depth: number; key: string | undefined }> = [{ node: this.doc.contents, depth: 0, key: undefined }];
    let deepReported = false;
    while (stack.length) {
      const { node, depth, key } = stack.pop()!;
      if (isScalar(node)) {
        if (checkNul && typeof node.value === 'string' && node.value.includes('\0') && key !== 'text') {
          this.problems.push(this.errorAt(this.offset(node), 'string contains a NUL character (\\0); remove it', 'yaml'));
        }
        continue;
      }
      if (!isMap(node) && !isSeq(node)) continue; // aliases are checked where their anchor is
      if (depth >= MAX_YAML_DEPTH) {
        if (!deepReported)
          this.problems.push(
            this.errorAt(
              this.offset(node),
              `YAML nesting is deeper than ${MAX_YAML_DEPTH} levels; release files nest a few levels only`,
              'yaml',
            ),
          );
        deepReported = true;
        this.convertible = false;
        continue;
      }
      if (isSeq(node)) {
        for (const item of node.items) stack.push({ node: item, depth: depth + 1, key: undefined });
        continue;
      }
      const seen = new Map<string, Node>();
      for (const pair of node.items) {
        const k = isAlias(pair.key) ? pair.key.resolve(this.doc) : pair.key;
        if (isMap(k) || isSeq(k) || (isScalar(k) && typeof k.value === 'object' && k.value !== null)) {
          this.problems.push(
            this.errorAt(
              this.offset(pair.key),
              'a map key must be a plain string or number, not a map, sequence or binary value; write the key as a string',
              'yaml',
            ),
          );
          this.convertible = false;
          continue;
        }
        const name = keyString(k);
        const first = seen.get(name);
        if (first) {
          const p = this.posOfNode(first);
          this.problems.push(
            this.errorAt(
              this.offset(pair.key),
              `duplicate key ${JSON.stringify(name)} (first at line ${p.line}, column ${p.col}); remove one of them`,
              'yaml',
            ),
          );
        } else seen.set(name, pair.key as Node);
        if (checkNul && name.includes('\0'))
          this.problems.push(this.errorAt(this.offset(pair.key), 'key contains a NUL character (\\0); remove it', 'yaml'));
        stack.push({ node: pair.value, depth: depth + 1, key: name });
      }
    }
  }

  private offset(node: unknown): number {
    return (node as ParsedNode | undefined)?.range?.[0] ?? 0;
  }

  private errorAt(offset: number, message: string, code: string): ChiselError {
    const { line, col } = this.lines.linePos(offset);
    return new ChiselError(clipLongWords(message), { code, location: { file: this.file, line, col } });
  }

  /** Syntax errors and the problems found by the checks above (with positions), at most MAX_ERRORS_PER_FILE. */
  syntaxErrors(): ChiselError[] {
    return capErrors(this.problems);
  }

  /** Problems Chisel accepts (see YamlDoc.warning), found while parsing. */
  syntaxWarnings(): ChiselError[] {
    return [...this.notes];
  }

  /** The document as plain data; a ChiselError (with position) when aliases expand too much. */
  toJS(): unknown {
    if (!this.convertible) throw this.errorAt(0, 'the YAML document cannot be read (see the errors above)', 'yaml');
    try {
      return this.doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (e) {
      if (e instanceof ReferenceError && /alias/i.test(e.message)) {
        throw this.errorAt(
          this.offset(this.firstAlias()),
          `YAML aliases (*name) expand to too much data (more than ${MAX_ALIASES} copies); write the values out instead of repeating an alias of an alias`,
          'yaml',
        );
      }
      if (e instanceof RangeError) throw this.errorAt(0, `YAML document is too deeply nested to read (${e.message})`, 'yaml');
      throw this.errorAt(0, `cannot read YAML: ${(e as Error).message}`, 'yaml');
    }
  }

  private firstAlias(): Node | undefined {
    const stack: unknown[] = [this.doc.contents];
    while (stack.length) {
      const n = stack.pop();
      if (isAlias(n)) return n;
      if (isPair(n)) stack.push(n.value, n.key);
      else if (isMap(n) || isSeq(n)) for (let i = n.items.length - 1; i >= 0; i--) stack.push(n.items[i]);
    }
    return undefined;
  }

  posOfNode(node: Node | null | undefined): SourcePos {
    const { line, col } = this.lines.linePos(this.offset(node));
    return { file: this.file, line, col };
  }

  /** The pair of a map's key, its own or merged (`<<`) in the order toJS merges them. */
  private pairOf(map: YAMLMap, key: string, depth = 0): Pair | undefined {
    const own = this.ownPairOf(map, key);
    if (own || depth > MAX_YAML_DEPTH) return own;
    for (const p of map.items as Pair[]) {
      if (!isScalar(p.key) || typeof p.key.value !== 'symbol') continue; // merge keys only
      const value = isAlias(p.value) ? p.value.resolve(this.doc) : p.value;
      const sources = isSeq(value) ? value.items : [value];
      for (const src of sources) {
        const m = isAlias(src) ? src.resolve(this.doc) : src;
        const found = isMap(m) ? this.pairOf(m, key, depth + 1) : undefined;
        if (found) return found;
      }
    }
    return undefined;
  }

  /** The pair of a map's own key (an index is built for maps with many keys). */
  private ownPairOf(map: YAMLMap, key: string): Pair | undefined {
    if (map.items.length < 16) return (map.items as Pair[]).find((p) => keyString(p.key) === key);
    let index = this.keyIndex.get(map);
    if (!index) {
      index = new Map();
      for (const p of map.items as Pair[]) {
        const k = keyString(p.key);
        if (!index.has(k)) index.set(k, p);
      }
      this.keyIndex.set(map, index);
    }
    return index.get(key);
  }

  /** The node at a path of keys / indexes (the key node when `key` is set). */
  nodeAt(path: Array<string | number>, key = false): Node | undefined {
    let cur: unknown = this.doc.contents;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (isMap(cur)) {
        const pair = this.pairOf(cur, String(seg));
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
    return new ChiselError(clipLongWords(message), { code, location: { file: p.file, line: p.line, col: p.col } });
  }

  warning(path: Array<string | number>, message: string, code = 'warning', key = false): ChiselError {
    return this.error(path, message, code, key);
  }
}

/** The property name toJS gives a key. */
function keyString(k: unknown): string {
  if (isScalar(k)) return k.value === null || k.value === undefined ? '' : typeof k.value === 'symbol' ? '<<' : String(k.value);
  return String(k ?? '');
}

/** Counts the lexer's tokens, stopping once past `max`. */
function countTokens(text: string, max: number): number {
  let n = 0;
  for (const _ of new Lexer().lex(text)) if (++n > max) break;
  return n;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * A file's YAML and its value: syntax errors (and a value that cannot be
 * built) are added to `errors` and give undefined; syntax warnings go to `warnings`.
 */
export function readYamlDoc(
  file: string,
  text: string,
  errors: ChiselError[],
  warnings: ChiselError[],
): { y: YamlFile; raw: unknown } | undefined {
  const y = new YamlFile(file, text);
  const syntax = y.syntaxErrors();
  if (syntax.length) {
    errors.push(...syntax);
    return undefined;
  }
  warnings.push(...y.syntaxWarnings());
  try {
    return { y, raw: y.toJS() };
  } catch (e) {
    errors.push(e as ChiselError);
    return undefined;
  }
}
