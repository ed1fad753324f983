/**
 * A small client of Orrery's HTTP API (docs/dashboard.md) on Node's fetch, for the CLI's
 * `--server URL`. Failures become the CLI's errors: the server unreachable, failing, or
 * refusing the token → InfrastructureError (exit 3, like a database refusing the password);
 * no such job or task (404) → NotFoundError (exit 2, as without --server).
 */
import { InfrastructureError, InvalidInputError, NotFoundError } from '../core/errors.js';

export type Query = Record<string, string | number | undefined>;

export class ApiClient {
  private readonly base: URL;
  /** The server as messages name it: no credentials, no query. */
  readonly shown: string;

  constructor(
    server: string,
    private readonly token?: string,
    private readonly timeoutMs = 60_000,
  ) {
    let url: URL | null = null;
    try {
      url = new URL(server);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new InvalidInputError('', '--server', 'expected the http:// or https:// address of `orrery server` or `orrery ui`, e.g. http://orrery.lab:8080');
    }
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    this.base = url;
    this.shown = url.href.replace(/\/$/, '');
  }

  get<T>(route: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', route, query);
  }

  post<T>(route: string): Promise<T> {
    return this.request<T>('POST', route, {});
  }

  /** `route` is relative to the server's address ("api/jobs/3"), so a server behind a path prefix works. */
  private async request<T>(method: 'GET' | 'POST', route: string, query: Query): Promise<T> {
    const url = new URL(route, this.base);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    let status: number;
    let text: string;
    try {
      const response = await fetch(url, {
        method,
        headers: { Accept: 'application/json', ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}) },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw new InfrastructureError(`cannot reach the Orrery server at ${this.shown}: ${this.reason(error)}; is \`orrery server\` running there? (--server / ORRERY_SERVER)`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (status >= 200 && status < 300 && body !== undefined) return body as T;
    throw this.refusal(method, status, (body as { error?: unknown } | undefined)?.error);
  }

  private refusal(method: string, status: number, error: unknown): Error {
    const message = typeof error === 'string' ? error : null;
    const server = `the Orrery server at ${this.shown}`;
    if (status === 401) {
      return new InfrastructureError(
        this.token
          ? `${server} does not accept the token given (--token / ORRERY_TOKEN): use the admin or read-only token it was started with`
          : `${server} needs a token: pass --token T or set ORRERY_TOKEN (the admin token \`orrery server\` printed, or the read-only one)`,
      );
    }
    if (status === 403 && method === 'POST') {
      return new InfrastructureError(
        `retry and cancel need the admin token of ${server}: ${this.token ? 'the token given (--token / ORRERY_TOKEN) is not it' : 'pass it with --token T or ORRERY_TOKEN'}`,
      );
    }
    if (status === 404 && message) return new NotFoundError(message);
    if (status === 400 && message) return new InvalidInputError('', '', message);
    if (message) return new InfrastructureError(`${server} refused the request (HTTP ${status}): ${message}`);
    return new InfrastructureError(`${server} answered HTTP ${status} without Orrery's JSON: is --server the address of \`orrery server\` or \`orrery ui\`?`);
  }

  private reason(error: unknown): string {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') return `no answer within ${Math.round(this.timeoutMs / 1000)} s`;
    return e.cause?.code ?? e.cause?.message ?? e.message;
  }
}
