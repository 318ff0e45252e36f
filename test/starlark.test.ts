// Starlark interpreter: table tests per language feature and builtin, with
// expected values (as Starlark repr) and expected error messages with positions.

import { describe, expect, it } from 'vitest';
import { checkScript, fromJS, hostModule, runScript, StarlarkError, toJS, type Value } from '../compiler/starlark/index.js';

const FILE = 'test.star';

function run(
  src: string,
  opts: { globals?: Record<string, Value>; maxSteps?: number; print?: (s: string) => void } = {},
): Map<string, Value> {
  return runScript(src, {
    filename: FILE,
    globals: opts.globals ?? {},
    ...(opts.maxSteps ? { maxSteps: opts.maxSteps } : {}),
    ...(opts.print ? { print: opts.print } : {}),
  });
}

/** repr() of an expression, computed by the interpreter itself. */
function reprOf(expr: string): string {
  return run(`r = repr(${expr})`).get('r') as string;
}

function errorOf(src: string, opts: Parameters<typeof run>[1] = {}): StarlarkError {
  try {
    run(src, opts);
  } catch (e) {
    if (e instanceof StarlarkError) return e;
    throw new Error(`expected StarlarkError, got ${String(e)}`);
  }
  throw new Error(`expected an error from:\n${src}`);
}

