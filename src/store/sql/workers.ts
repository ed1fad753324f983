/**
 * Workers of distributed mode report themselves here, and `orrery drain` / `resume`
 * pause and resume claiming per pool. A worker's liveness is its lease heartbeats; this
 * table is for people (`orrery workers`) and for the reaper's account of who was lost.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema.js';
import type { WorkerInfo, WorkerRecord } from '../store.js';

export async function registerWorker(trx: Kysely<Database>, worker: WorkerInfo, now: number): Promise<void> {
  await trx.deleteFrom('workers').where('id', '=', worker.id).execute();
  await trx
    .insertInto('workers')
    .values({
      id: worker.id,
      host: worker.host,
      pid: worker.pid,
      pool: worker.pool,
      types: worker.types === null ? null : JSON.stringify(worker.types),
      concurrency: worker.concurrency,
      state: 'active',
      started_at: now,
      last_heartbeat: now,
      stopped_at: null,
    })
    .execute();
}

export async function touchWorker(trx: Kysely<Database>, id: string, state: 'active' | 'draining', now: number): Promise<void> {
  await trx.updateTable('workers').set({ last_heartbeat: now, state }).where('id', '=', id).execute();
}

export async function stopWorker(trx: Kysely<Database>, id: string, state: 'stopped' | 'lost', now: number): Promise<void> {
  await trx.updateTable('workers').set({ state, stopped_at: now }).where('id', '=', id).execute();
}

/** Workers silent since `before` are marked lost (their tasks' leases expire on their own). */
export async function markSilentWorkersLost(trx: Kysely<Database>, before: number, now: number): Promise<void> {
  await trx
    .updateTable('workers')
    .set({ state: 'lost', stopped_at: now })
    .where('state', 'in', ['active', 'draining'])
    .where('last_heartbeat', '<', before)
    .execute();
}

export async function listWorkers(db: Kysely<Database>): Promise<WorkerRecord[]> {
  const workers = await db.selectFrom('workers').selectAll().orderBy('started_at').execute();
  const running = await db
    .selectFrom('tasks')
    .select(['id', 'name', 'job_id', 'worker'])
    // a literal: on SQLite only that reaches the index of running tasks (migration 0005)
    .where('state', '=', sql.lit('running'))
    .where(
      'worker',
      'in',
      workers.map((w) => w.id).concat(['']),
    )
    .execute();
  return workers.map((w) => ({
    id: w.id,
    host: w.host,
    pid: Number(w.pid),
    pool: w.pool,
    types: w.types === null ? null : (JSON.parse(w.types) as string[]),
    concurrency: Number(w.concurrency),
    state: w.state as WorkerRecord['state'],
    startedAt: Number(w.started_at),
    lastHeartbeat: Number(w.last_heartbeat),
    stoppedAt: w.stopped_at === null ? null : Number(w.stopped_at),
    tasks: running.filter((t) => t.worker === w.id).map((t) => ({ id: Number(t.id), name: t.name, jobId: Number(t.job_id) })),
  }));
}

export async function setPoolPaused(trx: Kysely<Database>, pool: string, paused: boolean, now: number): Promise<void> {
  await trx.deleteFrom('pool_controls').where('pool', '=', pool).execute();
  await trx.insertInto('pool_controls').values({ pool, paused: paused ? 1 : 0, updated_at: now }).execute();
}

export async function isPoolPaused(db: Kysely<Database>, pool: string | null): Promise<boolean> {
  const rows = await db
    .selectFrom('pool_controls')
    .select('pool')
    .where('paused', '=', 1)
    .where('pool', 'in', pool === null ? ['*'] : [pool, '*'])
    .execute();
  return rows.length > 0;
}
