/**
 * What a person does to a job: cancel, retry, and the job's own ending.
 */
import type { Kysely } from 'kysely';
import { cancellableStates, retryableStates } from '../../core/states.js';
import type { JobState } from '../../core/types.js';
import type { Database } from '../schema.js';
import type { TaskTarget } from '../store.js';
import { downstreamOf, forChunks } from './downstream.js';

/** The target task and everything downstream of it, or every task of the job, in the given states. */
async function targetIds(trx: Kysely<Database>, target: TaskTarget, states: readonly string[]): Promise<number[]> {
  const candidates =
    'jobId' in target
      ? (await trx.selectFrom('tasks').select('id').where('job_id', '=', target.jobId).execute()).map((r) => Number(r.id))
      : [target.taskId, ...(await downstreamOf(trx, [target.taskId]))];
  const out: number[] = [];
  await forChunks(candidates, async (ids) => {
    const rows = await trx.selectFrom('tasks').select('id').where('id', 'in', ids).where('state', 'in', states).execute();
    out.push(...rows.map((r) => Number(r.id)));
  });
  return out;
}

/**
 * Cancels tasks not yet finished. A running task keeps its lease token but leaves the
 * `running` state, so its worker's heartbeat learns it lost the task and stops the
 * process, and its late completion is fenced out.
 */
export async function cancelTasks(trx: Kysely<Database>, target: TaskTarget, now: number): Promise<number> {
  const ids = await targetIds(trx, target, cancellableStates);
  if (ids.length === 0) return 0;
  await forChunks(ids, async (chunk) => {
    await trx
      .updateTable('attempts')
      .set({ state: 'cancelled', finished_at: now, error: 'cancelled' })
      .where('task_id', 'in', chunk)
      .where('state', '=', 'running')
      .execute();
    await trx.updateTable('tasks').set({ state: 'cancelled', finished_at: now }).where('id', 'in', chunk).execute();
  });
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
  await forChunks(ids, (chunk) =>
    trx
      .updateTable('tasks')
      .set({ state: 'waiting', attempts: 0, error: null, finished_at: null, not_before: 0, lease_token: null, worker: null, pending: 0 })
      .where('id', 'in', chunk)
      .execute(),
  );
  // recount what each still waits for: upstream tasks neither succeeded nor cached
  const pending = new Map<number, number[]>();
  await forChunks(ids, async (chunk) => {
    const rows = await trx
      .selectFrom('task_deps as d')
      .innerJoin('tasks as u', 'u.id', 'd.depends_on')
      .select(['d.task_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('d.task_id', 'in', chunk)
      .where('u.state', 'not in', ['succeeded', 'cached'])
      .groupBy('d.task_id')
      .execute();
    for (const row of rows) pending.set(Number(row.n), [...(pending.get(Number(row.n)) ?? []), Number(row.task_id)]);
  });
  for (const [count, taskIds] of pending) {
    await forChunks(taskIds, (chunk) => trx.updateTable('tasks').set({ pending: count }).where('id', 'in', chunk).execute());
  }
  await forChunks(ids, (chunk) =>
    trx.updateTable('tasks').set({ state: 'queued', queued_at: now }).where('id', 'in', chunk).where('pending', '=', 0).execute(),
  );
  const jobs = new Set<number>();
  await forChunks(ids, async (chunk) => {
    const rows = await trx.selectFrom('tasks').select('job_id').distinct().where('id', 'in', chunk).execute();
    for (const row of rows) jobs.add(Number(row.job_id));
  });
  await trx.updateTable('jobs').set({ state: 'running', finished_at: null }).where('id', 'in', [...jobs]).execute();
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
