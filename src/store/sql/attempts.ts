/** Attempt rows: opened when a worker starts a process, closed with its outcome. */
import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';
import type { Usage } from '../store.js';

export async function openAttempt(
  trx: Kysely<Database>,
  dialect: Dialect,
  task: { id: number; leaseToken: string; worker: string },
  where: { host: string; scratch: string },
  now: number,
): Promise<{ id: number; number: number } | undefined> {
  const held = await trx
    .selectFrom('tasks')
    .select('id')
    .where('id', '=', task.id)
    .where('lease_token', '=', task.leaseToken)
    .where('state', '=', 'running')
    .executeTakeFirst();
  if (!held) return undefined;
  const previous = await trx
    .selectFrom('attempts')
    .select((eb) => eb.fn.max('number').as('n'))
    .where('task_id', '=', task.id)
    .executeTakeFirst();
  const number = Number(previous?.n ?? 0) + 1;
  const id = await dialect.insertId(
    trx
    .insertInto('attempts')
    .values({
      task_id: task.id,
      number,
      state: 'running',
      lease_token: task.leaseToken,
      worker: task.worker,
      host: where.host,
      pid: null,
      pid_start: null,
      scratch: where.scratch,
      started_at: now,
    }),
  );
  return { id, number };
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
