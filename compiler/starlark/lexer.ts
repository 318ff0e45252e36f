// Starlark tokenizer: names, ints, strings, punctuation, and the NEWLINE /
// INDENT / DEDENT tokens that carry block structure. Newlines inside brackets
// and after a backslash are not tokens.

import { StarlarkError } from './errors.js';

export type TokenKind = 'name' | 'int' | 'string' | 'op' | 'newline' | 'indent' | 'dedent' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Name, operator text, or decoded string value. */
  text: string;
  /** Value of an int literal. */
  value: number;
  line: number;
  col: number;
}

const OPERATORS = [
  '**=',
  '//=',
  '<<=',
  '>>=',
  '==',
  '!=',
  '<=',
  '>=',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '//',
  '<<',
  '>>',
  '**',
  '+',
  '-',
  '*',
  '/',
  '%',
  '&',
  '|',
  '^',
  '~',
  '<',
  '>',
  '=',
  '.',
  ',',
  ':',
  ';',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
];

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
};

export function tokenize(src: string, file: string): Token[] {
  const tokens: Token[] = [];
  const indents = [0];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let depth = 0; // bracket nesting
  let atLineStart = true;

  const err = (msg: string, at = i): never => {
    throw new StarlarkError(file, { line, col: at - lineStart + 1 }, msg);
  };
  const push = (kind: TokenKind, text: string, start: number, value = 0): void => {
    tokens.push({ kind, text, value, line, col: start - lineStart + 1 });
  };

  while (i < src.length) {
    if (atLineStart && depth === 0) {
      // Measure indentation; skip blank and comment-only lines.
      let col = 0;
      let j = i;
      for (; j < src.length; j++) {
        const c = src[j];
        if (c === ' ') col++;
        else if (c === '\t') col += 8 - (col % 8);
        else if (c === '\f') col = 0;
        else break;
      }
      const c = src[j];
      if (c === '\n' || c === '\r' || c === '#' || j >= src.length) {
        i = j;
        if (c === '#') while (i < src.length && src[i] !== '\n') i++;
        if (i < src.length) {
          if (src[i] === '\r' && src[i + 1] === '\n') i++;
          i++;
          line++;
          lineStart = i;
        }
        continue;
      }
      i = j;
      atLineStart = false;
      const current = indents[indents.length - 1]!;
      if (col > current) {
        indents.push(col);
        push('indent', '', i);
      } else {
        while (col < indents[indents.length - 1]!) {
          indents.pop();
          push('dedent', '', i);
        }
        if (col !== indents[indents.length - 1]) err('unindent does not match any outer indentation level');
      }
    }

    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '\\') {
      if (src[i + 1] === '\n' || (src[i + 1] === '\r' && src[i + 2] === '\n')) {
        i += src[i + 1] === '\r' ? 3 : 2;
        line++;
        lineStart = i;
        continue;
      }
      err('unexpected backslash outside a string (line continuation must end the line)');
    }
    if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      if (depth === 0) {
        push('newline', '', i);
        atLineStart = true;
      }
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < src.length && isIdentPart(src[j]!)) j++;
      const word = src.slice(i, j);
      const q = src[j];
      if ((q === '"' || q === "'") && /^[rR]$/.test(word)) {
        i = readString(j, true, i);
        continue;
      }
      if ((q === '"' || q === "'") && /^[bB][rR]?$|^[rR][bB]$/.test(word)) err('bytes literals are not supported');
      push('name', word, i);
      i = j;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      const m = /^(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)([.eE]?)/.exec(src.slice(i, i + 200));
      if (!m || m[2] || c === '.') err('floating-point numbers are not supported');
      const text = m![1]!.replace(/_/g, '');
      let value: number;
      if (/^0[oObBxX]/.test(text)) value = Number(text.toLowerCase());
      else {
        if (text.length > 1 && text[0] === '0' && !/^0+$/.test(text)) err(`invalid int literal ${text} (use 0o prefix for octal)`);
        value = Number(text);
      }
      if (!Number.isSafeInteger(value)) err(`int literal ${text} is too large`);
      const next = src[i + m![1]!.length];
      if (next !== undefined && isIdentPart(next)) err(`invalid int literal ${src.slice(i, i + m![1]!.length + 1)}`);
      push('int', text, i, value);
      i += m![1]!.length;
      continue;
    }
    if (c === '"' || c === "'") {
      i = readString(i, false, i);
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) err(`unexpected character ${JSON.stringify(c)}`);
    if (op === '(' || op === '[' || op === '{') depth++;
    else if (op === ')' || op === ']' || op === '}') depth = Math.max(0, depth - 1);
    push('op', op!, i);
    i += op!.length;
  }
  if (depth > 0) err('unexpected end of file inside brackets');
  if (tokens.length > 0 && tokens[tokens.length - 1]!.kind !== 'newline') push('newline', '', i);
  while (indents.length > 1) {
    indents.pop();
    push('dedent', '', i);
  }
  push('eof', '', i);
  return tokens;

  /** Reads a string literal whose quote is at `q`; returns the index after it. */
  function readString(q: number, raw: boolean, start: number): number {
    const quote = src[q]!;
    const triple = src.startsWith(quote.repeat(3), q);
    const startLine = line;
    const startCol = start - lineStart + 1;
    let j = q + (triple ? 3 : 1);
    let out = '';
    for (;;) {
      if (j >= src.length) err(triple ? 'unterminated triple-quoted string' : 'unterminated string', start);
      const ch = src[j]!;
      if (triple ? src.startsWith(quote.repeat(3), j) : ch === quote) {
        j += triple ? 3 : 1;
        break;
      }
      if (ch === '\n' || ch === '\r') {
        if (!triple) err('unterminated string (newline in string literal)', start);
        if (ch === '\r' && src[j + 1] === '\n') j++;
        out += '\n';
        j++;
        line++;
        lineStart = j;
        continue;
      }
      if (ch !== '\\') {
        out += ch;
        j++;
        continue;
      }
      const e = src[j + 1] ?? '';
      if (raw) {
        // In raw strings a backslash is kept, but still protects the next quote or newline.
        out += ch + (e === '\r' || e === '\n' ? '\n' : e);
        if (e === '\n') {
          line++;
          lineStart = j + 2;
        }
        j += 2;
        continue;
      }
      if (e === '\n' || e === '\r') {
        j += e === '\r' && src[j + 2] === '\n' ? 3 : 2;
        line++;
        lineStart = j;
        continue;
      }
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        j += 2;
        continue;
      }
      if (e >= '0' && e <= '7') {
        const m = /^[0-7]{1,3}/.exec(src.slice(j + 1, j + 4))![0];
        out += String.fromCharCode(parseInt(m, 8));
        j += 1 + m.length;
        continue;
      }
      const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (hexLen > 0) {
        const hex = src.slice(j + 2, j + 2 + hexLen);
        if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex)) err(`invalid escape sequence \\${e}${hex}`, j);
        const code = parseInt(hex, 16);
        if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) err(`invalid Unicode code point in \\${e}${hex}`, j);
        out += String.fromCodePoint(code);
        j += 2 + hexLen;
        continue;
      }
      err(`invalid escape sequence \\${e}`, j);
    }
    tokens.push({ kind: 'string', text: out, value: 0, line: startLine, col: startCol });
    return j;
  }
}

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c > '\x7f';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
