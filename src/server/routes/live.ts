/** /api/events (Server-Sent Events), /api/workers, /api/info, /healthz and /metrics. */
import { streamSSE } from 'hono/streaming';
import { requireAccess } from '../auth.js';
import type { ApiApp, ApiContext } from '../context.js';
import type { FeedEvent } from '../live-feed.js';
import type { ServerMetrics } from '../metrics.js';

/** Seconds between comment lines that keep idle event streams open through proxies. */
const KEEPALIVE_MS = 15_000;

export function liveRoutes(app: ApiApp, ctx: ApiContext, metrics: ServerMetrics, info: { version: string; mode: string }): void {
  const { store, feed } = ctx;
  const read = requireAccess('read');

  app.get('/healthz', async (c) => {
    try {
      await store.activity();
      return c.json({ ok: true });
    } catch (error) {
      return c.json({ ok: false, error: `the task database cannot be read: ${(error as Error).message}` }, 503);
    }
  });

  app.get('/metrics', read, async (c) => {
    const { body, contentType } = await metrics.text();
    return c.body(body, 200, { 'Content-Type': contentType });
  });

  app.get('/api/info', (c) => c.json({ ...info, access: c.get('access') }));

  app.get('/api/workers', read, async (c) => c.json(await store.listWorkers()));

  // the workers of distributed mode as they registered (pool, state, heartbeat), as `orrery workers --json` prints them
  app.get('/api/workers/registered', read, async (c) => c.json(await store.listRegisteredWorkers()));

  /**
   * `job` events carry a job's state and counts whenever they change; `attempts` events the
   * highest attempt id when an attempt starts. `?job=ID` limits `job` events to one job.
   */
  app.get('/api/events', read, (c) => {
    const only = c.req.query('job');
    return streamSSE(c, async (out) => {
      const queue: FeedEvent[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = feed.subscribe((event) => {
        if (only && event.kind === 'job' && String(event.job.id) !== only) return;
        queue.push(event);
        wake?.();
      });
      out.onAbort(() => wake?.());
      try {
        await out.writeSSE({ event: 'hello', data: JSON.stringify({ version: info.version }), retry: 2000 });
        while (!out.aborted && !out.closed) {
          if (queue.length === 0) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, KEEPALIVE_MS);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            wake = null;
            if (queue.length === 0 && !out.aborted) await out.write(': keepalive\n\n');
            continue;
          }
          const event = queue.shift()!;
          if (event.kind === 'job') await out.writeSSE({ event: 'job', data: JSON.stringify(event.job) });
          else await out.writeSSE({ event: 'attempts', data: JSON.stringify({ maxAttemptId: event.maxAttemptId }) });
        }
      } finally {
        unsubscribe();
      }
    });
  });
}