// Expression -> repr of its value. Cross-checked against CPython where the
// languages agree (repr quoting, type names, bool/int keys and .elems differ).
const EXPRESSIONS: Array<[string, string]> = [
  ['1 + 2 * 3', '7'],
  ['(1 + 2) * 3', '9'],
  ['7 // 2', '3'],
  ['-7 // 2', '-4'],
  ['7 // -2', '-4'],
  ['-7 % 3', '2'],
  ['7 % -3', '-2'],
  ['-7 % -3', '-1'],
  ['2 - 5', '-3'],
  ['-(3)', '-3'],
  ['+4', '4'],
  ['~5', '-6'],
  ['6 & 3', '2'],
  ['6 | 3', '7'],
  ['6 ^ 3', '5'],
  ['1 << 10', '1024'],
  ['1024 >> 3', '128'],
  ['0x1f + 0o17 + 0b101', '51'],
  ['1_000_000', '1000000'],
  ['True and 0', '0'],
  ['0 or "x"', '"x"'],
  ['None or []', '[]'],
  ['not 0', 'True'],
  ['not "a"', 'False'],
  ['1 if True else 2', '1'],
  ['1 if "" else 2', '2'],
  ['1 == 1', 'True'],
  ['1 != 1', 'False'],
  ['"a" < "b"', 'True'],
  ['[1, 2] < [1, 3]', 'True'],
  ['(1, 2) < (1, 2, 0)', 'True'],
  ['3 >= 3', 'True'],
  ['1 in [1, 2]', 'True'],
  ['3 not in [1, 2]', 'True'],
  ['"ell" in "hello"', 'True'],
  ['"a" in {"a": 1}', 'True'],
  ['2 in range(0, 10, 2)', 'True'],
  ['3 in range(0, 10, 2)', 'False'],
  ['"abc"[0]', '"a"'],
  ['"abc"[-1]', '"c"'],
  ['"abcdef"[1:4]', '"bcd"'],
  ['"abcdef"[::2]', '"ace"'],
  ['"abcdef"[::-1]', '"fedcba"'],
  ['"abcdef"[-2:]', '"ef"'],
  ['"abcdef"[4:1:-1]', '"edc"'],
  ['"abcdef"[10:]', '""'],
  ['[1, 2, 3, 4, 5][1::2]', '[2, 4]'],
  ['[1, 2, 3][:-1]', '[1, 2]'],
  ['(1, 2, 3)[1:]', '(2, 3)'],
  ['"ab" + "cd"', '"abcd"'],
  ['"ab" * 3', '"ababab"'],
  ['3 * "ab"', '"ababab"'],
  ['"ab" * -1', '""'],
  ['[1] * 3', '[1, 1, 1]'],
  ['[1, 2] + [3]', '[1, 2, 3]'],
  ['(1,) + (2,)', '(1, 2)'],
  ['"%s-%d" % ("a", 5)', '"a-5"'],
  ['"%r" % "q"', '"\\"q\\""'],
  ['"%x %X %o" % (255, 255, 8)', '"ff FF 10"'],
  ['"100%%" % ()', '"100%"'],
  ['"%(a)s and %(b)d" % {"a": "x", "b": 2}', '"x and 2"'],
  ['"%s" % [1, 2]', '"[1, 2]"'],
  ['"{} {}".format(1, "b")', '"1 b"'],
  ['"{1} {0}".format("a", "b")', '"b a"'],
  ['"{x}{{}}".format(x=3)', '"3{}"'],
  ['"{!r}".format("s")', '"\\"s\\""'],
  ['", ".join(["a", "b", "c"])', '"a, b, c"'],
  ['"".join([])', '""'],
  ['"a b  c".split()', '["a", "b", "c"]'],
  ['"  a b  c ".split(None, 1)', '["a", "b  c "]'],
  ['" a b  c ".rsplit(None, 1)', '[" a b", "c"]'],
  ['"a,b,c".split(",", 1)', '["a", "b,c"]'],
  ['"a,b,c".rsplit(",", 1)', '["a,b", "c"]'],
  ['"a,,b".split(",")', '["a", "", "b"]'],
  ['"a::b::c".split("::")', '["a", "b", "c"]'],
  ['"abc".split("x")', '["abc"]'],
  ['"".split(",")', '[""]'],
  ['"".split()', '[]'],
  ['"  x  ".strip()', '"x"'],
  ['"xxhixx".strip("x")', '"hi"'],
  ['"  x  ".lstrip()', '"x  "'],
  ['"  x  ".rstrip()', '"  x"'],
  ['"abcba".lstrip("ab")', '"cba"'],
  ['"abcba".rstrip("ab")', '"abc"'],
  ['"aaa".replace("a", "b")', '"bbb"'],
  ['"aaa".replace("a", "b", 2)', '"bba"'],
  ['"abc".replace("", "-")', '"-a-b-c-"'],
  ['"hello".startswith("he")', 'True'],
  ['"hello".startswith(("x", "h"))', 'True'],
  ['"hello".endswith("lo")', 'True'],
  ['"hello".endswith(("x", "y"))', 'False'],
  ['"hello".startswith("l", 2)', 'True'],
  ['"a\\nb\\r\\nc\\n".splitlines()', '["a", "b", "c"]'],
  ['"a\\nb\\n".splitlines(True)', '["a\\n", "b\\n"]'],
  ['"".splitlines()', '[]'],
  ['"a\\n\\nb".splitlines()', '["a", "", "b"]'],
  ['"AbC".lower()', '"abc"'],
  ['"AbC".upper()', '"ABC"'],
  ['"hello".find("l")', '2'],
  ['"hello".rfind("l")', '3'],
  ['"hello".find("z")', '-1'],
  ['"hello".find("l", 3)', '3'],
  ['"hello".index("e")', '1'],
  ['"hello".count("l")', '2'],
  ['"aaaa".count("aa")', '2'],
  ['"a=b=c".partition("=")', '("a", "=", "b=c")'],
  ['"a=b=c".rpartition("=")', '("a=b", "=", "c")'],
  ['"abc".partition("x")', '("abc", "", "")'],
  ['"abc".rpartition("x")', '("", "", "abc")'],
  ['"prefix_name".removeprefix("prefix_")', '"name"'],
  ['"name.txt".removesuffix(".txt")', '"name"'],
  ['"name".removesuffix("")', '"name"'],
  ['"123".isdigit()', 'True'],
  ['"12a".isdigit()', 'False'],
  ['"".isdigit()', 'False'],
  ['"abc".isalpha()', 'True'],
  ['"ab1".isalpha()', 'False'],
  ['" \\t\\n".isspace()', 'True'],
  ['"".isspace()', 'False'],
  ['"hello world-foo bar".title()', '"Hello World-Foo Bar"'],
  ['"hELLO wORLD".capitalize()', '"Hello world"'],
  ['"abc".elems()', '["a", "b", "c"]'],
  ['"abc".upper().lower()', '"abc"'],
  ['len("hello")', '5'],
  ['len([1, 2])', '2'],
  ['len({"a": 1})', '1'],
  ['len(())', '0'],
  ['len(range(10))', '10'],
  ['len(range(10, 0, -3))', '4'],
  ['str(1)', '"1"'],
  ['str("a")', '"a"'],
  ['str(None)', '"None"'],
  ['str(True)', '"True"'],
  ['str([1, "a"])', '"[1, \\"a\\"]"'],
  ['repr("a\\"b\\n")', '"\\"a\\\\\\"b\\\\n\\""'],
  ['repr([1, "a", None, True, (1,)])', '"[1, \\"a\\", None, True, (1,)]"'],
  ['repr({"a": [1, 2], 1: ()})', '"{\\"a\\": [1, 2], 1: ()}"'],
  ['int("42")', '42'],
  ['int("-17")', '-17'],
  ['int("0x1f", 16)', '31'],
  ['int("ff", 16)', '255'],
  ['int("0o17", 0)', '15'],
  ['int(True)', '1'],
  ['int(5)', '5'],
  ['bool(0)', 'False'],
  ['bool([0])', 'True'],
  ['bool()', 'False'],
  ['list("abc".elems())', '["a", "b", "c"]'],
  ['list(range(3))', '[0, 1, 2]'],
  ['list((1, 2))', '[1, 2]'],
  ['list({"a": 1, "b": 2})', '["a", "b"]'],
  ['tuple([1, 2])', '(1, 2)'],
  ['tuple("ab".elems())', '("a", "b")'],
  ['dict([("a", 1), ("b", 2)])', '{"a": 1, "b": 2}'],
  ['dict(a=1, b=2)', '{"a": 1, "b": 2}'],
  ['dict({"a": 1}, b=2)', '{"a": 1, "b": 2}'],
  ['list(range(5))', '[0, 1, 2, 3, 4]'],
  ['list(range(2, 5))', '[2, 3, 4]'],
  ['list(range(10, 0, -3))', '[10, 7, 4, 1]'],
  ['list(range(0))', '[]'],
  ['list(enumerate(["a", "b"]))', '[(0, "a"), (1, "b")]'],
  ['list(enumerate(["a", "b"], 1))', '[(1, "a"), (2, "b")]'],
  ['list(zip([1, 2, 3], "ab".elems()))', '[(1, "a"), (2, "b")]'],
  ['sorted([3, 1, 2])', '[1, 2, 3]'],
  ['sorted(["b", "A", "a"])', '["A", "a", "b"]'],
  ['sorted([3, 1, 2], reverse=True)', '[3, 2, 1]'],
  ['sorted(["aaa", "b", "cc"], key=len)', '["b", "cc", "aaa"]'],
  ['sorted(["aaa", "b", "cc"], key=lambda s: -len(s))', '["aaa", "cc", "b"]'],
  ['sorted({"b": 1, "a": 2})', '["a", "b"]'],
  ['sorted([(2, "a"), (1, "b"), (1, "a")])', '[(1, "a"), (1, "b"), (2, "a")]'],
  ['list(reversed([1, 2, 3]))', '[3, 2, 1]'],
  ['min([3, 1, 2])', '1'],
  ['max([3, 1, 2])', '3'],
  ['min(3, 1, 2)', '1'],
  ['max("a", "b")', '"b"'],
  ['max(["aa", "b"], key=len)', '"aa"'],
  ['any([0, "", 1])', 'True'],
  ['any([])', 'False'],
  ['all([1, "a"])', 'True'],
  ['all([1, 0])', 'False'],
  ['all([])', 'True'],
  ['type(1)', '"int"'],
  ['type("")', '"string"'],
  ['type([])', '"list"'],
  ['type(())', '"tuple"'],
  ['type({})', '"dict"'],
  ['type(None)', '"NoneType"'],
  ['type(True)', '"bool"'],
  ['type(len)', '"builtin_function_or_method"'],
  ['type(range(1))', '"range"'],
  ['hasattr("", "split")', 'True'],
  ['hasattr("", "nope")', 'False'],
  ['getattr("a,b", "split")(",")', '["a", "b"]'],
  ['getattr("", "nope", 42)', '42'],
  ['abs(-3)', '3'],
  ['[x * 2 for x in [1, 2, 3]]', '[2, 4, 6]'],
  ['[x for x in range(10) if x % 2 if x > 3]', '[5, 7, 9]'],
  ['[(x, y) for x in range(3) for y in range(x)]', '[(1, 0), (2, 0), (2, 1)]'],
  ['[x for x, y in [(1, 2), (3, 4)]]', '[1, 3]'],
  ['{x: x * x for x in range(3)}', '{0: 0, 1: 1, 2: 4}'],
  ['{k: v for k, v in {"a": 1, "b": 2}.items() if v > 1}', '{"b": 2}'],
  ['[[y for y in range(x)] for x in range(3)]', '[[], [0], [0, 1]]'],
  ['{"a": 1}.get("a")', '1'],
  ['{"a": 1}.get("b")', 'None'],
  ['{"a": 1}.get("b", 2)', '2'],
  ['{"a": 1, "b": 2}.items()', '[("a", 1), ("b", 2)]'],
  ['{"a": 1, "b": 2}.keys()', '["a", "b"]'],
  ['{"a": 1, "b": 2}.values()', '[1, 2]'],
  ['{"b": 1, "a": 2}', '{"b": 1, "a": 2}'],
  ['{"a": 1} | {"b": 2, "a": 3}', '{"a": 3, "b": 2}'],
  ['{(1, 2): "t"}[(1, 2)]', '"t"'],
  ['{1: "int", "1": "str"}[1]', '"int"'],
  ['{True: "b", 1: "i"}[True]', '"b"'],
  ['[1, 2] == [1, 2]', 'True'],
  ['(1, 2) == [1, 2]', 'False'],
  ['{"a": 1, "b": 2} == {"b": 2, "a": 1}', 'True'],
  ['1 == True', 'False'],
  ['None == None', 'True'],
  ['(1, 2, 3)[-1]', '3'],
  ['()', '()'],
  ['(1,)', '(1,)'],
  ['[]', '[]'],
  ['{}', '{}'],
  ['"\\x41\\u00e9\\101"', '"AéA"'],
  ['r"a\\nb"', '"a\\\\nb"'],
  ['\'single\' + "double"', '"singledouble"'],
  ['"a" if 1 > 2 else "b" if 2 > 1 else "c"', '"b"'],
  ['(lambda x, y=1: x + y)(2)', '3'],
  ['(lambda *a, **k: (a, k))(1, 2, z=3)', '((1, 2), {"z": 3})'],
  ['"""tri\nple"""', '"tri\\nple"'],
  ["'''a\"b'''", '"a\\"b"'],
  ['"a\\\nb"', '"ab"'],
  ['"\\t\\\\"', '"\\t\\\\"'],
  ['"%c%c" % (65, "b")', '"Ab"'],
  ['"x".join(["a"])', '"a"'],
  ['[1, 2, 3][-3]', '1'],
  ['"abc"[1:-1]', '"b"'],
  ['"abc"[-10:10]', '"abc"'],
  ['range(10)[2:8:2]', 'range(2, 8, 2)'],
  ['list(range(10)[::-3])', '[9, 6, 3, 0]'],
  ['(1, 2) + ()', '(1, 2)'],
  ['[1, [2, [3]]] == [1, [2, [3]]]', 'True'],
  ['"b" > "abc"', 'True'],
  ['not not []', 'False'],
  ['1 if 0 else 2 if 0 else 3', '3'],
  ['[x for x in ()]', '[]'],
  ['{1: 2, 3: 4}.pop(1)', '2'],
  ['{1: 2}.pop(5, "d")', '"d"'],
  ['{}.setdefault("k", [])', '[]'],
  ['dict([["a", 1]])', '{"a": 1}'],
  ['"aXbXc".split("X", 0)', '["aXbXc"]'],
  ['"a b c".split(" ", -1)', '["a", "b", "c"]'],
  ['"a-b".replace("-", "--")', '"a--b"'],
  ['"hello".count("l", 0, 3)', '1'],
  ['"hello".rfind("l", 0, 3)', '2'],
  ['"abc".endswith("b", 0, 2)', 'True'],
  ['9 // 3', '3'],
  ['0 % 5', '0'],
  ['-0', '0'],
  ['str(-5 // 1)', '"-5"'],
  ['{k % 2: k for k in range(4)}', '{0: 2, 1: 3}'],
  ['[[x for x in range(y)] for y in range(3)]', '[[], [0], [0, 1]]'],
  ['"é€".upper() + "ÀB".lower()', '"É€àb"'],
  ['"a" * 0 + "b"', '"b"'],
  ['max([1, 5, 3], key=lambda x: -x)', '1'],
];

