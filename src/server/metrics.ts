/**
 * Prometheus metrics at /metrics. Gauges are read from the task database at scrape time
 * (one grouped count over the tasks' state index, one over attempts), so every server
 * reports the same figures whatever process changed them. A registry per server, so two
 * servers in one process (tests) do not share figures.
 */
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { allTaskStates } from '../core/states.js';
import type { Store } from '../store/store.js';

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'route'>;

  constructor(store: Store) {
    collectDefaultMetrics({ register: this.registry, prefix: 'orrery_server_' });
    let snapshot: Promise<Awaited<ReturnType<Store['totals']>>> | null = null;
    // the gauges of one scrape share one read of the database
    const totals = () => {
      snapshot ??= store.totals().finally(() => setTimeout(() => (snapshot = null), 100));
      return snapshot;
    };
    new Gauge({
      name: 'orrery_tasks',
      help: 'Tasks in the task database, by state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const { tasks } = await totals();
        for (const state of allTaskStates) this.set({ state }, tasks[state]);
      },
    });
    new Gauge({
      name: 'orrery_attempts',
      help: 'Attempts recorded in the task database, by state (lost = the worker went away)',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const { attempts } = await totals();
        for (const state of ['running', 'succeeded', 'failed', 'lost', 'cancelled']) this.set({ state }, attempts[state] ?? 0);
      },
    });
    new Gauge({
      name: 'orrery_jobs',
      help: 'Jobs in the task database, by state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const { jobs } = await store.activity();
        for (const state of ['running', 'succeeded', 'failed', 'cancelled']) this.set({ state }, jobs.filter((j) => j.state === state).length);
      },
    });
    this.requests = new Counter({
      name: 'orrery_http_requests_total',
      help: 'HTTP requests served, by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'orrery_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (until the headers of a stream)',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
  }

  /** Counts and times API requests by their route pattern (never by the raw path). */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const start = performance.now();
      await next();
      if (!c.req.path.startsWith('/api/')) return;
      // the route pattern that answered (middleware for every path is registered as ALL)
      const route = matchedRoutes(c).find((r) => r.method !== 'ALL')?.path ?? 'unmatched';
      this.requests.inc({ method: c.req.method, route, status: String(c.res.status) });
      this.duration.observe({ route }, (performance.now() - start) / 1000);
    };
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
