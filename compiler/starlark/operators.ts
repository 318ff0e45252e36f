// Arithmetic, comparison and membership operators on values (spec "Expressions").

import { fail } from './errors.js';
import { contains } from './sequence.js';
import { percentFormat } from './strings.js';
import { compare, equals, StarDict, StarList, StarTuple, truthy, typeName, type Value } from './values.js';

/** Largest string or list a single `*` or `+` may build. */
const MAX_SIZE = 1 << 27;

function checkInt(n: number): number {
  if (!Number.isSafeInteger(n)) fail('int overflow (result exceeds 2^53)');
  return n;
}

function checkSize(n: number): void {
  if (n > MAX_SIZE) fail(`result of ${n} elements is too large`);
}

function repeat(x: Value, n: number): Value {
  const times = Math.max(0, n);
  if (typeof x === 'string') {
    checkSize(x.length * times);
    return x.repeat(times);
  }
  const items = (x as StarList | StarTuple).items;
  checkSize(items.length * times);
  const out: Value[] = [];
  for (let i = 0; i < times; i++) out.push(...items);
  return x instanceof StarList ? new StarList(out) : new StarTuple(out);
}

function bigint(op: string, x: number, y: number): number {
  const a = BigInt(x);
  const b = BigInt(y);
  let r: bigint;
  switch (op) {
    case '&':
      r = a & b;
      break;
    case '|':
      r = a | b;
      break;
    case '^':
      r = a ^ b;
      break;
    case '<<':
      if (y < 0) fail('negative shift count');
      if (y >= 64) fail('shift count too large');
      r = a << b;
      break;
    default:
      if (y < 0) fail('negative shift count');
      r = a >> b;
  }
  if (r > BigInt(Number.MAX_SAFE_INTEGER) || r < BigInt(Number.MIN_SAFE_INTEGER)) fail('int overflow (result exceeds 2^53)');
  return Number(r);
}

export function binaryOp(op: string, x: Value, y: Value): Value {
  switch (op) {
    case '==':
      return equals(x, y);
    case '!=':
      return !equals(x, y);
    case '<':
      return compare(x, y) < 0;
    case '<=':
      return compare(x, y) <= 0;
    case '>':
      return compare(x, y) > 0;
    case '>=':
      return compare(x, y) >= 0;
    case 'in':
      return contains(y, x);
    case 'not in':
      return !contains(y, x);
  }
  const xi = typeof x === 'number';
  const yi = typeof y === 'number';
  if (xi && yi) {
    const a = x as number;
    const b = y as number;
    switch (op) {
      case '+':
        return checkInt(a + b);
      case '-':
        return checkInt(a - b);
      case '*':
        return checkInt(a * b);
      case '//':
        if (b === 0) fail('floored division by zero');
        return Math.floor(a / b);
      case '%': {
        if (b === 0) fail('integer modulo by zero');
        const r = a % b;
        return r !== 0 && r < 0 !== b < 0 ? r + b : r === 0 ? 0 : r;
      }
      case '/':
        return fail('floating-point division is not supported; use // for integer division');
      case '&':
      case '|':
      case '^':
      case '<<':
      case '>>':
        return bigint(op, a, b);
    }
  }
  switch (op) {
    case '+':
      if (typeof x === 'string' && typeof y === 'string') {
        checkSize(x.length + y.length);
        return x + y;
      }
      if (x instanceof StarList && y instanceof StarList) return new StarList([...x.items, ...y.items]);
      if (x instanceof StarTuple && y instanceof StarTuple) return new StarTuple([...x.items, ...y.items]);
      break;
    case '*':
      if (yi && (typeof x === 'string' || x instanceof StarList || x instanceof StarTuple)) return repeat(x, y as number);
      if (xi && (typeof y === 'string' || y instanceof StarList || y instanceof StarTuple)) return repeat(y, x as number);
      break;
    case '%':
      if (typeof x === 'string') return percentFormat(x, y);
      break;
    case '|':
      if (x instanceof StarDict && y instanceof StarDict) {
        const d = new StarDict();
        for (const [k, v] of x.entries.values()) d.set(k, v);
        for (const [k, v] of y.entries.values()) d.set(k, v);
        return d;
      }
      break;
  }
  return fail(`unknown binary op: ${typeName(x)} ${op} ${typeName(y)}`);
}

export function unaryOp(op: string, x: Value): Value {
  if (op === 'not') return !truthy(x);
  if (typeof x !== 'number') fail(`unknown unary op: ${op}${typeName(x)}`);
  const n = x as number;
  if (op === '-') return n === 0 ? 0 : -n;
  if (op === '+') return n;
  return -n - 1; // ~
}
