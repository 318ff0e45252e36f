// Image references: REGISTRY/REPOSITORY[:TAG] as a push target, and the
// looser "name:tag" of an image's own name.

import { ChiselError } from '../util/errors.js';

export interface Reference {
  registry: string;
  repository: string;
  tag: string;
}

const REPO_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const REPO_RE = new RegExp(`^${REPO_COMPONENT}(?:/${REPO_COMPONENT})*$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;
const REF_HINT = 'write the reference as REGISTRY/REPOSITORY[:TAG], e.g. localhost:5000/my/image:v1';

/** An optional http:// or https:// prefix, and the rest. */
export function splitScheme(ref: string): { scheme?: 'http' | 'https'; rest: string } {
  const m = /^(https?):\/\//i.exec(ref);
  if (!m) return { rest: ref };
  return { scheme: m[1]!.toLowerCase() as 'http' | 'https', rest: ref.slice(m[0].length) };
}

function refError(ref: string, why: string): ChiselError {
  return new ChiselError(`invalid image reference "${ref}": ${why}`, { code: 'push-reference', hint: REF_HINT });
}

/** `REGISTRY/REPO[/MORE][:TAG]` (an optional http:// or https:// prefix is accepted and ignored). */
export function parseReference(ref: string): Reference {
  const { rest } = splitScheme(ref.trim());
  if (rest.includes('@')) throw refError(ref, 'digest references cannot be pushed to; give a tag');
  const slash = rest.indexOf('/');
  if (slash <= 0) throw refError(ref, 'no registry host (the part before the first "/")');
  const registry = rest.slice(0, slash);
  if (!(registry.includes('.') || registry.includes(':') || registry === 'localhost')) {
    throw refError(
      ref,
      `"${registry}" is not a registry host (a host must contain "." or ":" or be "localhost"; there is no default registry)`,
    );
  }
  if (!HOST_RE.test(registry)) throw refError(ref, `"${registry}" is not a valid registry host[:port]`);
  let repository = rest.slice(slash + 1);
  let tag = 'latest';
  const colon = repository.lastIndexOf(':');
  if (colon > repository.lastIndexOf('/')) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
  }
  if (!REPO_RE.test(repository)) {
    throw refError(ref, `"${repository}" is not a valid repository name (lowercase letters, digits, and . _ - / separators)`);
  }
  if (!TAG_RE.test(tag)) throw refError(ref, `"${tag}" is not a valid tag (up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)`);
  return { registry, repository, tag };
}

/** localhost, 127.0.0.1 or [::1], with or without a port: plain HTTP is allowed there. */
export function isLocalHost(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.split(':')[0]!;
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/** Split "name:tag" (name may hold a registry with a port) into its parts. */
export function splitTag(ref: string | undefined): { name?: string; tag: string } {
  if (!ref) return { tag: 'latest' };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { ...(colon > 0 ? { name: ref.slice(0, colon) } : {}), tag: ref.slice(colon + 1) };
  return ref.includes('/') ? { name: ref, tag: 'latest' } : { tag: ref };
}

/**
 * The full name an image loads as, normalized as Docker does (the
 * `io.containerd.image.name` of `docker save`): a first component with "." or
 * ":" or "localhost" is the registry, else the registry is docker.io and a
 * one-component name is under library/; a bare tag names localhost/chisel-ts.
 */
export function normalizedImageName(ref: string | undefined): string {
  const { name, tag } = splitTag(ref);
  if (!name) return `localhost/chisel-ts:${tag}`;
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    const host = first === 'index.docker.io' ? 'docker.io' : first;
    return `${host}${name.slice(slash)}:${tag}`;
  }
  return `docker.io/${slash < 0 ? `library/${name}` : name}:${tag}`;
}
