// String methods (spec "Built-in methods" for string) and the two formatting
// operations: str.format and the % operator.

import { noKwargs, unpack } from './args.js';
import { fail } from './errors.js';
import { sliceIndices } from './sequence.js';
import { iterableItems, repr, StarDict, StarList, StarTuple, str, toInt, toStr, typeName, type Value } from './values.js';

type StringMethod = (s: string, args: Value[], kwargs: Map<string, Value>) => Value;

const WHITESPACE = /\s/;

function isSpace(c: string): boolean {
  return WHITESPACE.test(c);
}

function optStr(v: Value | undefined, what: string): string | null {
  return v === undefined || v === null ? null : toStr(v, what);
}

function optInt(v: Value | undefined, dflt: number, what: string): number {
  return v === undefined || v === null ? dflt : toInt(v, what);
}

/** The substring s[start:end] used by find/count/startswith, and its offset. */
function window(s: string, start: Value | undefined, end: Value | undefined): [string, number] {
  const r = sliceIndices(s.length, start ?? null, end ?? null, null);
  return [s.slice(r.start, Math.max(r.start, r.stop)), r.start];
}

function strip(s: string, chars: string | null, left: boolean, right: boolean): string {
  const drop = chars === null ? isSpace : (c: string) => chars.includes(c);
  let i = 0;
  let j = s.length;
  if (left) while (i < j && drop(s[i]!)) i++;
  if (right) while (j > i && drop(s[j - 1]!)) j--;
  return s.slice(i, j);
}

function splitWhitespace(s: string, maxsplit: number): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isSpace(s[i]!)) i++;
    if (i >= s.length) break;
    if (maxsplit >= 0 && out.length === maxsplit) {
      out.push(s.slice(i));
      break;
    }
    let j = i;
    while (j < s.length && !isSpace(s[j]!)) j++;
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}

function rsplitWhitespace(s: string, maxsplit: number): string[] {
  const out: string[] = [];
  let j = s.length;
  for (;;) {
    while (j > 0 && isSpace(s[j - 1]!)) j--;
    if (j <= 0) break;
    if (maxsplit >= 0 && out.length === maxsplit) {
      out.push(s.slice(0, j));
      break;
    }
    let i = j;
    while (i > 0 && !isSpace(s[i - 1]!)) i--;
    out.push(s.slice(i, j));
    j = i;
  }
  return out.reverse();
}

function split(s: string, sep: string, maxsplit: number): string[] {
  if (sep === '') fail('split: empty separator');
  const out: string[] = [];
  let i = 0;
  while (maxsplit < 0 || out.length < maxsplit) {
    const j = s.indexOf(sep, i);
    if (j < 0) break;
    out.push(s.slice(i, j));
    i = j + sep.length;
  }
  out.push(s.slice(i));
  return out;
}

function rsplit(s: string, sep: string, maxsplit: number): string[] {
  if (sep === '') fail('rsplit: empty separator');
  const out: string[] = [];
  let j = s.length;
  while (maxsplit < 0 || out.length < maxsplit) {
    const i = s.lastIndexOf(sep, j - sep.length);
    if (i < 0 || j - sep.length < 0) break;
    out.push(s.slice(i + sep.length, j));
    j = i;
  }
  out.push(s.slice(0, j));
  return out.reverse();
}

function strList(items: string[]): StarList {
  return new StarList(items);
}

function affixes(name: string, v: Value | undefined): string[] {
  if (v instanceof StarTuple) return v.items.map((x) => toStr(x, `${name}: tuple element`));
  return [toStr(v ?? null, name)];
}

function findIn(name: string, s: string, args: Value[], kwargs: Map<string, Value>, last: boolean): number {
  const [sub, start, end] = unpack(name, args, kwargs, ['sub', 'start?', 'end?']);
  const [w, off] = window(s, start, end);
  const needle = toStr(sub!, name);
  const i = last ? w.lastIndexOf(needle) : w.indexOf(needle);
  return i < 0 ? -1 : i + off;
}

const isCased = (c: string): boolean => c.toLowerCase() !== c.toUpperCase();

function title(s: string): string {
  let out = '';
  let prevCased = false;
  for (const c of s) {
    out += prevCased ? c.toLowerCase() : c.toUpperCase();
    prevCased = isCased(c);
  }
  return out;
}

function every(s: string, test: (c: string) => boolean): boolean {
  if (s.length === 0) return false;
  for (const c of s) if (!test(c)) return false;
  return true;
}

