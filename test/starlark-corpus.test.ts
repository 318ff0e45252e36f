// Every `mutate:` script of the real Ubuntu chisel-releases corpus, run by the
// Starlark interpreter against an in-memory `content` module built from the
// slice's `contents:` (plus its transitive essentials), with realistic file
// contents where the scripts parse them.

import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { hostModule, runScript, StarlarkError, toJS, type Value } from '../compiler/starlark/index.js';

const CORPUS = '/work/shared/corpus/chisel-releases';

// ---- realistic inputs ----

const PASSWD_MASTER = [
  'root:*:0:0:root:/root:/bin/bash',
  'daemon:*:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'bin:*:2:2:bin:/bin:/usr/sbin/nologin',
  'sys:*:3:3:sys:/dev:/usr/sbin/nologin',
  'nobody:*:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  '',
].join('\n');

const GROUP_MASTER = ['root:*:0:', 'daemon:*:1:', 'bin:*:2:', 'sys:*:3:', 'adm:*:4:', 'nogroup:*:65534:', ''].join('\n');

/** /usr/share/pam-configs/unix as shipped by Debian's libpam-runtime (pam-auth-update format). */
const PAM_CONFIG_UNIX = `Name: Unix authentication
Default: yes
Priority: 256
Auth-Type: Primary
Auth:
\t[success=end default=ignore]\tpam_unix.so nullok try_first_pass
Auth-Initial:
\t[success=end default=ignore]\tpam_unix.so nullok
Account-Type: Primary
Account:
\t[success=end new_authtok_reqd=done default=ignore]\tpam_unix.so
Account-Initial:
\t[success=end new_authtok_reqd=done default=ignore]\tpam_unix.so
Session-Type: Additional
Session:
\trequired\tpam_unix.so
Session-Initial:
\trequired\tpam_unix.so
Password-Type: Primary
Password:
\t[success=end default=ignore]\tpam_unix.so obscure use_authtok try_first_pass yescrypt
Password-Initial:
\t[success=end default=ignore]\tpam_unix.so obscure yescrypt
`;

const PAM_TYPES = ['account', 'auth', 'password', 'session', 'session-noninteractive'] as const;
const PAM_STEMS: Record<string, string> = {
  account: '$account',
  auth: '$auth',
  password: '$password',
  session: '$session',
  'session-noninteractive': '$session_nonint',
};

/** /usr/share/pam/common-<type>: the template pam-auth-update fills in. */
function pamTemplate(type: string): string {
  const stem = PAM_STEMS[type]!;
  const word = type === 'session-noninteractive' ? 'session' : type;
  return `#\n# /etc/pam.d/common-${type}\n#\n# here are the per-package modules (the "Primary" block)\n${stem}_primary\n${word}\trequisite\t\t\tpam_deny.so\n${word}\trequired\t\t\tpam_permit.so\n# and here are more per-package modules (the "Additional" block)\n${stem}_additional\n# end of pam-auth-update config\n`;
}

/** What pam-auth-update (and both generations of the corpus script) make of PAM_CONFIG_UNIX. */
const PAM_BLOCKS: Record<string, [string, string]> = {
  account: ['account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so\n\n', ''],
  auth: ['auth\t[success=1 default=ignore]\tpam_unix.so nullok\n\n', ''],
  password: ['password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\n\n', ''],
  session: ['session\t[default=1]\t\t\tpam_permit.so\n\n', 'session\trequired\tpam_unix.so\n\n'],
  'session-noninteractive': ['session\t[default=1]\t\t\tpam_permit.so\n\n', 'session\trequired\tpam_unix.so\n\n'],
};

function generatedContent(p: string): string {
  if (p.startsWith('/usr/share/pam-configs/')) return PAM_CONFIG_UNIX;
  const pam = /^\/usr\/share\/pam\/common-(.+)$/.exec(p);
  if (pam && PAM_STEMS[pam[1]!]) return pamTemplate(pam[1]!);
  if (p.endsWith('/passwd.master')) return PASSWD_MASTER;
  if (p.endsWith('/group.master')) return GROUP_MASTER;
  if (p.startsWith('/usr/share/ca-certificates/'))
    return `-----BEGIN CERTIFICATE-----\n${Buffer.from(p).toString('base64')}\n-----END CERTIFICATE-----\n`;
  return `generated content of ${p}\nline 2\n`;
}

