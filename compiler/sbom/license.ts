// Licence and copyright of a Debian package from its machine-readable
// debian/copyright (DEP-5, copyright-format 1.0). Anything else yields nothing:
// free-form copyright files are not guessed at.

type Paragraph = Map<string, string[]>; // lower-cased field name → value lines

/** deb822 paragraphs; a field's first line, then its continuation lines. */
function paragraphs(text: string): Paragraph[] {
  const out: Paragraph[] = [];
  let cur: Paragraph | undefined;
  let last: string[] | undefined;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (line.trim() === '') {
      cur = undefined;
      last = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (/^[ \t]/.test(line)) {
      last?.push(line.trim() === '.' ? '' : line.trim());
      continue;
    }
    const m = /^([^\s:]+):(.*)$/.exec(line);
    if (!m) continue;
    if (!cur) out.push((cur = new Map()));
    last = [m[2]!.trim()];
    cur.set(m[1]!.toLowerCase(), last);
  }
  return out;
}

/** Canonical SPDX ids that Debian copyright files commonly use (matched case-insensitively). */
export const SPDX_LICENSE_IDS: readonly string[] = [
  '0BSD',
  'AFL-2.1',
  'AFL-3.0',
  'Apache-1.1',
  'Apache-2.0',
  'Artistic-1.0',
  'Artistic-1.0-Perl',
  'Artistic-2.0',
  'BSD-1-Clause',
  'BSD-2-Clause',
  'BSD-2-Clause-Patent',
  'BSD-3-Clause',
  'BSD-4-Clause',
  'BSL-1.0',
  'bzip2-1.0.6',
  'CC-BY-3.0',
  'CC-BY-4.0',
  'CC-BY-SA-3.0',
  'CC-BY-SA-4.0',
  'CC0-1.0',
  'CDDL-1.0',
  'curl',
  'EPL-1.0',
  'EPL-2.0',
  'FSFAP',
  'FSFUL',
  'FSFULLR',
  'FTL',
  'HPND',
  'ICU',
  'IJG',
  'ISC',
  'Libpng',
  'libpng-2.0',
  'LPPL-1.3c',
  'MIT',
  'MIT-0',
  'MIT-CMU',
  'MPL-1.1',
  'MPL-2.0',
  'NTP',
  'OFL-1.1',
  'OLDAP-2.8',
  'OpenSSL',
  'PostgreSQL',
  'PSF-2.0',
  'Python-2.0',
  'Ruby',
  'Sleepycat',
  'TCL',
  'Unicode-3.0',
  'Unicode-DFS-2016',
  'Unlicense',
  'Vim',
  'W3C',
  'WTFPL',
  'X11',
  'Zlib',
  'ZPL-2.1',
];

/** Debian short names that are not SPDX ids themselves. */
const ALIASES: Record<string, string> = {
  expat: 'MIT',
  artistic: 'Artistic-1.0-Perl',
  'psf-2': 'PSF-2.0',
  cc0: 'CC0-1.0',
  'apache-2': 'Apache-2.0',
  'mpl-2': 'MPL-2.0',
  'openldap-2.8': 'OLDAP-2.8',
  'zope-2.1': 'ZPL-2.1',
  'boost-1.0': 'BSL-1.0',
  'public-domain': 'LicenseRef-public-domain',
};

const KNOWN = new Map<string, string>([
  ...SPDX_LICENSE_IDS.map((id): [string, string] => [id.toLowerCase(), id]),
  ...Object.entries(ALIASES),
]);

/** Versions each GNU licence was published in. */
const GNU_VERSIONS: Record<string, string[]> = {
  GPL: ['1.0', '2.0', '3.0'],
  LGPL: ['2.0', '2.1', '3.0'],
  AGPL: ['1.0', '3.0'],
  GFDL: ['1.1', '1.2', '1.3'],
};

const EXCEPTIONS: Record<string, string> = {
  bison: 'Bison-exception-2.2',
  classpath: 'Classpath-exception-2.0',
  font: 'Font-exception-2.0',
  libtool: 'Libtool-exception',
  'gcc-3.1': 'GCC-exception-3.1',
  'gcc-exception-3.1': 'GCC-exception-3.1',
};

const sanitize = (s: string): string =>
  s
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-|-$/g, '');

