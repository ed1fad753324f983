/** Serves the HTTP API over a state directory on a free port of 127.0.0.1, for tests. */
import path from 'node:path';
import type { AuthOptions } from '../../src/server/auth.js';
import { localProducts } from '../../src/server/context.js';
import { type RunningServer, serveApi } from '../../src/server/serve.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';

export const ADMIN = 'admin-token-for-tests';
export const READER = 'read-token-for-tests';

export interface TestApi {
  server: RunningServer;
  store: Store;
  base: string;
  get<T = any>(route: string, headers?: Record<string, string>): Promise<{ status: number; body: T; headers: Headers }>;
  post<T = any>(route: string, headers?: Record<string, string>): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startApi(stateDir: string, auth: Partial<AuthOptions> = {}): Promise<TestApi> {
  const store = await openStore(path.join(stateDir, 'orrery.db'));
  const server = await serveApi({
    store,
    products: localProducts(path.join(stateDir, 'files')),
    host: '127.0.0.1',
    port: 0,
    pollMs: 100,
    auth: { adminToken: ADMIN, readToken: READER, requireReadToken: false, loopbackHostOnly: true, cookieName: 'orrery_token_test', ...auth },
    onError: (error) => process.stderr.write(`api error: ${error.stack}\n`),
  });
  const base = server.url.replace(/\/$/, '');
  return {
    server,
    store,
    base,
    async get(route, headers = {}) {
      const response = await fetch(`${base}${route}`, { headers, redirect: 'manual' });
      const text = await response.text();
      let body: any = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: CSV, metrics, bytes
      }
      return { status: response.status, body, headers: response.headers };
    },
    async post(route, headers = {}) {
      const response = await fetch(`${base}${route}`, { method: 'POST', headers });
      return { status: response.status, body: await response.json() };
    },
    async close() {
      await server.close();
      await store.close();
    },
  };
}

/** Reads Server-Sent Events from a URL until `until` accepts one (or the time runs out). */
export async function readEvents(url: string, until: (event: { event: string; data: any }) => boolean, timeoutMs = 10_000) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const seen: Array<{ event: string; data: any }> = [];
  try {
    const response = await fetch(url, { signal: controller.signal, headers: { Accept: 'text/event-stream' } });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return seen;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || data === undefined) continue;
        const parsed = { event, data: JSON.parse(data) };
        seen.push(parsed);
        if (until(parsed)) {
          controller.abort();
          return seen;
        }
      }
    }
  } catch (error) {
    if ((error as Error).name === 'AbortError') return seen;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
