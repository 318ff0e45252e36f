// The fast path for YAML files (the release's slice definition files): js-yaml (about 3.5x faster than
// the yaml library on chisel-releases) with the key positions the release
// model keeps, taken from js-yaml's node events.
//
// Only a file that loads without any problem takes this path. A file that
// needs anything more (an error to report with its position, a YAML feature
// the fast path does not vouch for) raises NeedsFullParse, and the caller
// parses it again with YamlFile (file.ts), which reports every problem
// with its position. So every message comes from one parser, and the fast
// path only has to agree with it on files that are valid: test/yamlfast.test.ts
// checks that on every file of chisel-releases and on fuzzed variants.
//
// The fast path declines (NeedsFullParse):
//  * files over 64 KiB (YamlFile bounds their token count), a BOM but at the start, directives
//    (%YAML may change the schema), tags (a ! but on a # line), anchors, control characters
//    (CR and NEL too: the two parsers break lines differently), U+2028/9,
//    escaped NULs, merge keys (any "<<"), nesting deeper than MAX_YAML_DEPTH, flow
//    collections and plain or quoted scalars over more than one line (the
//    parsers differ on their indentation rules);
//  * a tab in a line's indentation, a # right after a quote or bracket
//    (YamlFile wants a space before a comment), text after a --- or ...
//    marker, a block scalar starting with a line of spaces;
//  * any js-yaml error (duplicate keys, syntax);
//  * keys that are not strings (null, numbers, booleans), keys whose object
//    order differs from the file's (integer-like keys, __proto__), keys over 1000 characters, and any node whose events do not
//    line up with the loaded value;
//  * asking for a position inside a sequence (no valid file needs one).

import { CORE_SCHEMA, load, type State } from 'js-yaml';
import type { ChiselError } from '../util/errors.js';
import type { SourcePos, YamlDoc } from './file.js';
import { MAX_YAML_DEPTH } from './text.js';

/** Larger files go to YamlFile, which counts their tokens first. */
const FAST_MAX_BYTES = 64 * 1024;
const DECLINE_CHARS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff\ufeff]/;
/**
 * A "!" that may start a tag: on a line whose first character (after the
 * indentation) is not "#". On a "#" line it is text to both parsers (a
 * comment, or a block scalar's content).
 */
