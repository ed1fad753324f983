import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * On SQLite, the indexes through which workers find tasks hold only the tasks they look for:
 * queued ones (claims) and running ones (leases). Every index on `state` changes twice per
 * task (claimed, done), and a change is a B-tree delete and insert plus, at commit, the pages
 * they touched: with seven such indexes they were most of what claiming and completing a task
 * cost. A task enters a partial index when it becomes queued or running and leaves it once.
 *
 * - queued, by job (`orrery run` claims from its job), by pool (`orrery worker`), and by id;
 * - running, by lease expiry (the reaper; a worker's own tasks are among the few running);
 * - (job, state) went: (job, type, state) and the dashboard's indexes answer per-state counts.
 *
 * A query reaches a partial index only when its WHERE names the same state as a literal (a
 * bound parameter does not prove the condition): the queries on queued and running tasks
 * write it so. PostgreSQL and MySQL keep their indexes (MySQL has no partial indexes).
 */
export async function up(db: Kysely<unknown>, dialect?: Dialect): Promise<void> {
  if (dialect?.name !== 'sqlite') return;
  for (const name of ['tasks_claimable', 'tasks_by_job_state', 'tasks_claimable_by_pool', 'tasks_queue_by_job', 'tasks_queue']) {
    await db.schema.dropIndex(name).execute();
  }
  await sql`CREATE INDEX tasks_queued_by_job ON tasks (job_id, id) WHERE state = 'queued'`.execute(db);
  await sql`CREATE INDEX tasks_queued_by_pool ON tasks (pool, id) WHERE state = 'queued'`.execute(db);
  await sql`CREATE INDEX tasks_queued ON tasks (id) WHERE state = 'queued'`.execute(db);
  await sql`CREATE INDEX tasks_running ON tasks (lease_expires_at) WHERE state = 'running'`.execute(db);
}
