// Debian version comparison, as dpkg does it (lib/dpkg/version.c):
// [epoch:]upstream[-revision]; epochs compare numerically, then upstream and
// revision with verrevcmp: alternating non-digit runs (letters sort before
// non-letters, '~' before everything, even the end) and numeric runs.

export interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

export function parseVersion(v: string): DebVersion {
  const s = v.trim();
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon);
    epoch = /^[0-9]+$/.test(e) ? Number(e) : 0;
    rest = s.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash >= 0) return { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
  return { epoch, upstream: rest, revision: '' };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function order(c: number): number {
  if (isDigit(c)) return 0;
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return c;
  if (c === 126) return -1; // '~'
  if (c) return c + 256;
  return 0;
}

/** dpkg's verrevcmp. NaN (past the end) reads as 0, like C's '\0'. */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const al = a.length;
  const bl = b.length;
  while (i < al || j < bl) {
    let firstDiff = 0;
    while ((i < al && !isDigit(a.charCodeAt(i))) || (j < bl && !isDigit(b.charCodeAt(j)))) {
      const ac = i < al ? order(a.charCodeAt(i)) : 0;
      const bc = j < bl ? order(b.charCodeAt(j)) : 0;
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (i < al && a.charCodeAt(i) === 48) i++;
    while (j < bl && b.charCodeAt(j) === 48) j++;
    while (i < al && j < bl && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < al && isDigit(a.charCodeAt(i))) return 1;
    if (j < bl && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** < 0 when a sorts before b, 0 when equal, > 0 after (dpkg ordering). */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  const va = parseVersion(a);
  const vb = parseVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch - vb.epoch;
  const u = verrevcmp(va.upstream, vb.upstream);
  if (u) return u;
  return verrevcmp(va.revision, vb.revision);
}

/** A syntactically valid Debian version (the checks of dpkg's parseversion). */
export function isValidVersion(v: string): boolean {
  const m = /^(?:([0-9]+):)?([^:]*|.*)$/.exec(v);
  if (!m || v !== v.trim() || v === '') return false;
  const p = parseVersion(v);
  if (v.includes(':') && m[1] === undefined) return false;
  if (!/^[0-9][A-Za-z0-9.+~:-]*$/.test(p.upstream)) return false;
  return v.lastIndexOf('-') < 0 || /^[A-Za-z0-9.+~]+$/.test(p.revision);
}
