/** Attempt rows: opened when a worker claims a task, closed with its outcome. */
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';
import type { ClaimedAttempt, Usage } from '../store.js';

/**
 * Opens one attempt per claimed task, numbered after the task's earlier attempts (lost
 * ones included). Called in the claiming transaction, which holds the tasks' rows.
 */
export async function openAttempts(
  trx: Kysely<Database>,
  dialect: Dialect,
  taskIds: number[],
  claim: { leaseToken: string; worker: string; host: string; scratchRoot: string },
  now: number,
): Promise<ClaimedAttempt[]> {
  const previous = await trx
    .selectFrom('attempts')
    .select(['task_id', (eb) => eb.fn.max('number').as('n')])
    .where('task_id', 'in', taskIds)
    .groupBy('task_id')
    .execute();
  const numbers = new Map(previous.map((row) => [Number(row.task_id), Number(row.n ?? 0)]));
  const opened: ClaimedAttempt[] = [];
  for (const taskId of taskIds) {
    const number = (numbers.get(taskId) ?? 0) + 1;
    const scratch = path.join(claim.scratchRoot, `${taskId}-${claim.leaseToken}`);
    const id = await dialect.insertId(
      trx.insertInto('attempts').values({
        task_id: taskId,
        number,
        state: 'running',
        lease_token: claim.leaseToken,
        worker: claim.worker,
        host: claim.host,
        pid: null,
        pid_start: null,
        scratch,
        started_at: now,
      }),
    );
    opened.push({ id, number, scratch });
  }
  return opened;
}

/** Removes the attempt a claim opened when nothing ran after all (a cache hit, a control block). */
export async function dropAttempt(trx: Kysely<Database>, attemptId: number): Promise<void> {
  await trx.deleteFrom('attempts').where('id', '=', attemptId).where('state', '=', 'running').execute();
}

export async function closeAttempt(
  trx: Kysely<Database>,
  attemptId: number,
  outcome: {
    state: 'succeeded' | 'failed' | 'lost' | 'cancelled';
    exitCode: number | null;
    signal: string | null;
    usage: Usage | null;
    error: string | null;
    result: string | null;
  },
  now: number,
): Promise<void> {
  await trx
    .updateTable('attempts')
    .set({
      state: outcome.state,
      finished_at: now,
      exit_code: outcome.exitCode,
      signal: outcome.signal,
      wall_ms: outcome.usage?.wallMs ?? null,
      cpu_ms: outcome.usage?.cpuMs ?? null,
      peak_rss: outcome.usage?.peakRss ?? null,
      error: outcome.error,
      result: outcome.result,
    })
    .where('id', '=', attemptId)
    .where('state', '=', 'running')
    .execute();
}
