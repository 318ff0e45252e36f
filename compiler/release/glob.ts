// Chisel's glob language: `?` one character except '/', `*` a run without
// '/' (not empty right after a '/'), `**` anything including '/'.
// Directories end in '/'.

const cache = new Map<string, RegExp>();

function toRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  let src = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        src += '.*';
        i++;
      } else src += pattern[i - 1] === '/' ? '[^/]+' : '[^/]*'; // as Chisel v1.4.1: a `*` right after '/' matches one character at least, so `/d/*` never matches `/d/` itself
    } else if (c === '?') src += '[^/]';
    else src += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  re = new RegExp(`${src}$`, 's');
  cache.set(pattern, re);
  return re;
}

export function isGlob(path: string): boolean {
  return path.includes('*') || path.includes('?');
}

export function globMatch(pattern: string, path: string): boolean {
  if (!isGlob(pattern)) return pattern === path;
  return toRegExp(pattern).test(path);
}

/** The literal part of a pattern before its first wildcard. */
export function literalPrefix(pattern: string): string {
  const i = pattern.search(/[*?]/);
  return i < 0 ? pattern : pattern.slice(0, i);
}

type Token = { t: 'c'; c: string } | { t: '?' } | { t: '*' } | { t: '**' };

function tokens(p: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        out.push({ t: '**' });
        i++;
      } else out.push({ t: '*' });
    } else if (c === '?') out.push({ t: '?' });
    else out.push({ t: 'c', c });
  }
  return out;
}

interface Shape {
  segs: string[];
  deep: boolean;
  tokens: Token[];
}
const shapes = new Map<string, Shape>();
function shape(p: string): Shape {
  let s = shapes.get(p);
  if (!s) {
    s = { segs: p.split('/'), deep: p.includes('**'), tokens: tokens(p) };
    shapes.set(p, s);
  }
  return s;
}

/** Cheap test that two path segments cannot match a common string. */
export function segmentsDisjoint(x: string, y: string): boolean {
  const px = literalPrefix(x);
  const py = literalPrefix(y);
  if (!(px.startsWith(py) || py.startsWith(px))) return true;
  const ix = Math.max(x.lastIndexOf('*'), x.lastIndexOf('?'));
  const iy = Math.max(y.lastIndexOf('*'), y.lastIndexOf('?'));
  const sx = x.slice(ix + 1);
  const sy = y.slice(iy + 1);
  return !(sx.endsWith(sy) || sy.endsWith(sx));
}

/** Whether some path matches both patterns. */
export function globsOverlap(a: string, b: string): boolean {
  if (!isGlob(a)) return globMatch(b, a);
  if (!isGlob(b)) return globMatch(a, b);
  const sa = shape(a);
  const sb = shape(b);
  if (!sa.deep && !sb.deep && sa.segs.length !== sb.segs.length) return false;
  const n = Math.min(sa.segs.length, sb.segs.length);
  for (let k = 0; k < n; k++) {
    const x = sa.segs[k]!;
    const y = sb.segs[k]!;
    if (x.includes('**') || y.includes('**')) break;
    if (segmentsDisjoint(x, y)) return false;
  }
  const ta = sa.tokens;
  const tb = sb.tokens;
  const W = tb.length + 1;
  const memo = new Int8Array((ta.length + 1) * W); // 0 unknown, 1 false/in progress, 2 true
  const star = (t: Token) => t.t === '*' || t.t === '**';
  // Can star token s consume one character that token x produces?
  const eats = (s: Token, x: Token) => s.t === '**' || x.t !== 'c' || x.c !== '/';
  const go = (i: number, j: number): boolean => {
    const key = i * W + j;
    const hit = memo[key]!;
    if (hit !== 0) return hit === 2;
    memo[key] = 1;
    let r = false;
    const x = ta[i];
    const y = tb[j];
    if (!x && !y) r = true;
    else if (x && star(x) && (go(i + 1, j) || (y !== undefined && eats(x, y) && go(i, j + 1)))) r = true;
    else if (y && star(y) && (go(i, j + 1) || (x !== undefined && eats(y, x) && go(i + 1, j)))) r = true;
    else if (x && y && !star(x) && !star(y)) {
      const ok = x.t === 'c' && y.t === 'c' ? x.c === y.c : x.t === 'c' ? x.c !== '/' : y.t === 'c' ? y.c !== '/' : true;
      r = ok && go(i + 1, j + 1);
    }
    memo[key] = r ? 2 : 1;
    return r;
  };
  return go(0, 0);
}