/** Concrete names a glob expands to; deliberately not in sorted order. */
const GLOB_NAMES = ['zeta-3.crt', 'alpha-1.crt', 'mid-2.crt'];

function expandGlob(p: string): string[] {
  if (!/[*?]/.test(p)) return [p];
  return GLOB_NAMES.map((name) => p.replace(/\*\*|\*|\?/g, name));
}

// ---- the corpus ----

interface SliceDef {
  essential?: unknown;
  contents?: Record<string, Record<string, unknown> | null>;
  mutate?: string;
}
interface PackageDef {
  package: string;
  essential?: unknown;
  slices?: Record<string, SliceDef | null>;
}

const releases = readdirSync(CORPUS)
  .filter((d) => d.startsWith('ubuntu-') && existsSync(path.join(CORPUS, d, 'slices')))
  .sort();

const packagesByRelease = new Map<string, Map<string, PackageDef>>();
for (const rel of releases) {
  const dir = path.join(CORPUS, rel, 'slices');
  const pkgs = new Map<string, PackageDef>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const def = parseYaml(readFileSync(path.join(dir, f), 'utf8')) as PackageDef;
    pkgs.set(def.package, def);
  }
  packagesByRelease.set(rel, pkgs);
}

function archAllows(opts: unknown, arch: string): boolean {
  if (!opts || typeof opts !== 'object' || !('arch' in opts)) return true;
  const a = (opts as { arch: string | string[] }).arch;
  return Array.isArray(a) ? a.includes(arch) : a === arch;
}

function essentialNames(e: unknown, arch: string): string[] {
  if (!e) return [];
  if (Array.isArray(e)) return e.map(String);
  return Object.entries(e as Record<string, unknown>)
    .filter(([, opts]) => archAllows(opts, arch))
    .map(([name]) => name);
}

interface Selected {
  pkg: string;
  slice: string;
  def: SliceDef;
}

/** The slice and its transitive essentials, dependencies first. */
function select(rel: string, keys: string[], arch: string): Selected[] {
  const pkgs = packagesByRelease.get(rel)!;
  const out: Selected[] = [];
  const seen = new Set<string>();
  const visit = (key: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    const i = key.lastIndexOf('_');
    const pkg = key.slice(0, i);
    const slice = key.slice(i + 1);
    const p = pkgs.get(pkg);
    const def = p?.slices?.[slice];
    if (!p || def === undefined) return; // slice outside the corpus: it contributes nothing here
    const deps = [...essentialNames(p.essential, arch), ...essentialNames(def?.essential, arch)].filter((d) => d !== key);
    deps.forEach(visit);
    out.push({ pkg, slice, def: def ?? {} });
  };
  keys.forEach(visit);
  return out;
}

// ---- the fake filesystem behind `content` ----

class FakeContent {
  readonly files = new Map<string, { data: string; mutable: boolean }>();
  readonly dirs = new Set<string>(['/']);
  readonly written = new Map<string, string>();

  static fromSelection(sel: Selected[], arch: string): FakeContent {
    const fs = new FakeContent();
    for (const s of sel) {
      for (const [p, raw] of Object.entries(s.def.contents ?? {})) {
        const opts = raw ?? {};
        if (!archAllows(opts, arch)) continue;
        for (const concrete of expandGlob(p)) fs.add(concrete, opts);
      }
    }
    return fs;
  }

  add(p: string, opts: Record<string, unknown>): void {
    const isDir = p.endsWith('/');
    const clean = isDir ? p.slice(0, -1) : p;
    for (let d = path.posix.dirname(clean); ; d = path.posix.dirname(d)) {
      this.dirs.add(d);
      if (d === '/') break;
    }
    if (isDir) {
      this.dirs.add(clean);
      return;
    }
    const data =
      typeof opts.text === 'string' ? opts.text : typeof opts.copy === 'string' ? generatedContent(opts.copy) : generatedContent(p);
    const prev = this.files.get(clean);
    this.files.set(clean, { data, mutable: opts.mutable === true || prev?.mutable === true });
  }

