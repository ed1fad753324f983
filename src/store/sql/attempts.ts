/** Attempt rows: opened when a worker claims a task, closed with its outcome. */
import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';
import type { ClaimedAttempt, Usage } from '../store.js';

/**
 * Opens one attempt per claimed task, numbered after the task's earlier attempts (lost
 * ones included). Called in the claiming transaction, which holds the tasks' rows.
 * Returns the attempts by task id.
 */
export async function openAttempts(
  trx: Kysely<Database>,
  dialect: Dialect,
  taskIds: number[],
  claim: { leaseToken: string; worker: string; host: string; scratchRoot: string },
  now: number,
): Promise<Map<number, ClaimedAttempt>> {
  const opened = new Map<number, ClaimedAttempt>();
  if (dialect.supportsInsertReturning) {
    // one INSERT … SELECT for every task, numbering each from its own earlier attempts
    const rows = await trx
      .insertInto('attempts')
      .columns(['task_id', 'number', 'state', 'lease_token', 'worker', 'host', 'pid', 'pid_start', 'scratch', 'started_at'])
      .expression((eb) =>
        eb
          .selectFrom('tasks as t')
          .select([
            't.id',
            sql<number>`coalesce((SELECT max(a.number) FROM attempts a WHERE a.task_id = t.id), 0) + 1`.as('number'),
            eb.val('running').as('state'),
            eb.val(claim.leaseToken).as('lease_token'),
            eb.val(claim.worker).as('worker'),
            eb.val(claim.host).as('host'),
            sql<null>`NULL`.as('pid'),
            sql<null>`NULL`.as('pid_start'),
            sql<string>`${scratchPrefix(claim.scratchRoot)} || t.id || ${`-${claim.leaseToken}`}`.as('scratch'),
            eb.val(now).as('started_at'),
          ])
          .where('t.id', 'in', taskIds),
      )
      .returning(['id', 'task_id', 'number', 'scratch'])
      .execute();
    for (const row of rows) opened.set(Number(row.task_id), { id: Number(row.id), number: Number(row.number), scratch: row.scratch! });
    return opened;
  }
  const previous = await trx
    .selectFrom('attempts')
    .select(['task_id', (eb) => eb.fn.max('number').as('n')])
    .where('task_id', 'in', taskIds)
    .groupBy('task_id')
    .execute();
  const numbers = new Map(previous.map((row) => [Number(row.task_id), Number(row.n ?? 0)]));
  for (const taskId of taskIds) {
    const number = (numbers.get(taskId) ?? 0) + 1;
    const scratch = scratchPath(claim.scratchRoot, taskId, claim.leaseToken);
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
    opened.set(taskId, { id, number, scratch });
  }
  return opened;
}

/** An attempt's scratch directory: under the worker's scratch root, named by task id and lease token. */
export function scratchPath(scratchRoot: string, taskId: number, leaseToken: string): string {
  return path.join(scratchRoot, `${taskId}-${leaseToken}`);
}

/**
 * What scratchPath puts before the task id, for SQL that names many scratch directories at
 * once: path.join of the root with one plain segment is the normalised root, a separator
 * (none when the root normalises to nothing), then the segment.
 */
export function scratchPrefix(scratchRoot: string): string {
  return path.join(scratchRoot, '_').slice(0, -1);
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
