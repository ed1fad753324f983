/**
 * The HTTP API and the dashboard as one Hono application, over the `Store` port: the same
 * app serves `orrery ui` (the local embedded database) and `orrery server` (a shared one).
 */
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { InvalidInputError, NotFoundError } from '../core/errors.js';
import { packageFile, packageVersion } from '../core/package-root.js';
import type { JobRecord, Store } from '../store/store.js';
import { type AuthEnv, type AuthOptions, authenticate } from './auth.js';
import { type ApiContext, groupEdgeCache, type ProductSource } from './context.js';
import { LiveFeed } from './live-feed.js';
import { ServerMetrics } from './metrics.js';
import { BadRequestError } from './params.js';
import { jobRoutes } from './routes/jobs.js';
import { liveRoutes } from './routes/live.js';
import { resultRoutes } from './routes/results.js';
import { taskRoutes } from './routes/tasks.js';

export interface ApiServerOptions {
  store: Store;
  products: ProductSource;
  auth: AuthOptions;
  /** 'embedded' for `orrery ui`, 'server' for `orrery server`; shown by /api/info. */
  mode?: string;
  /** What to tell a person after a retry; by default, that workers will pick the tasks up. */
  retryHint?(job: JobRecord): string;
  /** Milliseconds between two looks at the database for live updates (default 500). */
  pollMs?: number;
  /** The built dashboard (default: dist/ui of this package). */
  assetsDir?: string;
  onError?(error: Error): void;
}

export interface ApiServer {
  app: Hono<AuthEnv>;
  feed: LiveFeed;
  close(): void;
}

/** dist/ui of this package. */
export const defaultAssetsDir = packageFile('dist/ui');

const serverVersion = (() => {
  try {
    return packageVersion();
  } catch {
    return 'unknown';
  }
})();

export function createApiServer(options: ApiServerOptions): ApiServer {
  const onError = options.onError ?? (() => {});
  const feed = new LiveFeed(options.store, options.pollMs ?? 500, onError);
  const metrics = new ServerMetrics(options.store);
  const ctx: ApiContext = {
    store: options.store,
    products: options.products,
    feed,
    retryHint: options.retryHint ?? ((job) => `the tasks of job ${job.id} are queued; workers will run them`),
    groupEdges: groupEdgeCache(options.store),
    pollMs: options.pollMs ?? 500,
  };

  const app = new Hono<AuthEnv>();
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
      },
      crossOriginEmbedderPolicy: false,
      // plain HTTP on a laptop or behind a proxy that decides about HTTPS itself
      strictTransportSecurity: false,
    }),
  );
  app.use('*', metrics.middleware());
  app.use('*', authenticate(options.auth));
  jobRoutes(app, ctx);
  resultRoutes(app, ctx);
  taskRoutes(app, ctx);
  liveRoutes(app, ctx, metrics, { version: serverVersion, mode: options.mode ?? 'server' });
  app.all('/api/*', (c) => c.json({ error: `no such route: ${c.req.method} ${c.req.path}; see docs/dashboard.md for the API` }, 404));

  const assets = options.assetsDir ?? defaultAssetsDir;
  app.use(
    '/*',
    serveStatic({
      root: assets,
      precompressed: true,
      onFound: (file, c) => {
        c.header('Cache-Control', /\/assets\//.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  app.get('*', (c) =>
    c.text(`the dashboard's files are missing from ${assets}: run \`npm run build\` (the API under /api works without them)`, 404),
  );

  app.onError((error, c) => {
    if (error instanceof NotFoundError) return c.json({ error: error.message }, 404);
    if (error instanceof BadRequestError || error instanceof InvalidInputError) return c.json({ error: error.message }, 400);
    onError(error);
    return c.json({ error: `internal error: ${error.message}` }, 500);
  });

  return { app, feed, close: () => feed.close() };
}
