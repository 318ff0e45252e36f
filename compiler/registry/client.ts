// A client of one repository on a registry (OCI distribution API): requests
// authenticated as the registry asks, blob checks and monolithic uploads
// (the whole upload session retried on transient failures), and manifests
// put by digest or tag.

import { ChiselError } from '../util/errors.js';
import { DEFAULT_RETRY, isRetryableNetworkError, isRetryableStatus, retryAfterMs, withRetries } from '../http/retry.js';
import { Authenticator } from './auth.js';
import type { Credentials } from './credentials.js';
import { httpError, where, type Target } from './errors.js';
import type { Descriptor, PlannedManifest } from './layout.js';
import { type Body, type ReqSpec, type Resp, Transport } from './transport.js';

/** How one upload attempt ended: the registry's answer, or a failure to send it. */
type UploadOutcome = { res: Resp } | { error: unknown };

export class RegistryClient {
  readonly base: URL;
  private readonly transport: Transport;
  private readonly auth: Authenticator;

  constructor(
    readonly target: Target,
    scheme: 'http' | 'https',
    creds: Credentials | undefined,
    insecure: boolean,
    private readonly log: (msg: string) => void,
  ) {
    this.base = new URL(`${scheme}://${target.registry}/`);
    this.transport = new Transport(target, log);
    this.auth = new Authenticator(this.transport, this.base, `repository:${target.repository}:pull,push`, creds, insecure);
  }

  get where(): string {
    return where(this.target);
  }

  url(p: string): URL {
    return new URL(p, this.base);
  }

  close(): void {
    this.transport.close();
  }

  httpError(what: string, res: Resp, hint?: string): ChiselError {
    return httpError(this.target, what, res, hint);
  }

  /** A request to the registry, authenticated as its challenges ask. */
  async request(spec: ReqSpec): Promise<Resp> {
    let challenged = false;
    while (true) {
      const res = await this.transport.exchange(spec, () => this.auth.authorization(spec.url));
      if (res.status !== 401 || challenged) return res;
      challenged = true;
      if (!this.auth.acceptChallenge(res)) return res;
    }
  }

  /** GET /v2/: the registry is there and lets us in. */
  async ping(): Promise<void> {
    const ping = await this.request({ method: 'GET', url: this.url('/v2/'), what: 'contacting the registry' });
    if (ping.status !== 200) throw this.httpError('contacting the registry (GET /v2/)', ping);
  }

  /**
   * Uploads the blob unless the repository has it already. With `from` (a
   * repository of the same registry known to hold it) the blob is first
   * mounted from there (POST ?mount=&from=): 201 is done, any other answer
   * falls back to the upload.
   */
  async pushBlob(desc: Descriptor, body: Body, from?: string): Promise<'uploaded' | 'skipped' | 'mounted'> {
    const repo = this.target.repository;
    const head = await this.request({
      method: 'HEAD',
      url: this.url(`/v2/${repo}/blobs/${desc.digest}`),
      what: `checking blob ${desc.digest}`,
    });
    if (head.status === 200) {
      this.log(`blob ${desc.digest} already present`);
      return 'skipped';
    }
    if (head.status !== 404) throw this.httpError(`checking blob ${desc.digest}`, head);
    if (from && from !== repo && (await this.mountBlob(desc.digest, from))) return 'mounted';

    const what = `uploading blob ${desc.digest}`;
    const outcome = await withRetries<UploadOutcome>(
      {
        ...DEFAULT_RETRY,
        retryable: (o) =>
          o.ok &&
          ('res' in o.value
            ? isRetryableStatus(o.value.res.status)
            : o.value.error instanceof ChiselError && isRetryableNetworkError(o.value.error.cause)),
        delayFor: (o) => (o.ok && 'res' in o.value ? retryAfterMs(o.value.res.headers['retry-after']) : undefined),
        onRetry: (o) => {
          const v = (o as { value: UploadOutcome }).value;
          this.log(`${what}: ${'res' in v ? `HTTP ${v.res.status}` : ((v.error as ChiselError).cause as Error).message}; retrying`);
        },
      },
      async () => {
        const url = await this.startUpload(desc.digest);
        this.log(`${what} (${body.length} bytes)`);
        try {
          const headers = { 'Content-Type': 'application/octet-stream' };
          // The whole upload session is retried here, not the PUT alone.
          return { res: await this.request({ method: 'PUT', url, what, headers, body, retry: false }) };
        } catch (error) {
          return { error };
        }
      },
    );
    if ('error' in outcome) throw outcome.error;
    const { res } = outcome;
    if (res.status !== 201 && res.status !== 200 && res.status !== 204) throw this.httpError(what, res);
    const got = res.headers['docker-content-digest'];
    if (typeof got === 'string' && got !== '' && got !== desc.digest) {
      throw new ChiselError(`${what} for ${this.where}: the registry stored it as ${got}`, {
        code: 'push',
        hint: 'the blob file in the layout may be corrupted; rebuild the layout',
      });
    }
    return 'uploaded';
  }

