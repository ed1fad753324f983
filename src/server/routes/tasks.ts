/** /api/tasks/:id: a task with its attempts, products and neighbours; its dependencies; its logs; retry and cancel. */
import { streamSSE } from 'hono/streaming';
import { NotFoundError } from '../../core/errors.js';
import type { Store, TaskRecord } from '../../store/store.js';
import { requireAccess } from '../auth.js';
import type { ApiApp, ApiContext } from '../context.js';
import { idParam, logQuery } from '../params.js';
import { downloadUrl } from './jobs.js';

const NEIGHBOURS = 200;

/** For a cached task, the task whose attempt produced the reused result. */
async function cacheOrigin(store: Store, task: TaskRecord): Promise<TaskRecord | null> {
  if (task.state !== 'cached' || !task.cacheKey) return null;
  const entry = await store.findCacheEntry(task.cacheKey);
  return entry && entry.taskId !== task.id ? store.getTaskById(entry.taskId).catch(() => null) : null;
}

async function productsOf(store: Store, task: TaskRecord, files: Record<string, string>) {
  const details = await store.productDetails(task.jobId, Object.values(files));
  const byPath = new Map(details.map((d) => [d.path, d]));
  return Object.entries(files).map(([name, path]) => {
    const d = byPath.get(path);
    return {
      name,
      path,
      sha256: d?.sha256 ?? null,
      size: d?.size ?? null,
      versions: d?.versions ?? 0,
      qcPassed: d?.qcPassed ?? null,
      producer: d?.producer ?? null,
      producerTaskId: d?.producerTaskId ?? null,
      download: d ? downloadUrl(task.jobId, path) : null,
    };
  });
}

export async function taskDetail(store: Store, task: TaskRecord) {
  const [job, attempts, links, inputs, outputs, origin] = await Promise.all([
    store.getJob(task.jobId),
    store.listAttempts(task.id),
    store.linkedTasks(task.id, NEIGHBOURS),
    productsOf(store, task, task.inputs),
    productsOf(store, task, task.outputs),
    cacheOrigin(store, task),
  ]);
  return {
    ...task,
    job: { id: job.id, name: job.name, state: job.state },
    attempts,
    // the task's own attempt counter (against maxAttempts), which `attempts` above replaces by the list
    attemptCount: task.attempts,
    inputs,
    outputs,
    inputPaths: task.inputs,
    outputPaths: task.outputs,
    upstream: links.upstream,
    downstream: links.downstream,
    upstreamTotal: links.upstreamTotal,
    downstreamTotal: links.downstreamTotal,
    cachedFrom: origin ? { id: origin.id, name: origin.name, jobId: origin.jobId } : null,
  };
}

/** The attempt whose log a task shows: the wanted one, else the latest; a cached task shows its origin's. */
async function logAttempt(store: Store, task: TaskRecord, wanted: number | undefined) {
  const origin = await cacheOrigin(store, task);
  const attempts = await store.listAttempts(origin?.id ?? task.id);
  if (attempts.length === 0) return { origin, attempt: null };
  if (wanted === undefined) return { origin, attempt: attempts[attempts.length - 1] };
  const attempt = attempts.find((a) => a.number === wanted);
  if (!attempt) throw new NotFoundError(`task ${task.name} has no attempt ${wanted}; it has attempts 1..${attempts.length}`);
  return { origin, attempt };
}

export function taskRoutes(app: ApiApp, ctx: ApiContext): void {
  const { store } = ctx;
  const read = requireAccess('read');

  app.get('/api/tasks/:id', read, async (c) => c.json(await taskDetail(store, await store.getTaskById(idParam(c, 'id')))));

  app.get('/api/jobs/:job/task/:name{.+}', read, async (c) => {
    const job = await store.getJob(c.req.param('job'));
    return c.json(await taskDetail(store, await store.getTask(`${job.id}/${c.req.param('name')}`)));
  });

  // every task directly upstream and downstream, by name (the task itself lists the first 200 with their states)
  app.get('/api/tasks/:id/dependencies', read, async (c) => {
    const task = await store.getTaskById(idParam(c, 'id'));
    return c.json(await store.dependencies(task.id));
  });

  app.get('/api/tasks/:id/logs', read, async (c) => {
    const task = await store.getTaskById(idParam(c, 'id'));
    const query = logQuery(c);
    const { origin, attempt } = await logAttempt(store, task, query.attempt);
    const cachedFrom = origin ? { id: origin.id, name: origin.name, jobId: origin.jobId } : null;
    if (!query.follow) {
      const lines = attempt ? await store.readLogPage(attempt.id, { afterSeq: query.after, tail: query.tail, limit: query.limit }) : [];
      return c.json({ task: task.id, attempt: attempt && { id: attempt.id, number: attempt.number, state: attempt.state }, cachedFrom, done: !attempt || attempt.finishedAt !== null, lines });
    }
    // live follow: the lines so far, then new ones every pollMs until the attempt ends
    return streamSSE(c, async (out) => {
      if (!attempt) {
        await out.writeSSE({ event: 'end', data: JSON.stringify({ state: null }) });
        return;
      }
      let after = query.after ?? -1;
      let first = true;
      for (;;) {
        const lines = await store.readLogPage(attempt.id, first && query.tail ? { tail: query.tail } : { afterSeq: after, limit: 5000 });
        first = false;
        if (lines.length > 0) {
          after = lines[lines.length - 1].seq;
          await out.writeSSE({ event: 'lines', data: JSON.stringify(lines) });
        }
        if (lines.length === 5000) continue;
        const now = (await store.listAttempts(attempt.taskId)).find((a) => a.id === attempt.id);
        if (!now || now.finishedAt !== null) {
          const rest = await store.readLogPage(attempt.id, { afterSeq: after });
          if (rest.length > 0) await out.writeSSE({ event: 'lines', data: JSON.stringify(rest) });
          await out.writeSSE({ event: 'end', data: JSON.stringify({ state: now?.state ?? null }) });
          return;
        }
        if (out.aborted || out.closed) return;
        await out.sleep(ctx.pollMs);
      }
    });
  });

  app.post('/api/tasks/:id/retry', requireAccess('admin'), async (c) => {
    const task = await store.getTaskById(idParam(c, 'id'));
    const requeued = await store.retry({ taskId: task.id });
    const job = await store.getJob(task.jobId);
    return c.json({ task: task.id, job: job.id, requeued, hint: requeued > 0 ? ctx.retryHint(job) : null });
  });

  app.post('/api/tasks/:id/cancel', requireAccess('admin'), async (c) => {
    const task = await store.getTaskById(idParam(c, 'id'));
    const cancelled = await store.cancel({ taskId: task.id });
    const state = await store.settleJob(task.jobId);
    return c.json({ task: task.id, job: task.jobId, cancelled, jobState: state });
  });
}