  read(p: string): string {
    const f = this.files.get(p);
    if (this.dirs.has(p.replace(/(.)\/$/, '$1'))) throw new Error(`content.read: ${p} is a directory`);
    if (!f) throw new Error(`content.read: ${p} is not part of the selected slices`);
    return this.written.get(p) ?? f.data;
  }

  list(p: string): string[] {
    const dir = p.length > 1 ? p.replace(/\/$/, '') : p;
    if (!this.dirs.has(dir)) throw new Error(`content.list: ${p} is not a selected directory`);
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const names = new Set<string>();
    const child = (q: string): string | null =>
      q.startsWith(prefix) && q !== dir && !q.slice(prefix.length).includes('/') ? q.slice(prefix.length) : null;
    for (const f of this.files.keys()) {
      const n = child(f);
      if (n) names.add(n);
    }
    for (const d of this.dirs) {
      const n = child(d);
      if (n) names.add(`${n}/`);
    }
    return [...names].sort();
  }

  write(p: string, data: string): void {
    const f = this.files.get(p);
    if (!f) throw new Error(`content.write: ${p} is not part of the selected slices`);
    if (!f.mutable) throw new Error(`content.write: ${p} is not mutable`);
    this.written.set(p, data);
  }

  module(): Value {
    const str = (v: Value | undefined, what: string): string => {
      if (typeof v !== 'string') throw new Error(`${what}: want string argument, got ${v === undefined ? 'nothing' : typeof v}`);
      return v;
    };
    return hostModule('content', {
      read: (args) => this.read(str(args[0], 'content.read')),
      write: (args) => {
        this.write(str(args[0], 'content.write'), str(args[1], 'content.write'));
        return null;
      },
      list: (args) => this.list(str(args[0], 'content.list')) as unknown as Value,
    });
  }
}

interface Script {
  rel: string;
  pkg: string;
  slice: string;
  source: string;
}

const scripts: Script[] = [];
for (const rel of releases) {
  for (const [pkg, def] of packagesByRelease.get(rel)!) {
    for (const [slice, s] of Object.entries(def.slices ?? {})) {
      if (s?.mutate) scripts.push({ rel, pkg, slice, source: s.mutate });
    }
  }
}

function runSlice(
  rel: string,
  pkg: string,
  slice: string,
  opts: { arch?: string; also?: string[]; tweak?: (fs: FakeContent) => void } = {},
): FakeContent {
  const arch = opts.arch ?? 'amd64';
  const sel = select(rel, [`${pkg}_${slice}`, ...(opts.also ?? [])], arch);
  const fs = FakeContent.fromSelection(sel, arch);
  opts.tweak?.(fs);
  const source = packagesByRelease.get(rel)!.get(pkg)!.slices![slice]!.mutate!;
  runScript(source, { filename: `${rel}/slices/${pkg}.yaml (${pkg}_${slice} mutate)`, globals: { content: fs.module() } });
  return fs;
}

function releasesWith(pkg: string, slice: string): string[] {
  return scripts.filter((s) => s.pkg === pkg && s.slice === slice).map((s) => s.rel);
}

