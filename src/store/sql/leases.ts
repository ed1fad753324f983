/**
 * Leases: heartbeats renew them; tasks whose worker is gone (or whose lease expired)
 * go back to the queue with their attempt recorded as lost. A lost attempt is not a
 * failure of the science code and does not count against retries.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema.js';
import type { LostAttempt } from '../store.js';

export async function renewLeases(
  trx: Kysely<Database>,
  worker: string,
  held: Array<{ taskId: number; leaseToken: string }>,
  leaseMs: number,
  now: number,
): Promise<number[]> {
  if (held.length === 0) return [];
  // renew exactly the leases the worker holds: same task, same token, still running
  for (const group of groupByToken(held)) {
    await trx
      .updateTable('tasks')
      .set({ lease_expires_at: now + leaseMs })
      .where('id', 'in', group.ids)
      .where('lease_token', '=', group.token)
      .where('worker', '=', worker)
      .where('state', '=', 'running')
      .execute();
  }
  const rows = await trx
    .selectFrom('tasks')
    .select(['id', 'state', 'lease_token'])
    .where(
      'id',
      'in',
      held.map((h) => h.taskId),
    )
    .execute();
  const current = new Map(rows.map((r) => [Number(r.id), r]));
  return held
    .filter((h) => {
      const row = current.get(h.taskId);
      return !row || row.state !== 'running' || row.lease_token !== h.leaseToken;
    })
    .map((h) => h.taskId);
}

function groupByToken(held: Array<{ taskId: number; leaseToken: string }>): Array<{ token: string; ids: number[] }> {
  const groups = new Map<string, number[]>();
  for (const h of held) groups.set(h.leaseToken, [...(groups.get(h.leaseToken) ?? []), h.taskId]);
  return [...groups].map(([token, ids]) => ({ token, ids }));
}

export async function requeueLost(
  trx: Kysely<Database>,
  where: { worker?: string; expiredBefore?: number; taskId?: number; leaseToken?: string },
  reason: string,
  now: number,
): Promise<LostAttempt[]> {
  // a literal: on SQLite only that reaches the index of running tasks (migration 0005)
  let query = trx.selectFrom('tasks').select(['id', 'lease_token']).where('state', '=', sql.lit('running'));
  if (where.worker !== undefined) query = query.where('worker', '=', where.worker);
  if (where.expiredBefore !== undefined) query = query.where('lease_expires_at', '<', where.expiredBefore);
  if (where.taskId !== undefined) query = query.where('id', '=', where.taskId);
  if (where.leaseToken !== undefined) query = query.where('lease_token', '=', where.leaseToken);
  const tasks = await query.execute();

  const lost: LostAttempt[] = [];
  for (const task of tasks) {
    await trx
      .updateTable('tasks')
      .set({ state: 'queued', lease_token: null, lease_expires_at: null, worker: null, not_before: 0, queued_at: now })
      .where('id', '=', task.id)
      .where('lease_token', '=', task.lease_token)
      .execute();
    const attempt = await trx
      .selectFrom('attempts')
      .select(['id', 'pid', 'pid_start', 'host', 'scratch'])
      .where('task_id', '=', task.id)
      .where('lease_token', '=', task.lease_token!)
      .where('state', '=', 'running')
      .executeTakeFirst();
    if (attempt) {
      await trx
        .updateTable('attempts')
        .set({ state: 'lost', error: reason, finished_at: now })
        .where('id', '=', attempt.id)
        .execute();
    }
    lost.push({
      taskId: Number(task.id),
      attemptId: attempt ? Number(attempt.id) : null,
      pid: attempt?.pid ?? null,
      pidStart: attempt?.pid_start === undefined || attempt.pid_start === null ? null : Number(attempt.pid_start),
      host: attempt?.host ?? null,
      scratch: attempt?.scratch ?? null,
    });
  }
  return lost;
}