export const STRING_METHODS: Record<string, StringMethod> = {
  capitalize: (s, a, k) => (unpack('capitalize', a, k, []), s.slice(0, 1).toUpperCase() + s.slice(1).toLowerCase()),
  count: (s, a, k) => {
    const [sub, start, end] = unpack('count', a, k, ['sub', 'start?', 'end?']);
    const [w] = window(s, start, end);
    const needle = toStr(sub!, 'count');
    if (needle === '') return w.length + 1;
    return w.split(needle).length - 1;
  },
  elems: (s, a, k) => (unpack('elems', a, k, []), strList([...s])),
  endswith: (s, a, k) => {
    const [suffix, start, end] = unpack('endswith', a, k, ['suffix', 'start?', 'end?']);
    const [w] = window(s, start, end);
    return affixes('endswith', suffix).some((x) => w.endsWith(x));
  },
  find: (s, a, k) => findIn('find', s, a, k, false),
  format: (s, a, k) => format(s, a, k),
  index: (s, a, k) => {
    const i = findIn('index', s, a, k, false);
    return i < 0 ? fail('index: substring not found') : i;
  },
  isalnum: (s, a, k) => (unpack('isalnum', a, k, []), every(s, (c) => /[\p{L}\p{N}]/u.test(c))),
  isalpha: (s, a, k) => (unpack('isalpha', a, k, []), every(s, (c) => /\p{L}/u.test(c))),
  isdigit: (s, a, k) => (unpack('isdigit', a, k, []), every(s, (c) => /\p{Nd}/u.test(c))),
  islower: (s, a, k) => (unpack('islower', a, k, []), [...s].some(isCased) && s === s.toLowerCase()),
  isspace: (s, a, k) => (unpack('isspace', a, k, []), every(s, isSpace)),
  istitle: (s, a, k) => (unpack('istitle', a, k, []), [...s].some(isCased) && s === title(s)),
  isupper: (s, a, k) => (unpack('isupper', a, k, []), [...s].some(isCased) && s === s.toUpperCase()),
  join: (s, a, k) => {
    noKwargs('join', k);
    const [it] = unpack('join', a, k, ['iterable']);
    const parts = iterableItems(it!, 'join').map((x) =>
      typeof x === 'string' ? x : fail(`join: in list, want string, got ${typeName(x)}`),
    );
    return parts.join(s);
  },
  lower: (s, a, k) => (unpack('lower', a, k, []), s.toLowerCase()),
  lstrip: (s, a, k) => strip(s, optStr(unpack('lstrip', a, k, ['chars?'])[0], 'lstrip'), true, false),
  partition: (s, a, k) => {
    const sep = toStr(unpack('partition', a, k, ['sep'])[0]!, 'partition');
    if (sep === '') fail('partition: empty separator');
    const i = s.indexOf(sep);
    return new StarTuple(i < 0 ? [s, '', ''] : [s.slice(0, i), sep, s.slice(i + sep.length)]);
  },
  removeprefix: (s, a, k) => {
    const p = toStr(unpack('removeprefix', a, k, ['prefix'])[0]!, 'removeprefix');
    return s.startsWith(p) ? s.slice(p.length) : s;
  },
  removesuffix: (s, a, k) => {
    const p = toStr(unpack('removesuffix', a, k, ['suffix'])[0]!, 'removesuffix');
    return p !== '' && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
  },
  replace: (s, a, k) => {
    const [oldV, newV, countV] = unpack('replace', a, k, ['old', 'new', 'count?']);
    const from = toStr(oldV!, 'replace');
    const to = toStr(newV!, 'replace');
    const count = optInt(countV, -1, 'replace');
    const parts = from === '' ? ['', ...s, ''] : s.split(from);
    if (count < 0) return parts.join(to);
    const head = parts.slice(0, count + 1).join(to);
    const rest = parts.slice(count + 1);
    return rest.length === 0 ? head : head + from + rest.join(from);
  },
  rfind: (s, a, k) => findIn('rfind', s, a, k, true),
  rindex: (s, a, k) => {
    const i = findIn('rindex', s, a, k, true);
    return i < 0 ? fail('rindex: substring not found') : i;
  },
  rpartition: (s, a, k) => {
    const sep = toStr(unpack('rpartition', a, k, ['sep'])[0]!, 'rpartition');
    if (sep === '') fail('rpartition: empty separator');
    const i = s.lastIndexOf(sep);
    return new StarTuple(i < 0 ? ['', '', s] : [s.slice(0, i), sep, s.slice(i + sep.length)]);
  },
  rsplit: (s, a, k) => {
    const [sep, max] = unpack('rsplit', a, k, ['sep?', 'maxsplit?']);
    const sepS = optStr(sep, 'rsplit');
    const n = optInt(max, -1, 'rsplit');
    return strList(sepS === null ? rsplitWhitespace(s, n) : rsplit(s, sepS, n));
  },
  rstrip: (s, a, k) => strip(s, optStr(unpack('rstrip', a, k, ['chars?'])[0], 'rstrip'), false, true),
  split: (s, a, k) => {
    const [sep, max] = unpack('split', a, k, ['sep?', 'maxsplit?']);
    const sepS = optStr(sep, 'split');
    const n = optInt(max, -1, 'split');
    return strList(sepS === null ? splitWhitespace(s, n) : split(s, sepS, n));
  },
  splitlines: (s, a, k) => {
    const keep = unpack('splitlines', a, k, ['keepends?'])[0];
    const lines: string[] = [];
    const re = /\r\n|\r|\n/g;
    let i = 0;
    for (let m = re.exec(s); m; m = re.exec(s)) {
      lines.push(s.slice(i, keep === true ? m.index + m[0].length : m.index));
      i = m.index + m[0].length;
    }
    if (i < s.length) lines.push(s.slice(i));
    return strList(lines);
  },
  startswith: (s, a, k) => {
    const [prefix, start, end] = unpack('startswith', a, k, ['prefix', 'start?', 'end?']);
    const [w] = window(s, start, end);
    return affixes('startswith', prefix).some((x) => w.startsWith(x));
  },
  strip: (s, a, k) => strip(s, optStr(unpack('strip', a, k, ['chars?'])[0], 'strip'), true, true),
  title: (s, a, k) => (unpack('title', a, k, []), title(s)),
  upper: (s, a, k) => (unpack('upper', a, k, []), s.toUpperCase()),
};

