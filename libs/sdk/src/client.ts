import createClient, { type Client } from 'openapi-fetch';
import { HostplaneError } from './errors';
import type { paths } from './generated';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

export interface HostplaneClientOptions {
  /** The hub, e.g. `https://hub.example.com` (no `/v1`). */
  baseUrl: string;
  /** An `hp_pat_` API token or a login access token (JWT). */
  token?: string;
  /** With a login session: renews the access token once when the hub answers 401. */
  refreshToken?: string;
  /** Called with the new pair after a refresh (a refresh token works once: keep the new one). */
  onTokens?: (tokens: TokenPair) => void | Promise<void>;
  /** The organization of requests made with a login session (`X-Org-Id`); API tokens carry their own. */
  orgId?: string;
  fetch?: typeof fetch;
}

/**
 * A client of the hub API. `api` is the typed client generated from the OpenAPI document
 * (`client.api.GET('/v1/nodes/{id}', { params: { path: { id } } })`); `fetch` sends any request
 * with the same credentials, for the routes that stream.
 */
export class HostplaneClient {
  readonly api: Client<paths>;
  readonly baseUrl: string;
  private token?: string;
  private refreshToken?: string;
  private refreshing?: Promise<boolean>;
  private readonly baseFetch: typeof fetch;

  constructor(private readonly options: HostplaneClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.refreshToken = options.refreshToken;
    this.baseFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.api = createClient<paths>({
      baseUrl: this.baseUrl,
      fetch: (request: Request) => this.send(request),
    });
  }

  get orgId(): string | undefined {
    return this.options.orgId;
  }

  get accessToken(): string | undefined {
    return this.token;
  }

  /** The credential headers of every request. */
  authHeaders(): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (this.options.orgId) headers['x-org-id'] = this.options.orgId;
    return headers;
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** An authenticated request to a path of the hub (`/v1/...`), refreshed once on 401 like `api`'s. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return this.send(new Request(this.url(path), init));
  }

  /** Like `fetch`, but an answer that is not 2xx is thrown as a `HostplaneError`. */
  async fetchOk(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await this.fetch(path, init);
    if (!response.ok) throw await HostplaneError.fromResponse(response);
    return response;
  }

  private async send(request: Request): Promise<Response> {
    const retry = this.refreshToken && request.body === null ? request.clone() : undefined;
    const response = await this.baseFetch(this.withAuth(request));
    if (response.status !== 401 || !retry || !(await this.refresh())) return response;
    return this.baseFetch(this.withAuth(retry));
  }

  private withAuth(request: Request): Request {
    const headers = new Headers(request.headers);
    for (const [k, v] of Object.entries(this.authHeaders())) if (!headers.has(k)) headers.set(k, v);
    return new Request(request, { headers });
  }

  /** One refresh at a time: concurrent 401s share it. */
  private refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      try {
        const res = await this.baseFetch(this.url('/v1/auth/refresh'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh_token: this.refreshToken }),
        });
        if (!res.ok) return false;
        const body = (await res.json()) as { access_token: string; refresh_token: string };
        this.token = body.access_token;
        this.refreshToken = body.refresh_token;
        await this.options.onTokens?.({ accessToken: body.access_token, refreshToken: body.refresh_token });
        return true;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}

export function createHostplaneClient(options: HostplaneClientOptions): HostplaneClient {
  return new HostplaneClient(options);
}