describe('corpus mutate scripts', () => {
  it('finds every script (41 slice files have one)', () => {
    const files = new Set(scripts.map((s) => `${s.rel}/${s.pkg}`));
    expect(files.size).toBe(41);
    expect(scripts.length).toBeGreaterThanOrEqual(48);
  });

  it.each(scripts.map((s) => [`${s.rel} ${s.pkg}_${s.slice}`, s] as const))('%s runs', (_name, s) => {
    const fs = runSlice(s.rel, s.pkg, s.slice);
    expect(fs.written.size).toBeGreaterThan(0);
  });

  it('parses and runs every script well under a second', () => {
    const prepared = scripts.map((s) => {
      const fs = FakeContent.fromSelection(select(s.rel, [`${s.pkg}_${s.slice}`], 'amd64'), 'amd64');
      return { s, content: fs.module() };
    });
    const start = performance.now();
    for (const { s, content } of prepared) runScript(s.source, { filename: s.pkg, globals: { content } });
    const ms = performance.now() - start;
    console.log(`starlark corpus: ${prepared.length} scripts parsed and run in ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(1000);
  });

  it.each(releasesWith('ca-certificates', 'data'))('%s ca-certificates_data: bundle is the certs in content.list order', (rel) => {
    const fs = runSlice(rel, 'ca-certificates', 'data');
    const dir = '/usr/share/ca-certificates/mozilla/';
    const names = fs.list(dir);
    expect(names).toEqual(['alpha-1.crt', 'mid-2.crt', 'zeta-3.crt']);
    const bundle = fs.written.get('/etc/ssl/certs/ca-certificates.crt')!;
    expect(bundle).toBe(names.map((n) => fs.read(dir + n)).join(''));
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
  });

  it.each(releasesWith('ca-certificates', 'data-with-certs'))('%s ca-certificates_data-with-certs: lists the certs', (rel) => {
    const fs = runSlice(rel, 'ca-certificates', 'data-with-certs');
    expect(fs.written.get('/etc/ca-certificates.conf')).toBe('mozilla/alpha-1.crt\nmozilla/mid-2.crt\nmozilla/zeta-3.crt');
  });

  it.each(releasesWith('base-passwd', 'data'))('%s base-passwd_data: /etc/passwd and /etc/group from the masters', (rel) => {
    const fs = runSlice(rel, 'base-passwd', 'data');
    expect(fs.written.get('/etc/passwd')).toBe(PASSWD_MASTER);
    expect(fs.written.get('/etc/group')).toBe(GROUP_MASTER);
  });

  it.each(releasesWith('libpam-runtime', 'config'))('%s libpam-runtime_config: common-* files like pam-auth-update', (rel) => {
    const fs = runSlice(rel, 'libpam-runtime', 'config');
    expect([...fs.written.keys()].sort()).toEqual(PAM_TYPES.map((t) => `/etc/pam.d/common-${t}`));
    for (const t of PAM_TYPES) {
      const [primary, additional] = PAM_BLOCKS[t]!;
      const expected = pamTemplate(t).replace(`${PAM_STEMS[t]}_primary`, primary).replace(`${PAM_STEMS[t]}_additional`, additional);
      expect(fs.written.get(`/etc/pam.d/common-${t}`), t).toBe(expected);
    }
    expect(fs.written.get('/etc/pam.d/common-auth')).toContain('auth\t[success=1 default=ignore]\tpam_unix.so nullok\n');
  });

  it.each(releasesWith('squid', 'minimal'))('%s squid_minimal: minimal.conf unless squid_core brings default.conf', (rel) => {
    const alone = runSlice(rel, 'squid', 'minimal');
    expect(alone.list('/etc/squid')).not.toContain('default.conf');
    expect(alone.written.get('/etc/squid/squid.conf')).toBe(alone.read('/etc/squid/minimal.conf'));
    expect(alone.written.get('/etc/squid/squid.conf')).toContain('visible_hostname squid.minimal');

    const withCore = runSlice(rel, 'squid', 'minimal', { also: ['squid_core'] });
    expect(withCore.list('/etc/squid')).toContain('default.conf');
    expect(withCore.written.get('/etc/squid/squid.conf')).toBe(generatedContent('/etc/squid/squid.conf'));
  });

  it.each(releasesWith('libwrap0', 'host-files'))('%s libwrap0_host-files: writes a host file only when it is listed', (rel) => {
    const both = runSlice(rel, 'libwrap0', 'host-files');
    expect(both.written.get('/etc/hosts.allow')).toBe(both.read('/etc/hosts.allow.tmp'));
    expect(both.written.get('/etc/hosts.deny')).toBe(both.read('/etc/hosts.deny.tmp'));
    expect(both.written.get('/etc/hosts.allow')).toMatch(/^# \/etc\/hosts\.allow:/);

    // hosts.deny not present and its template not a FIXME placeholder: the elif branch writes nothing.
    const onlyAllow = runSlice(rel, 'libwrap0', 'host-files', { tweak: (fs) => fs.files.delete('/etc/hosts.deny') });
    expect([...onlyAllow.written.keys()]).toEqual(['/etc/hosts.allow']);
  });

  it.each(releasesWith('libwrap0', 'host-files'))('%s libwrap0_host-files: a FIXME template is written even when unlisted', (rel) => {
    let fake: FakeContent | undefined;
    const fs = runSlice(rel, 'libwrap0', 'host-files', {
      tweak: (f) => {
        fake = f;
        f.files.set('/etc/hosts.deny.tmp', { data: 'FIXME placeholder\n', mutable: false });
        // Hide hosts.deny from content.list while keeping it writable.
        const list = f.list.bind(f);
        f.list = (p: string) => list(p).filter((n) => n !== 'hosts.deny');
      },
    });
    expect(fs).toBe(fake);
    expect(fs.written.get('/etc/hosts.deny')).toBe('FIXME placeholder\n');
  });

  it.each(releasesWith('apt', 'default-source-list'))('%s apt_default-source-list: picks the sources for the architecture', (rel) => {
    const amd64 = runSlice(rel, 'apt', 'default-source-list', { arch: 'amd64' });
    expect(amd64.written.get('/etc/apt/sources.list.d/ubuntu.sources')).toBe(amd64.read('/etc/apt/sources.list.d/ubuntu-default.sources'));
    expect(amd64.written.get('/etc/apt/sources.list.d/ubuntu.sources')).toContain('ubuntu-archive.invalid');
    const arm64 = runSlice(rel, 'apt', 'default-source-list', { arch: 'arm64' });
    expect(arm64.written.get('/etc/apt/sources.list.d/ubuntu.sources')).toContain('ubuntu-ports.invalid');
  });

  it.each(scripts.filter((s) => /^(php|apache2|debianutils)/.test(s.pkg)).map((s) => [`${s.rel} ${s.pkg}_${s.slice}`, s] as const))(
    '%s copies its source file',
    (_name, s) => {
      const fs = runSlice(s.rel, s.pkg, s.slice);
      const src = /content\.read\((?:src|"([^"]+)")\)/.exec(s.source)!;
      const from = src[1] ?? /src = "([^"]+)"/.exec(s.source)![1]!;
      expect([...fs.written.values()]).toEqual([generatedContent(from)]);
    },
  );
});

describe('content host errors', () => {
  it('writing a path that is not mutable is a StarlarkError at the call', () => {
    const rel = releasesWith('base-passwd', 'data')[0]!;
    let err: unknown;
    try {
      runSlice(rel, 'base-passwd', 'data', { tweak: (fs) => (fs.files.get('/etc/group')!.mutable = false) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StarlarkError);
    const se = err as StarlarkError;
    expect(se.message).toBe(`${rel}/slices/base-passwd.yaml (base-passwd_data mutate):2:9: content.write: /etc/group is not mutable`);
    expect([se.line, se.col]).toEqual([2, 9]);
    expect((se.cause as Error).message).toBe('content.write: /etc/group is not mutable');
  });

  it('reading an unselected path inside a function reports the traceback', () => {
    const fs = new FakeContent();
    fs.add('/etc/a', {});
    const src = 'def get(p):\n  return content.read(p)\n\nx = get("/etc/a")\ny = get("/etc/missing")\n';
    let err: StarlarkError | undefined;
    try {
      runScript(src, { filename: 'm.star', globals: { content: fs.module() } });
    } catch (e) {
      err = e as StarlarkError;
    }
    expect(err?.message).toBe(
      'm.star:2:18: content.read: /etc/missing is not part of the selected slices\nTraceback (most recent call last):\n  m.star:5:5: in <toplevel>\n  m.star:2:18: in get',
    );
  });

  it('content.list marks directories with a trailing slash', () => {
    const fs = new FakeContent();
    fs.add('/etc/a', {});
    fs.add('/etc/sub/', {});
    const g = runScript('l = content.list("/etc/")\nm = content.list("/etc")', { filename: 'l.star', globals: { content: fs.module() } });
    expect(toJS(g.get('l')!)).toEqual(['a', 'sub/']);
    expect(toJS(g.get('m')!)).toEqual(['a', 'sub/']);
  });
});