describe('expressions', () => {
  it.each(EXPRESSIONS)('%s', (expr, expected) => {
    expect(reprOf(expr)).toBe(expected);
  });
});

// Programs -> expected values of some globals (as plain JS via toJS).
const PROGRAMS: Array<[string, string, Record<string, unknown>]> = [
  ['assignment and reassignment', 'x = 1\nx = x + 1\ny = x * 10', { x: 2, y: 20 }],
  ['tuple unpacking', 'a, b = 1, 2\n(c, d) = [3, 4]\n[e, (f, g)] = (5, (6, 7))\na, b = b, a', { a: 2, b: 1, c: 3, d: 4, e: 5, f: 6, g: 7 }],
  ['augmented assignment', 'x = 5\nx += 2\nx -= 1\nx *= 3\nx //= 4\nx %= 3\ns = "a"\ns += "b"\ns *= 2', { x: 1, s: 'abab' }],
  [
    'augmented bit ops',
    'x = 12\nx &= 10\ny = 1\ny |= 6\nz = 5\nz ^= 1\nw = 1\nw <<= 4\nv = 64\nv >>= 2',
    { x: 8, y: 7, z: 4, w: 16, v: 16 },
  ],
  ['list += extends in place', 'a = [1]\nb = a\na += [2, 3]', { a: [1, 2, 3], b: [1, 2, 3] }],
  ['augmented index assignment', 'd = {"n": 1}\nd["n"] += 5\nl = [1, 2]\nl[-1] *= 10', { d: { n: 6 }, l: [1, 20] }],
  ['top-level if/elif/else', 'x = 5\nif x > 10:\n  r = "big"\nelif x > 3:\n  r = "mid"\nelse:\n  r = "small"', { r: 'mid' }],
  [
    'top-level for with break/continue',
    'out = []\nfor i in range(10):\n  if i % 2 == 0:\n    continue\n  if i > 6:\n    break\n  out.append(i)',
    { out: [1, 3, 5] },
  ],
  [
    'for over dict, tuple targets',
    'd = {"a": 1, "b": 2}\nks = []\nfor k in d:\n  ks.append(k)\ns = 0\nfor k, v in d.items():\n  s += v',
    { ks: ['a', 'b'], s: 3 },
  ],
  [
    'nested loops',
    'r = []\nfor i in range(3):\n  for j in range(3):\n    if j == i:\n      break\n    r.append((i, j))',
    {
      r: [
        [1, 0],
        [2, 0],
        [2, 1],
      ],
    },
  ],
  ['pass and semicolons', 'x = 1; y = 2;\nif x:\n  pass\nz = x + y', { z: 3 }],
  [
    'def with defaults and keywords',
    'def f(a, b=10, c=100):\n  return a + b + c\nr1 = f(1)\nr2 = f(1, 2)\nr3 = f(1, c=3)\nr4 = f(c=1, b=2, a=3)',
    { r1: 111, r2: 103, r3: 14, r4: 6 },
  ],
  [
    '*args and **kwargs',
    'def f(a, *args, **kw):\n  return [a, list(args), kw]\nr = f(1, 2, 3, x=4)\nargs = [5, 6]\nkw = {"y": 7}\nr2 = f(*args, **kw)',
    { r: [1, [2, 3], { x: 4 }], r2: [5, [6], { y: 7 }] },
  ],
  ['keyword-only parameters', 'def f(a, *, b, c=3):\n  return a + b + c\nr = f(1, b=2)', { r: 6 }],
  ['return without value', 'def f():\n  return\ndef g():\n  pass\nr = [f(), g()]', { r: [null, null] }],
  [
    'early return from loop',
    'def find(xs, t):\n  for i, x in enumerate(xs):\n    if x == t:\n      return i\n  return -1\nr = [find([5, 6, 7], 7), find([], 1)]',
    { r: [2, -1] },
  ],
  [
    'closures read enclosing locals',
    'def outer(n):\n  def inner(x):\n    return x + n\n  return inner\nadd3 = outer(3)\nr = add3(4)',
    { r: 7 },
  ],
  [
    'lambda capturing',
    'k = 10\nf = lambda x: x * k\nr = list([f(1), f(2)])\nr2 = sorted([3, 1, 2], key=lambda x: -x)',
    { r: [10, 20], r2: [3, 2, 1] },
  ],
  ['functions see later globals', 'def f():\n  return g + 1\ng = 41\nr = f()', { r: 42 }],
  ['locals shadow globals', 'x = 1\ndef f():\n  x = 2\n  return x\nr = f()', { x: 1, r: 2 }],
  [
    'comprehension variables do not leak',
    'x = "outer"\nl = [x for x in range(3)]\nd = {x: 1 for x in "ab".elems()}',
    { x: 'outer', l: [0, 1, 2], d: { a: 1, b: 1 } },
  ],
  ['comprehension in function sees locals', 'def f(n):\n  m = 2\n  return [i * m for i in range(n) if i != 1]\nr = f(4)', { r: [0, 4, 6] }],
  [
    'list methods',
    'l = [3, 1]\nl.append(2)\nl.extend([5, 5])\nl.insert(0, 9)\nl.insert(-1, 7)\nl.insert(100, 8)\np = l.pop()\np0 = l.pop(0)\nl.remove(5)\ni = l.index(2)\nc = list(l)\nl.clear()',
    { p: 8, p0: 9, i: 2, c: [3, 1, 2, 7, 5], l: [] },
  ],
  [
    'dict methods',
    'd = {"a": 1}\nd["b"] = 2\nd.update({"c": 3}, d=4)\nd.update([("e", 5)])\nx = d.pop("a")\ns = d.setdefault("b", 99)\nt = d.setdefault("z", 0)\nk = d.keys()\npi = d.popitem()\nd2 = dict(d)\nd.clear()',
    { x: 1, s: 2, t: 0, k: ['b', 'c', 'd', 'e', 'z'], pi: ['b', 2], d2: { c: 3, d: 4, e: 5, z: 0 }, d: {} },
  ],
  ['dict keeps insertion order on update', 'd = {"b": 1, "a": 2}\nd["b"] = 3\nd["c"] = 4', { d: { b: 3, a: 2, c: 4 } }],
  [
    'conditional expression and and/or values',
    'a = [] or "default"\nb = "x" and "y"\nc = 0 and fail("not evaluated")\nd = 1 or fail("not evaluated")',
    { a: 'default', b: 'y', c: 0, d: 1 },
  ],
  [
    'line continuation',
    'x = 1 + \\\n    2\ny = (1 +\n     2)\nl = [\n  1,\n  2,\n]\nd = {\n  "a": 1,  # comment\n}',
    { x: 3, y: 3, l: [1, 2], d: { a: 1 } },
  ],
  [
    'comments and blank lines',
    '# leading comment\n\nx = 1  # trailing\n\n   # indented comment\nif x:\n\n  # inside block\n  y = 2\n',
    { y: 2 },
  ],
  ['tabs and deeper indentation', 'if True:\n\tx = 1\n\tif x:\n\t\ty = 2', { x: 1, y: 2 }],
  ['single-line suites', 'if True: x = 1\nfor i in range(3): y = i\ndef f(): return 5\nz = f()', { x: 1, y: 2, z: 5 }],
  ['string iteration via elems', 'r = []\nfor c in "abc".elems():\n  r.append(c.upper())', { r: ['A', 'B', 'C'] }],
  ['nested function with defaults evaluated at def time', 'n = 1\ndef f(x=n):\n  return x\nn = 2\nr = f()', { r: 1 }],
  ['predeclared globals may be rebound at top level', 'base = base + 1', { base: 42 }],
  ['global reassignment in loops', 'total = 0\nfor i in range(5):\n  total = total + i', { total: 10 }],
  ['range with negative step', 'r = [i for i in range(5, 0, -2)]', { r: [5, 3, 1] }],
  ['closures capture variables, not values', 'def f():\n  x = 1\n  g = lambda: x\n  x = 2\n  return g()\nr = f()', { r: 2 }],
  [
    'functions are values',
    'def double(x):\n  return 2 * x\nfs = {"d": double}\nr = fs["d"](21)\nm = [f(1) for f in [double, lambda y: y - 1]]',
    { r: 42, m: [2, 0] },
  ],
  ['crlf line endings', 'x = 1\r\nif x:\r\n  y = 2\r\n', { y: 2 }],
];