/** One Debian licence short name → an SPDX id, or a LicenseRef for an unknown one. */
export function spdxLicenseId(name: string): string {
  const known = KNOWN.get(name.toLowerCase());
  if (known) return known;
  if (/^LicenseRef-[A-Za-z0-9.-]+$/.test(name)) return name;
  // GPL-2, GPL-2+, GPLv3+, GPL-2.0+, LGPL-2.1-or-later, GFDL-1.3-only, ...
  const gnu = /^(AGPL|LGPL|GPL|GFDL)(?:-v?|v)(\d+(?:\.\d+)?)(\+|-or-later|-only)?$/i.exec(name);
  if (gnu) {
    const family = gnu[1]!.toUpperCase();
    const version = gnu[2]!.includes('.') ? gnu[2]! : `${gnu[2]}.0`;
    if (GNU_VERSIONS[family]!.includes(version)) {
      return `${family}-${version}-${gnu[3] === '+' || gnu[3]?.toLowerCase() === '-or-later' ? 'or-later' : 'only'}`;
    }
  }
  return `LicenseRef-${sanitize(name)}`;
}

/** "X with Y exception": an SPDX WITH expression when Y is a known exception. */
function withException(name: string, exception: string): string {
  const id = spdxLicenseId(name);
  const key = exception.toLowerCase();
  const exc = key === 'autoconf' ? (id.startsWith('GPL-3') ? 'Autoconf-exception-3.0' : 'Autoconf-exception-2.0') : EXCEPTIONS[key];
  return exc && !id.startsWith('LicenseRef-') ? `${id} WITH ${exc}` : `LicenseRef-${sanitize(`${name}-with-${exception}-exception`)}`;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9.+_/-]*$/;

/** "A or B and C with D exception" (no commas) → SPDX; undefined if it is not such a list. */
function simpleExpression(text: string): string | undefined {
  const tokens = text.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < tokens.length; ) {
    const name = tokens[i++]!;
    if (!NAME.test(name) || /^(and|or|with)$/i.test(name)) return undefined;
    if (tokens[i]?.toLowerCase() === 'with') {
      const end = tokens.findIndex((t, j) => j > i && t.toLowerCase() === 'exception');
      if (end < 0 || end === i + 1) return undefined;
      out.push(withException(name, tokens.slice(i + 1, end).join('-')));
      i = end + 1;
    } else {
      out.push(spdxLicenseId(name));
    }
    if (i === tokens.length) break;
    const op = tokens[i++]!.toLowerCase();
    if ((op !== 'and' && op !== 'or') || i === tokens.length) return undefined;
    out.push(op.toUpperCase());
  }
  return out.length ? out.join(' ') : undefined;
}

const group = (e: string): string => (/ (AND|OR) /.test(e) ? `(${e})` : e);

/**
 * A DEP-5 License short-name line → an SPDX licence expression. "and" binds
 * tighter than "or", as in SPDX; a comma closes the group before it
 * ("GPL-2+ or Artistic, and BSD" is "(GPL-2+ or Artistic) and BSD").
 */
export function spdxExpression(shortNames: string): string | undefined {
  let expr: string | undefined;
  for (const [i, part] of shortNames
    .split(',')
    .map((s) => s.trim())
    .entries()) {
    const m = i === 0 ? ['', '', part] : /^(and|or)\s+(.+)$/i.exec(part);
    const e = m && simpleExpression(m[2]!);
    if (!e) return undefined;
    expr = i === 0 ? e : `${group(expr!)} ${m[1]!.toUpperCase()} ${group(e)}`;
  }
  return expr;
}

export function licenseFromCopyright(text: string): { license?: string; copyright?: string } {
  const paras = paragraphs(text);
  const header = paras[0];
  const format = header?.get('format')?.[0] ?? '';
  if (!/copyright-format\/1\.0\/?$/.test(format)) return {};
  const files = paras.find((p) => p.get('files')?.join(' ').split(/\s+/).includes('*')) ?? header!;
  const license = spdxExpression(files.get('license')?.[0] ?? '');
  const copyright = files.get('copyright')?.filter(Boolean).join('\n');
  return { ...(license && { license }), ...(copyright && { copyright }) };
}
