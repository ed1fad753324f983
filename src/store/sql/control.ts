/**
 * What a person does to a job: cancel, retry, and the job's own ending.
 */
import { type Kysely, sql } from 'kysely';
import { cancellableStates, retryableStates } from '../../core/states.js';
import type { JobState } from '../../core/types.js';
import type { Database } from '../schema.js';
import type { TaskTarget } from '../store.js';

/** The target task and everything downstream of it, or every task of the job. */
async function targetIds(trx: Kysely<Database>, target: TaskTarget, states: readonly string[]): Promise<number[]> {
  if ('jobId' in target) {
    const rows = await trx
      .selectFrom('tasks')
      .select('id')
      .where('job_id', '=', target.jobId)
      .where('state', 'in', states)
      .execute();
    return rows.map((r) => Number(r.id));
  }
  const rows = await sql<{ id: number }>`
    WITH RECURSIVE downstream(id) AS (
      SELECT ${target.taskId}
      UNION
      SELECT d.task_id FROM task_deps d JOIN downstream ON d.depends_on = downstream.id
    )
    SELECT t.id FROM tasks t JOIN downstream ON t.id = downstream.id
    WHERE t.state IN (${sql.join(states.map((s) => sql.lit(s)))})
  `.execute(trx);
  return rows.rows.map((r) => Number(r.id));
}

/**
 * Cancels tasks not yet finished. A running task keeps its lease token but leaves the
 * `running` state, so its worker's heartbeat learns it lost the task and stops the
 * process, and its late completion is fenced out.
 */
export async function cancelTasks(trx: Kysely<Database>, target: TaskTarget, now: number): Promise<number> {
  const ids = await targetIds(trx, target, cancellableStates);
  if (ids.length === 0) return 0;
  await trx
    .updateTable('attempts')
    .set({ state: 'cancelled', finished_at: now, error: 'cancelled' })
    .where('task_id', 'in', ids)
    .where('state', '=', 'running')
    .execute();
  await trx.updateTable('tasks').set({ state: 'cancelled', finished_at: now }).where('id', 'in', ids).execute();
  return ids.length;
}

/**
 * Puts failed, upstream_failed and cancelled tasks back: each gets a fresh retry budget;
 * `pending` is recounted from the upstream tasks' states, and tasks with nothing pending
 * are queued at once.
 */
export async function retryTasks(trx: Kysely<Database>, target: TaskTarget, now: number): Promise<number> {
  const ids = await targetIds(trx, target, retryableStates);
  if (ids.length === 0) return 0;
  await trx
    .updateTable('tasks')
    .set({
      state: 'waiting',
      attempts: 0,
      error: null,
      finished_at: null,
      not_before: 0,
      lease_token: null,
      worker: null,
      pending: sql`(SELECT count(*) FROM task_deps d JOIN tasks u ON u.id = d.depends_on
                    WHERE d.task_id = tasks.id AND u.state NOT IN ('succeeded', 'cached'))`,
    })
    .where('id', 'in', ids)
    .execute();
  await trx
    .updateTable('tasks')
    .set({ state: 'queued', queued_at: now })
    .where('id', 'in', ids)
    .where('pending', '=', 0)
    .execute();
  const jobs = await trx.selectFrom('tasks').select('job_id').distinct().where('id', 'in', ids).execute();
  await trx
    .updateTable('jobs')
    .set({ state: 'running', finished_at: null })
    .where(
      'id',
      'in',
      jobs.map((j) => j.job_id),
    )
    .execute();
  return ids.length;
}

/** Ends the job when none of its tasks can still run: failed beats cancelled beats succeeded. */
export async function settleJob(trx: Kysely<Database>, jobId: number, now: number): Promise<JobState> {
  const rows = await trx
    .selectFrom('tasks')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .where('job_id', '=', jobId)
    .groupBy('state')
    .execute();
  const count = (state: string) => Number(rows.find((r) => r.state === state)?.n ?? 0);
  if (count('waiting') + count('queued') + count('running') > 0) return 'running';
  const state: JobState =
    count('failed') + count('upstream_failed') > 0 ? 'failed' : count('cancelled') > 0 ? 'cancelled' : 'succeeded';
  await trx
    .updateTable('jobs')
    .set({ state, finished_at: now })
    .where('id', '=', jobId)
    .where('state', '=', 'running')
    .execute();
  return state;
}