describe('programs', () => {
  it.each(PROGRAMS)('%s', (_name, src, expected) => {
    const globals = run(src, { globals: { base: 41 } });
    for (const [k, v] of Object.entries(expected)) expect(toJS(globals.get(k)!), k).toEqual(v);
  });

  it('returns only the globals the script bound, in order', () => {
    expect([...run('b = 1\na = 2\ndef f(): pass\nif False:\n  never = 1').keys()]).toEqual(['b', 'a', 'f']);
  });

  it('accepts empty and comment-only scripts', () => {
    expect(run('').size).toBe(0);
    expect(run('# nothing here\n\n   # indented\n').size).toBe(0);
  });

  it('absurd nesting is a StarlarkError, not a crash', () => {
    expect(() => run(`x = ${'['.repeat(20000)}${']'.repeat(20000)}`)).toThrow(StarlarkError);
  });

  it('print goes to the sink', () => {
    const lines: string[] = [];
    run('print("a", 1, [2], None)\nprint("x", "y", sep="-")\nprint()', { print: (s) => lines.push(s) });
    expect(lines).toEqual(['a 1 [2] None', 'x-y', '']);
  });
});

// Source -> exact error message ("file:line:col: reason"). Calls are located at the
// callee (the method name for `x.method(...)`), operators at the operator.
const ERRORS: Array<[string, string]> = [
  // names
  ['x = y', 'test.star:1:5: undefined: y'],
  ['def f():\n  return nope\n', 'test.star:2:10: undefined: nope'],
  ['print(x)\nx = 1', 'test.star:1:7: global variable x referenced before assignment'],
  [
    'def f():\n  y = x\n  x = 1\nf()',
    'test.star:2:7: local variable x referenced before assignment\nTraceback (most recent call last):\n  test.star:4:1: in <toplevel>\n  test.star:2:7: in f',
  ],
  [
    'x = 1\ndef f():\n  x += 1\nf()',
    'test.star:3:3: local variable x referenced before assignment\nTraceback (most recent call last):\n  test.star:4:1: in <toplevel>\n  test.star:3:3: in f',
  ],
  // types and operators
  ['x = "a" + 1', 'test.star:1:9: unknown binary op: string + int'],
  ['x = 1 + None', 'test.star:1:7: unknown binary op: int + NoneType'],
  ['x = [1] + (2,)', 'test.star:1:9: unknown binary op: list + tuple'],
  ['x = True + 1', 'test.star:1:10: unknown binary op: bool + int'],
  ['x = -"a"', 'test.star:1:5: unknown unary op: -string'],
  ['x = 1 < "a"', 'test.star:1:7: unsupported comparison: int < string'],
  ['x = {} < {}', 'test.star:1:8: unsupported comparison: dict < dict'],
  ['x = 1 // 0', 'test.star:1:7: floored division by zero'],
  ['x = 1 % 0', 'test.star:1:7: integer modulo by zero'],
  ['x = 1 / 2', 'test.star:1:7: floating-point division is not supported; use // for integer division'],
  ['x = 1 in "abc"', "test.star:1:7: 'in <string>' requires string as left operand, not int"],
  ['x = 1 in 2', 'test.star:1:7: unknown binary op: int in int'],
  [
    'x = 1 < 2 < 3',
    "test.star:1:11: < does not associate with < (chained comparisons are not allowed in Starlark; use parentheses or 'and')",
  ],
  [
    'x = 1 == 1 != 2',
    "test.star:1:12: == does not associate with != (chained comparisons are not allowed in Starlark; use parentheses or 'and')",
  ],
  // indexing
  ['x = [1, 2, 3][5]', 'test.star:1:14: index 5 out of range: list has 3 elements'],
  ['x = "ab"[-3]', 'test.star:1:9: index -3 out of range: string has 2 elements'],
  ['x = ()[0]', 'test.star:1:7: index 0 out of range: tuple has 0 elements'],
  ['x = {"a": 1}["b"]', 'test.star:1:13: key "b" not in dict'],
  ['x = [1]["a"]', 'test.star:1:8: list index: got string, want int'],
  ['x = 5[0]', 'test.star:1:6: int is not indexable'],
  ['x = [1, 2][::0]', 'test.star:1:11: slice step cannot be zero'],
  ['l = [1]\nl[3] = 0', 'test.star:2:2: index 3 out of range: list has 1 element'],
  ['t = (1,)\nt[0] = 2', 'test.star:2:2: tuple value does not support item assignment'],
  ['s = "a"\ns[0] = "b"', 'test.star:2:2: string value does not support item assignment'],
  ['d = {[1]: 2}', 'test.star:1:5: unhashable type: list'],
  ['d = {}\nd[{}] = 1', 'test.star:2:2: unhashable type: dict'],
  ['d = {"a": 1, "a": 2}', 'test.star:1:14: duplicate key "a" in dict literal'],
  // calls
  ['def f(a, b):\n  pass\nf(1)', 'test.star:3:1: f: missing argument for b'],
  ['def f(a):\n  pass\nf(1, 2)', 'test.star:3:1: f: got 2 positional arguments, want at most 1'],
  ['def f(a):\n  pass\nf(1, a=2)', 'test.star:3:1: f: got multiple values for parameter "a"'],
  ['def f(a):\n  pass\nf(b=2)', 'test.star:3:1: f: unexpected keyword argument "b"'],
  ['def f(*, a): pass\nf()', 'test.star:2:1: f: missing argument for a'],
  ['def f(**kw): pass\nf(1)', 'test.star:2:1: f: got 1 positional argument, want at most 0'],
  ['x = [1]\nx += (2,)', 'test.star:2:1: unknown binary op: list + tuple'],
  ['len()', 'test.star:1:1: len: missing argument for x'],
  ['len(1, 2)', 'test.star:1:1: len: got 2 arguments, want 1'],
  ['len(5)', 'test.star:1:1: len: value of type int has no len'],
  ['"a".split(",", 1, 2)', 'test.star:1:5: split: got 3 arguments, want at most 2'],
  ['"a".strip(1)', 'test.star:1:5: strip: got int, want string'],
  ['"a".nope()', 'test.star:1:5: string has no .nope field or method'],
  ['x = 1\nx()', 'test.star:2:1: invalid call of non-function (int)'],
  ['f(*1)', 'test.star:1:1: undefined: f'],
  ['print(*1)', 'test.star:1:7: argument after * must be a list or tuple, not int'],
  ['print(**[])', 'test.star:1:7: argument after ** must be a dict, not list'],
  ['",".join([1])', 'test.star:1:5: join: in list, want string, got int'],
  ['int("abc")', 'test.star:1:1: int: invalid literal with base 10: "abc"'],
  ['[].pop()', 'test.star:1:4: pop: empty list'],
  ['[1].remove(2)', 'test.star:1:5: remove: element 2 not found'],
  ['[1].index(2)', 'test.star:1:5: index: value 2 not in list'],
  ['"abc".index("z")', 'test.star:1:7: index: substring not found'],
  ['{}.pop("k")', 'test.star:1:4: pop: missing key "k"'],
  ['"".split("")', 'test.star:1:4: split: empty separator'],
  ['range(1, 2, 0)', 'test.star:1:1: range: step argument must not be zero'],
  ['min([])', 'test.star:1:1: min: empty sequence'],
  ['list("abc")', 'test.star:1:1: list: cannot iterate over string (use .elems() or .split())'],
  ['sorted(1)', 'test.star:1:1: sorted: cannot iterate over int'],
  ['dict([1])', 'test.star:1:1: dict: element #0 is not iterable (int), want a key/value pair'],
  ['dict([(1, 2, 3)])', 'test.star:1:1: dict: element #0 is a sequence of length 3, want a key/value pair'],
  ['sorted([1, "a"])', 'test.star:1:1: unsupported comparison: string < int'],
  ['"{} {1}".format(1, 2)', 'test.star:1:10: format: cannot switch between automatic and manual field numbering'],
  ['"{}".format()', 'test.star:1:6: format: tuple index out of range (no argument 0)'],
  ['"%d" % "x"', 'test.star:1:6: %d format requires integer: string'],
  ['"%s %s" % (1,)', 'test.star:1:9: not enough arguments for format string'],
  ['"%s" % (1, 2)', 'test.star:1:6: too many arguments for format string'],
  ['getattr(1, "x")', 'test.star:1:1: int has no .x field or method'],
  ['fail("boom", 42)', 'test.star:1:1: fail: boom 42'],
  [
    'def f(n):\n  return f(n - 1)\nf(3)',
    'test.star:2:10: function f called recursively\nTraceback (most recent call last):\n  test.star:3:1: in <toplevel>\n  test.star:2:10: in f',
  ],
  // iteration and unpacking
  ['for x in 5:\n  pass', 'test.star:1:10: cannot iterate over int'],
  ['for c in "abc":\n  pass', 'test.star:1:10: cannot iterate over string (use .elems() or .split())'],
  ['l = [1, 2]\nfor x in l:\n  l.append(x)', 'test.star:3:5: cannot append to list during iteration'],
  ['d = {"a": 1}\nfor k in d:\n  d["b"] = 2', 'test.star:3:4: cannot insert into dict during iteration'],
  ['l = [1]\nx = [l.append(2) for y in l]', 'test.star:2:8: cannot append to list during iteration'],
  ['a, b = 1, 2, 3', 'test.star:1:6: too many values to unpack (got 3, want 2)'],
  ['a, b = [1]', 'test.star:1:6: too few values to unpack (got 1, want 2)'],
  ['a, b = 1', 'test.star:1:6: got int in sequence assignment, want a 2-element sequence'],
  ['for a, b in [(1, 2), 3]:\n  pass', 'test.star:1:1: got int in sequence assignment, want a 2-element sequence'],
  // syntax
  ['x = ', 'test.star:1:5: syntax error: got newline, want an expression'],
  ['if True\n  x = 1', 'test.star:1:8: syntax error: got newline, want :'],
  ['if True:\nx = 1', 'test.star:2:1: syntax error: got x, want an indented block'],
  ['x = 1\n  y = 2', 'test.star:2:3: syntax error: unexpected indentation'],
  ['if True:\n    x = 1\n  y = 2', 'test.star:3:3: unindent does not match any outer indentation level'],
  ['x = (1,\n', 'test.star:2:1: unexpected end of file inside brackets'],
  ['x = "abc', 'test.star:1:5: unterminated string'],
  ['x = """abc', 'test.star:1:5: unterminated triple-quoted string'],
  ['x = "\\q"', 'test.star:1:6: invalid escape sequence \\q'],
  ['x = 1.5', 'test.star:1:5: floating-point numbers are not supported'],
  ['x = 012', 'test.star:1:5: invalid int literal 012 (use 0o prefix for octal)'],
  ['x = "a" "b"', 'test.star:1:9: implicit string concatenation is not allowed; use +'],
  ['x = $', 'test.star:1:5: unexpected character "$"'],
  ['load("x.star", "y")', 'test.star:1:1: load statements are not allowed in mutate scripts'],
  ['while True:\n  pass', 'test.star:1:1: while loops are not allowed in Starlark'],
  ['break', 'test.star:1:1: break not in a loop'],
  ['def f():\n  continue', 'test.star:2:3: continue not in a loop'],
  ['return 1', 'test.star:1:1: return statement not within a function'],
  ['1 = x', 'test.star:1:1: cannot assign to int literal'],
  ['f() = 1', 'test.star:1:1: cannot assign to function call'],
  ['None = 1', 'test.star:1:1: cannot assign to const expression'],
  ['x, y += 1', 'test.star:1:1: cannot assign to tuple'],
  ['def f(a, a): pass', 'test.star:1:10: duplicate parameter: a'],
  ['def f(a=1, b): pass', 'test.star:1:12: required parameter may not follow optional'],
  ['f(a=1, 2)', 'test.star:1:8: positional argument may not follow named or * arguments'],
  ['class X: pass', 'test.star:1:1: class is reserved and cannot be used'],
  ['x = [1, 2', 'test.star:1:10: unexpected end of file inside brackets'],
  ['x.y = 1', 'test.star:1:1: undefined: x'],
  ['"a".y = 1', 'test.star:1:5: cannot assign to field .y'],
];

