/**
 * /api/jobs/:job/results: one row per task of a type, with its loop values, params and
 * results as columns (scalars only; nested values as JSON), as JSON pages or one CSV.
 */
import { stream } from 'hono/streaming';
import type { JsonObject, JsonValue } from '../../core/types.js';
import type { Store, TaskRecord } from '../../store/store.js';
import { requireAccess } from '../auth.js';
import type { ApiApp, ApiContext } from '../context.js';
import { limitQuery, typeQuery } from '../params.js';

const PAGE = 1000;

export interface ResultColumns {
  loop: string[];
  params: string[];
  results: string[];
}

function resultRow(task: TaskRecord) {
  return { id: task.id, name: task.name, state: task.state, loop: task.loop, params: task.params, result: task.result ?? {} };
}

function addKeys(into: Set<string>, object: JsonObject | null, skip: (key: string) => boolean = () => false): void {
  for (const key of Object.keys(object ?? {})) if (!skip(key)) into.add(key);
}

function columnsOf(tasks: TaskRecord[], into: { loop: Set<string>; params: Set<string>; results: Set<string> }): void {
  for (const t of tasks) {
    addKeys(into.loop, t.loop, (k) => k.endsWith('_index'));
    addKeys(into.params, t.params);
    addKeys(into.results, t.result);
  }
}

function sorted(sets: { loop: Set<string>; params: Set<string>; results: Set<string> }): ResultColumns {
  return { loop: [...sets.loop].sort(), params: [...sets.params].sort(), results: [...sets.results].sort() };
}

/** Every task of the type, a page at a time (the job may have 100,000 of them). */
async function* allOfType(store: Store, jobId: number, type: string): AsyncGenerator<TaskRecord[]> {
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.listTasks(jobId, { type, limit: PAGE, offset });
    if (page.length > 0) yield page;
    if (page.length < PAGE) return;
  }
}

/** One CSV field. Text that a spreadsheet would run as a formula is prefixed with a quote. */
export function csvField(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function resultRoutes(app: ApiApp, ctx: ApiContext): void {
  const { store } = ctx;
  const read = requireAccess('read');

  app.get('/api/jobs/:job/results', read, async (c) => {
    const job = await store.getJob(c.req.param('job'));
    const type = typeQuery(c);
    const { limit, offset } = limitQuery(c, 10_000, 1000);
    const [tasks, total] = await Promise.all([store.listTasks(job.id, { type, limit, offset }), store.countMatchingTasks(job.id, { type })]);
    const sets = { loop: new Set<string>(), params: new Set<string>(), results: new Set<string>() };
    columnsOf(tasks, sets);
    return c.json({ job: job.id, type, total, limit, offset, columns: sorted(sets), rows: tasks.map(resultRow) });
  });

  app.get('/api/jobs/:job/results.csv', read, async (c) => {
    const job = await store.getJob(c.req.param('job'));
    const type = typeQuery(c);
    // first pass: the columns of every row; second pass: the rows
    const sets = { loop: new Set<string>(), params: new Set<string>(), results: new Set<string>() };
    for await (const page of allOfType(store, job.id, type)) columnsOf(page, sets);
    const columns = sorted(sets);
    c.header('Content-Type', 'text/csv; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="${`${job.name}-${type}`.replace(/[^\w.-]/g, '_')}.csv"`);
    return stream(c, async (out) => {
      const header = ['task', 'state', ...columns.loop, ...columns.params.map((p) => `params.${p}`), ...columns.results.map((r) => `result.${r}`)];
      await out.write(`${header.map(csvField).join(',')}\n`);
      for await (const page of allOfType(store, job.id, type)) {
        const lines = page.map((t) =>
          [
            t.name,
            t.state,
            ...columns.loop.map((k) => t.loop[k]),
            ...columns.params.map((k) => t.params[k]),
            ...columns.results.map((k) => t.result?.[k]),
          ]
            .map(csvField)
            .join(','),
        );
        await out.write(`${lines.join('\n')}\n`);
      }
    });
  });
}