/** "{} {0} {name} {{}}".format(...) — no format specs, as in Starlark. */
export function format(s: string, args: Value[], kwargs: Map<string, Value>): string {
  let out = '';
  let auto = 0;
  let mode: 'auto' | 'manual' | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '}') {
      if (s[i + 1] !== '}') fail('format: single } in format string');
      out += '}';
      i++;
      continue;
    }
    if (c !== '{') {
      out += c;
      continue;
    }
    if (s[i + 1] === '{') {
      out += '{';
      i++;
      continue;
    }
    const close = s.indexOf('}', i);
    if (close < 0) fail('format: unmatched {');
    let field = s.slice(i + 1, close);
    i = close;
    let conv = 's';
    const bang = field.indexOf('!');
    if (bang >= 0) {
      conv = field.slice(bang + 1);
      field = field.slice(0, bang);
      if (conv !== 's' && conv !== 'r') fail(`format: unknown conversion "!${conv}"`);
    }
    if (field.includes(':')) fail('format: format specs (:...) are not supported');
    if (field.includes('.') || field.includes('[')) fail(`format: attribute and index fields are not supported: {${field}}`);
    let v: Value | undefined;
    if (field === '' || /^\d+$/.test(field)) {
      const m = field === '' ? 'auto' : 'manual';
      if (mode !== null && mode !== m) fail('format: cannot switch between automatic and manual field numbering');
      mode = m;
      const n = field === '' ? auto++ : Number(field);
      v = args[n];
      if (v === undefined) fail(`format: tuple index out of range (no argument ${n})`);
    } else {
      v = kwargs.get(field);
      if (v === undefined) fail(`format: keyword ${field} not found`);
    }
    out += conv === 'r' ? repr(v!) : str(v!);
  }
  return out;
}

/** The string % operator: %s %r %d %i %o %x %X %c %%, with a tuple, a single value or a dict. */
export function percentFormat(s: string, arg: Value): string {
  const values = arg instanceof StarTuple ? arg.items : [arg];
  let next = 0;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    let v: Value | undefined;
    let verb = s[++i];
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (verb === '(') {
      const close = s.indexOf(')', i);
      if (close < 0) fail('incomplete format key');
      if (!(arg instanceof StarDict)) fail('format requires a mapping');
      const key = s.slice(i + 1, close);
      v = (arg as StarDict).get(key);
      if (v === undefined) fail(`key ${JSON.stringify(key)} not in dict`);
      i = close + 1;
      verb = s[i];
    } else {
      v = values[next++];
      if (v === undefined) fail('not enough arguments for format string');
    }
    const val = v!;
    switch (verb) {
      case 's':
        out += str(val);
        break;
      case 'r':
        out += repr(val);
        break;
      case 'd':
      case 'i':
      case 'o':
      case 'x':
      case 'X': {
        if (typeof val !== 'number') fail(`%${verb} format requires integer: ${typeName(val)}`);
        const n = val as number;
        const radix = verb === 'o' ? 8 : verb === 'x' || verb === 'X' ? 16 : 10;
        const text = n.toString(radix);
        out += verb === 'X' ? text.toUpperCase() : text;
        break;
      }
      case 'c':
        if (typeof val === 'number') out += String.fromCodePoint(val);
        else if (typeof val === 'string' && [...val].length === 1) out += val;
        else fail(`%c format requires a single-character string or int, got ${typeName(val)}`);
        break;
      case undefined:
        return fail('incomplete format');
      default:
        fail(`unsupported format character '${verb}'`);
    }
  }
  if (!(arg instanceof StarDict) && next < values.length) fail('too many arguments for format string');
  return out;
}