describe('errors', () => {
  it.each(ERRORS)('%s', (src, message) => {
    const err = errorOf(src);
    expect(err.message).toBe(message);
    const [, line, col] = /^test\.star:(\d+):(\d+):/.exec(message)!;
    expect([err.line, err.col]).toEqual([Number(line), Number(col)]);
  });

  it('bounds execution with maxSteps', () => {
    const err = errorOf('x = 0\nfor i in range(1000000000):\n  x += 1', { maxSteps: 10_000 });
    expect(err.message).toMatch(/^test\.star:\d+:\d+: execution exceeded the limit of 10000 steps/);
    const err2 = errorOf('def f():\n  return [i for i in range(100000)]\nf()', { maxSteps: 5_000 });
    expect(err2.message).toMatch(/execution exceeded the limit of 5000 steps/);
    expect(err2.traceback.map((f) => f.fn)).toEqual(['<toplevel>', 'f']);
  });

  it('the default step budget stops runaway loops', () => {
    const start = Date.now();
    const err = errorOf('l = []\nfor i in range(100000000000):\n  pass');
    expect(err.reason).toBe('execution exceeded the limit of 10000000 steps (infinite or runaway loop?)');
    expect(Date.now() - start).toBeLessThan(10_000);
  });

  it('refuses huge repetitions', () => {
    expect(errorOf('x = "ab" * 1000000000').reason).toBe('result of 2000000000 elements is too large');
  });

  it('reports errors inside nested calls with a traceback', () => {
    const src = 'def inner(x):\n  return x + 1\n\ndef outer():\n  return inner("s")\n\nouter()\n';
    const err = errorOf(src);
    expect(err.message).toBe(
      'test.star:2:12: unknown binary op: string + int\nTraceback (most recent call last):\n' +
        '  test.star:7:1: in <toplevel>\n  test.star:5:10: in outer\n  test.star:2:12: in inner',
    );
    expect(err.reason).toBe('unknown binary op: string + int');
    expect(err.file).toBe('test.star');
  });

  it('resolves names before running anything', () => {
    const lines: string[] = [];
    expect(() => run('print("ran")\ndef never():\n  return missing', { print: (s) => lines.push(s) })).toThrow(
      'test.star:3:10: undefined: missing',
    );
    expect(lines).toEqual([]);
    expect(() => checkScript('x = content.read("/a")', { filename: 'c.star', globals: ['content'] })).not.toThrow();
    expect(() => checkScript('x = contents.read("/a")', { filename: 'c.star', globals: ['content'] })).toThrow(
      'c.star:1:5: undefined: contents',
    );
  });
});

