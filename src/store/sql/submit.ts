/**
 * Inserts a planned job in one transaction: the job, its task types, tasks with their
 * count of pending upstream tasks, the edges, and the products (external inputs get
 * their version at once). Tasks with nothing pending start `queued`.
 */
import type { Insertable, Kysely } from 'kysely';
import type { PlannedJob } from '../../core/types.js';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';
import type { SubmitOptions } from '../store.js';
import { addCurrentVersion } from './complete.js';
import { chunks, taskRow } from './rows.js';

const ROWS_PER_STATEMENT = 500;

export async function insertJob(trx: Kysely<Database>, dialect: Dialect, plan: PlannedJob, options: SubmitOptions, now: number): Promise<number> {
  const jobId = await dialect.insertId(
    trx
    .insertInto('jobs')
    .values({
      name: plan.name,
      workdir: plan.workdir,
      state: 'running',
      plan_hash: options.planHash,
      fail_fast: options.failFast ? 1 : 0,
      report: plan.report,
      source_file: options.sourceFile,
      created_at: now,
      finished_at: null,
    }),
  );

  await trx
    .insertInto('job_types')
    .values(
      Object.values(plan.types).map((type) => ({
        job_id: jobId,
        name: type.name,
        definition: JSON.stringify(type),
        definition_hash: options.typeHashes[type.name],
      })),
    )
    .execute();

  const pending = new Array<number>(plan.tasks.length).fill(0);
  for (const [, downstream] of plan.edges) pending[downstream] += 1;

  const taskRows = plan.tasks.map((task, index) =>
    taskRow(jobId, task, plan.types[task.type], { state: pending[index] === 0 ? 'queued' : 'waiting', pending: pending[index] }, now),
  );
  await insertAll(trx, dialect, 'tasks', taskRows, ROWS_PER_STATEMENT);

  const ids = new Map<string, number>();
  const rows = await trx.selectFrom('tasks').select(['id', 'name']).where('job_id', '=', jobId).execute();
  for (const row of rows) ids.set(row.name, Number(row.id));
  const taskId = (index: number) => ids.get(plan.tasks[index].name)!;

  const deps = plan.edges.map(([up, down]) => ({ task_id: taskId(down), depends_on: taskId(up) }));
  await insertAll(trx, dialect, 'task_deps', deps, ROWS_PER_STATEMENT * 4);

  const products: Array<{ job_id: number; path: string; producer_task_id: number | null }> = [];
  plan.tasks.forEach((task, index) => {
    for (const path of Object.values(task.outputs)) products.push({ job_id: jobId, path, producer_task_id: taskId(index) });
  });
  for (const path of Object.keys(options.externalVersions)) products.push({ job_id: jobId, path, producer_task_id: null });
  await insertAll(trx, dialect, 'products', products, ROWS_PER_STATEMENT * 2);

  for (const [path, version] of Object.entries(options.externalVersions)) {
    await addCurrentVersion(trx, dialect, jobId, path, { attemptId: null, version, qcPassed: null }, now);
  }
  return jobId;
}

/**
 * Inserts rows of one shape: the dialect's own way where it has one (Dialect.insertRows),
 * else multi-row INSERTs of `perStatement` rows each (within the parameter limits).
 */
async function insertAll<T extends keyof Database & string>(
  trx: Kysely<Database>,
  dialect: Dialect,
  table: T,
  rows: Array<Insertable<Database[T]>>,
  perStatement: number,
): Promise<void> {
  if (dialect.insertRows) {
    dialect.insertRows(table, rows as Array<Record<string, unknown>>);
    return;
  }
  for (const batch of chunks(rows, perStatement)) await trx.insertInto(table).values(batch as never).execute();
}
