/** /api/jobs: the jobs, one job's progress, its tasks, graph, timeline and products. */
import { Readable } from 'node:stream';
import type { JobRecord, TaskRecord } from '../../store/store.js';
import { requireAccess } from '../auth.js';
import { type ApiApp, type ApiContext, notFound, totalOf } from '../context.js';
import { jobGraph } from '../graph.js';
import { flagQuery, limitQuery, taskListQuery } from '../params.js';

export function jobJson(job: JobRecord, counts: Record<string, number>) {
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    workdir: job.workdir,
    sourceFile: job.sourceFile,
    report: job.report,
    failFast: job.failFast,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
    counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
  };
}

/** A row of the task list: what a table shows, without params or results. */
export function taskRow(task: TaskRecord) {
  return {
    id: task.id,
    jobId: task.jobId,
    name: task.name,
    type: task.type,
    state: task.state,
    loop: task.loop,
    source: task.source,
    attempts: task.attempts,
    maxAttempts: task.maxAttempts,
    worker: task.worker,
    error: errorLine(task.error),
    queuedAt: task.queuedAt,
    startedAt: task.startedAt,
    finishedAt: task.finishedAt,
  };
}

/** The line of an error worth reading first: the last non-empty one (a traceback's exception). */
export function errorLine(error: string | null): string | null {
  if (!error) return null;
  const lines = error.split('\n').filter((l) => l.trim() !== '');
  return lines.length <= 1 ? (lines[0] ?? null) : `${lines[0]} … ${lines[lines.length - 1].trim()}`;
}

export function jobRoutes(app: ApiApp, ctx: ApiContext): void {
  const { store } = ctx;
  const read = requireAccess('read');

  app.get('/api/jobs', read, async (c) => {
    const jobs = await store.listJobs();
    const out = [];
    for (const job of jobs.reverse()) out.push(jobJson(job, await store.countTasks(job.id)));
    return c.json(out);
  });

  app.get('/api/jobs/:job', read, async (c) => {
    const job = await store.getJob(c.req.param('job'));
    const [counts, byType, failed, failedTotal] = await Promise.all([
      store.countTasks(job.id),
      store.countTasksByType(job.id),
      store.listTasks(job.id, { state: 'failed', limit: 20 }),
      store.countMatchingTasks(job.id, { state: 'failed' }),
    ]);
    return c.json({
      ...jobJson(job, counts),
      types: Object.entries(byType).map(([type, typeCounts]) => ({ type, counts: typeCounts, total: totalOf(typeCounts) })),
      failures: { total: failedTotal, tasks: failed.map((t) => ({ ...taskRow(t), errorText: t.error })) },
    });
  });

  app.get('/api/jobs/:job/tasks', read, async (c) => {
    const job = await store.getJob(c.req.param('job'));
    const filter = taskListQuery(c);
    // full=1: whole task records (params, inputs, outputs, result, the full error), as `orrery tasks --json` prints them
    const full = flagQuery(c, 'full');
    const [tasks, total] = await Promise.all([store.listTasks(job.id, filter), store.countMatchingTasks(job.id, filter)]);
    return c.json({ job: job.id, total, limit: filter.limit, offset: filter.offset, tasks: full ? tasks : tasks.map(taskRow) });
  });

  app.get('/api/jobs/:job/graph', read, async (c) => {
    const job = await store.getJob(c.req.param('job'));
    return c.json(await jobGraph(ctx, job.id, c.req.queries('expand') ?? []));
  });

  app.get('/api/jobs/:job/timeline', read, async (c) => {
    const job = await store.getJob(c.req.param('job'));
    const { limit } = limitQuery(c, 20_000, 2000);
    return c.json({ job: job.id, now: Date.now(), attempts: await store.jobAttempts(job.id, limit) });
  });

  app.get('/api/jobs/:job/products', read, async (c) => {
    const job = await store.getJob(c.req.param('job'));
    const products = await store.productDetails(job.id);
    return c.json(products.map((p) => ({ ...p, download: downloadUrl(job.id, p.path) })));
  });

  app.get('/api/jobs/:job/files/:path{.+}', read, async (c) => {
    const job = await store.getJob(c.req.param('job'));
    const path = c.req.param('path');
    const [product] = await store.productDetails(job.id, [path]);
    if (!product) notFound(`job ${job.id} has no current product ${JSON.stringify(path)}; GET /api/jobs/${job.id}/products lists them`);
    const stream = await ctx.products.open(product.sha256);
    if (!stream) notFound(`the bytes of ${path} (sha256 ${product.sha256}) are no longer in the file repository`);
    const filename = path.split('/').pop() ?? 'product';
    return c.body(Readable.toWeb(stream) as ReadableStream<Uint8Array>, 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(product.size),
      'Content-Disposition': `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(filename)}`,
      'X-Content-Type-Options': 'nosniff',
      ETag: `"${product.sha256}"`,
    });
  });

  app.post('/api/jobs/:job/retry', requireAccess('admin'), async (c) => {
    const job = await store.getJob(c.req.param('job'));
    const requeued = await store.retry({ jobId: job.id });
    return c.json({ job: job.id, requeued, hint: requeued > 0 ? ctx.retryHint(job) : null });
  });

  app.post('/api/jobs/:job/cancel', requireAccess('admin'), async (c) => {
    const job = await store.getJob(c.req.param('job'));
    const cancelled = await store.cancel({ jobId: job.id });
    const state = await store.settleJob(job.id);
    return c.json({ job: job.id, cancelled, state });
  });
}

export function downloadUrl(jobId: number, path: string): string {
  return `/api/jobs/${jobId}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
}