describe('host modules and conversion', () => {
  it('calls host functions with positional and keyword arguments and converts results', () => {
    const calls: Array<[unknown[], Record<string, unknown>]> = [];
    const host = hostModule('host', {
      echo: (args, kwargs) => {
        calls.push([args.map(toJS), Object.fromEntries([...kwargs].map(([k, v]) => [k, toJS(v)]))]);
        return args[0] ?? null;
      },
      names: () => ['a', 'b/'] as unknown as Value,
      nothing: () => undefined as unknown as Value,
      obj: () => ({ k: [1, { n: null }] }) as unknown as Value,
    });
    const g = run(
      'a = host.echo("x", [1], k=True)\nb = host.names()\nc = host.nothing()\nd = host.obj()\ne = type(host)\nf = hasattr(host, "echo")\ng = dir(host)',
      { globals: { host } },
    );
    expect(calls).toEqual([[['x', [1]], { k: true }]]);
    expect(toJS(g.get('a')!)).toBe('x');
    expect(toJS(g.get('b')!)).toEqual(['a', 'b/']);
    expect(g.get('c')).toBeNull();
    expect(toJS(g.get('d')!)).toEqual({ k: [1, { n: null }] });
    expect(g.get('e')).toBe('module');
    expect(g.get('f')).toBe(true);
    expect(toJS(g.get('g')!)).toEqual(['echo', 'names', 'nothing', 'obj']);
  });

  it('surfaces host errors as StarlarkError at the call', () => {
    const host = hostModule('host', {
      write: () => {
        throw new Error('host.write: /etc/x is not mutable');
      },
    });
    const err = errorOf('def w():\n  host.write("/etc/x", "")\n\nw()', { globals: { host } });
    expect(err.message.split('\n')[0]).toBe('test.star:2:8: host.write: /etc/x is not mutable');
    expect(err.cause).toBeInstanceOf(Error);
    expect(errorOf('host.missing()', { globals: { host } }).message).toBe('test.star:1:6: module host has no .missing field or method');
    expect(errorOf('host()', { globals: { host } }).message).toBe('test.star:1:1: invalid call of non-function (module host)');
  });

  it('round-trips values through fromJS/toJS', () => {
    const js = { s: 'x', n: -3, b: false, z: null, l: [1, 'a', [true]], d: { k: { j: 1 } } };
    expect(toJS(fromJS(js))).toEqual(js);
    expect(toJS(fromJS(new Map<unknown, unknown>([[1, 'a']])))).toEqual(new Map([[1, 'a']]));
    expect(() => fromJS(1.5)).toThrow('floats are not supported');
    const g = run('r = sorted(d.keys())\nn = f(1, 2)', {
      globals: { d: fromJS({ b: 1, a: 2 }), f: fromJS((args: Value[]) => (args[0] as number) + (args[1] as number)) },
    });
    expect(toJS(g.get('r')!)).toEqual(['a', 'b']);
    expect(g.get('n')).toBe(3);
    const fn = run('def f(): pass').get('f')!;
    expect(toJS(fn)).toBe(fn);
    expect(toJS(run('r = range(3)').get('r')!)).toEqual([0, 1, 2]);
  });
});