  /** POST an upload session; its URL with the digest to PUT to. */
  /** Cross-repository mount of `digest` from `from`; false when the registry did not mount it (the blob is then uploaded). */
  private async mountBlob(digest: string, from: string): Promise<boolean> {
    const q = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    const what = `mounting blob ${digest} from ${from}`;
    const res = await this.request({ method: 'POST', url: this.url(`/v2/${this.target.repository}/blobs/uploads/${q}`), what });
    if (res.status === 201) {
      this.log(`blob ${digest} mounted from ${from}`);
      return true;
    }
    // a 202 opened an upload session that is left to expire: the upload starts its own
    this.log(`${what}: HTTP ${res.status}; uploading it`);
    return false;
  }

  private async startUpload(digest: string): Promise<URL> {
    const what = `starting upload of ${digest}`;
    const start = await this.request({ method: 'POST', url: this.url(`/v2/${this.target.repository}/blobs/uploads/`), what });
    if (start.status !== 202) throw this.httpError(what, start);
    const location = start.headers.location;
    if (!location)
      throw this.httpError(`${what}: no Location header in the answer`, start, 'the registry does not follow the OCI distribution API');
    let u: URL;
    try {
      u = new URL(location, this.base);
    } catch {
      throw new ChiselError(`registry ${this.target.registry} returned an invalid upload location "${location}"`, { code: 'push' });
    }
    // Append to the query as given (it may carry opaque state that must not be re-encoded).
    const href = u.href.replace(/#.*$/, '');
    const sep = !href.includes('?') ? '?' : href.endsWith('?') || href.endsWith('&') ? '' : '&';
    return new URL(`${href}${sep}digest=${encodeURIComponent(digest)}`);
  }

  /** PUT a manifest under `reference` (its digest, or a tag); checks the digest the registry reports. */
  async pushManifest(m: PlannedManifest, reference: string): Promise<Resp> {
    const what = `pushing manifest ${m.digest}${reference !== m.digest ? ` as ${reference}` : ''}`;
    this.log(what);
    const res = await this.request({
      method: 'PUT',
      url: this.url(`/v2/${this.target.repository}/manifests/${reference}`),
      what,
      headers: { 'Content-Type': m.mediaType },
      body: m.bytes,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202 && res.status !== 204) throw this.httpError(what, res);
    const got = res.headers['docker-content-digest'];
    if (typeof got === 'string' && got !== '' && got !== m.digest) {
      throw new ChiselError(`${what} for ${this.where}: the registry reports digest ${got}, expected ${m.digest}`, {
        code: 'push',
        hint: 'the registry changed the manifest (it may not support this media type); the pushed image is not the one in the layout',
      });
    }
    return res;
  }

  /** GET a manifest by tag or digest, accepting `accept`; 404 is an answer, not an error. */
  async getManifest(reference: string, accept: string, what: string): Promise<Resp> {
    const url = this.url(`/v2/${this.target.repository}/manifests/${reference}`);
    return this.request({ method: 'GET', url, what, headers: { Accept: accept } });
  }
}