const MAYBE_TAG = /^ *(?:[^#\n ][^\n]*)?!/m;

/** Whether the text holds something the fast path declines (see above); cheap substring tests first. */
function declines(text: string): boolean {
  if (DECLINE_CHARS.test(text)) return true;
  if (text.includes('!') && MAYBE_TAG.test(text)) return true;
  if (text.includes('\\') && /\\(?:0|x00|u0000|U00000000)/.test(text)) return true;
  if (text.includes('#') && /["'\]}]#/.test(text)) return true;
  if (text.startsWith('%') || text.includes('\n%')) return true;
  // Merge keys (<<): js-yaml's core schema reads them as plain keys; YamlFile merges them as go-yaml does.
  if (text.includes('<<')) return true;
  if (text.includes('\t') && /^ *\t/m.test(text)) return true;
  return (text.includes('---') || text.includes('...')) && /^(?:---|\.\.\.)[^\n]/m.test(text);
}
const INDEX_LIKE = /^(?:0|[1-9]\d{0,9})$/;

export class NeedsFullParse extends Error {}

interface Frame {
  start: number;
  line: number;
  lineStart: number;
  end: number;
  kind: string | null;
  result: unknown;
  kids: Frame[] | undefined;
}

interface Entry {
  key: Frame;
  value: Frame | undefined;
}

/** The loaded value and its node frames; undefined when the file needs the full parser. */
export function fastYaml(file: string, source: string): FastYaml | undefined {
  // A leading BOM is not part of the document, but YamlFile counts it as a column of line 1.
  const bom = source.charCodeAt(0) === 0xfeff ? 1 : 0;
  const text = bom ? source.slice(1) : source;
  if (text.length > FAST_MAX_BYTES || declines(text)) return undefined;
  const roots: Frame[] = [];
  const stack: Frame[] = [];
  let anchored = false;
  const listener = (event: string, s: State): void => {
    if (event === 'open') {
      stack.push({ start: s.position, line: s.line, lineStart: s.lineStart, end: 0, kind: null, result: undefined, kids: undefined });
      return;
    }
    const f = stack.pop()!;
    if ((s as State & { anchor: string | null }).anchor !== null) anchored = true;
    if (s.kind === null) return; // no node here (an empty value)
    f.end = s.position;
    f.kind = s.kind;
    f.result = s.result;
    // A node js-yaml composed in two nested steps (a flow collection on the
    // line after its key): one frame, with the inner one's children.
    const only = f.kids?.length === 1 ? f.kids[0]! : undefined;
    if (only && only.kind === f.kind && only.result === f.result && typeof f.result === 'object') f.kids = only.kids;
    const parent = stack[stack.length - 1];
    if (!parent) roots.push(f);
    else (parent.kids ??= []).push(f);
  };
  let value: unknown;
  try {
    value = load(text, { schema: CORE_SCHEMA, listener, maxDepth: MAX_YAML_DEPTH } as Parameters<typeof load>[1]);
  } catch {
    return undefined;
  }
  if (anchored || roots.length !== 1 || roots[0]!.result !== value) return undefined;
  const doc = new FastYaml(file, text, value, roots[0]!, bom);
  try {
    doc.checkAll();
  } catch (e) {
    if (e instanceof NeedsFullParse) return undefined;
    throw e;
  }
  return doc;
}

export class FastYaml implements YamlDoc {
  private readonly entries = new Map<Frame, Map<string, Entry>>();

  constructor(
    readonly file: string,
    private readonly text: string,
    readonly value: unknown,
    private readonly root: Frame,
    private readonly bom: number,
  ) {}

  /** Lines up every mapping's keys with its events (keys are plain scalars); NeedsFullParse otherwise. */
  checkAll(): void {
    const stack = [this.root];
    while (stack.length) {
      const f = stack.pop()!;
      if (f.kind === 'mapping') this.entriesOf(f, false);
      if (this.isMultiLineFlow(f)) throw new NeedsFullParse();
      if (f.kids) stack.push(...f.kids);
    }
  }

  /**
   * A flow node over more than one line: a {...} or [...] collection, or a
   * plain or quoted scalar; or a block scalar (| or >) starting with a line
   * of spaces. The two parsers differ on how such nodes must be indented.
   */
  private isMultiLineFlow(f: Frame): boolean {
    const t = this.text;
    let i = f.start;
    while (i < f.end && (t[i] === ' ' || t[i] === '\n' || t[i] === '\t')) i++;
    const c = t[i];
    if (f.kind === 'scalar' && (c === '|' || c === '>')) return blankIndentedStart(t, i, f.end);
    if (f.kind === 'scalar' ? false : c !== '{' && c !== '[') return false;
    const nl = t.indexOf('\n', i);
    return nl !== -1 && nl < f.end;
  }

  /**
   * A mapping's keys with their key and value frames, in the order of the
   * file (kept for the next call when `keep`; checkAll only checks).
   */
  private entriesOf(map: Frame, keep = true): Map<string, Entry> {
    let out = this.entries.get(map);
    if (out) return out;
    out = new Map();
    const kids = map.kids ?? [];
    const obj = map.result as Record<string, unknown>;
    const keys = Object.keys(obj);
    let i = 0;
    for (let k = 0; k < keys.length; k++) {
      const name = keys[k]!;
      if (INDEX_LIKE.test(name) || name === '__proto__' || name.length > 1000) throw new NeedsFullParse();
      const key = kids[i++];
      if (!key || typeof key.result !== 'string' || key.result !== name || key.end - key.start > 1000) throw new NeedsFullParse();
      const c = this.text.charCodeAt(key.start);
      if (!(c === 0x22 || c === 0x27 || this.text.startsWith(name, key.start))) throw new NeedsFullParse();
      const v = obj[name];
      let value: Frame | undefined;
      const next = kids[i];
      if (v !== null && typeof v === 'object') {
        if (!next || next.result !== v) throw new NeedsFullParse();
        value = next;
      } else if (v !== null) {
        if (next?.kind !== 'scalar' || !Object.is(next.result, v)) throw new NeedsFullParse();
        value = next;
      } else if (next && next.kind === 'scalar' && next.result === null) {
        value = next; // an explicit null (~): keys are strings, so not the next key
      }
      if (value) i++;
      if (keep) out.set(name, { key, value });
    }
    if (i !== kids.length) throw new NeedsFullParse();
    if (keep) this.entries.set(map, out);
    return out;
  }

  private frameAt(path: Array<string | number>, key: boolean): Frame {
    let cur = this.root;
    for (let i = 0; i < path.length; i++) {
      if (cur.kind !== 'mapping') throw new NeedsFullParse();
      const e = this.entriesOf(cur).get(String(path[i]));
      if (!e) throw new NeedsFullParse();
      if (key && i === path.length - 1) return e.key;
      if (!e.value) throw new NeedsFullParse();
      cur = e.value;
    }
    return cur;
  }

  pos(path: Array<string | number>, key = false): SourcePos {
    const f = this.frameAt(path, key);
    // A key's frame opens at its first character (checked in entriesOf).
    if (!key) throw new NeedsFullParse();
    return { file: this.file, line: f.line + 1, col: f.start - f.lineStart + 1 + (f.line === 0 ? this.bom : 0) };
  }

  /** Source text of a scalar value, e.g. "0755"; only plain numbers are vouched for. */
  source(path: Array<string | number>): string | undefined {
    const f = this.frameAt(path, false);
    if (f.kind !== 'scalar') return undefined;
    const src = this.text.slice(f.start, f.end).trim();
    if (!/^[-+]?[0-9][0-9a-zA-Z_.]*$/.test(src)) throw new NeedsFullParse();
    return src;
  }

  /** A problem: the file goes to the full parser, which reports it with its position. */
  error(): ChiselError {
    throw new NeedsFullParse();
  }

  /** A warning too: the full parser reports it with its position. */
  warning(): ChiselError {
    throw new NeedsFullParse();
  }
}

/** A block scalar whose body starts with a line of spaces (YamlFile asks for an indentation indicator when it is too deep). */
function blankIndentedStart(t: string, header: number, end: number): boolean {
  const body = t.indexOf('\n', header) + 1;
  if (body === 0 || body >= end) return false;
  let j = body;
  while (j < end && t[j] === ' ') j++;
  return j > body && (j === end || t[j] === '\n');
}
