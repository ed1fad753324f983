import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Fewer index entries per task on PostgreSQL and MySQL (SQLite's went in migration 5). A
 * claim and a completion each update the task's row, and on PostgreSQL such an update (the
 * state changes, and `state` is in most of the indexes) writes one entry into every index of
 * `tasks`: 20 per task with its ten indexes before this migration, 12 with the six after it.
 *
 * Both: tasks_by_job_state (job_id, state) goes; tasks_queue_by_job (job_id, state, id)
 * answers every question it answered, from the index alone.
 *
 * On PostgreSQL, where the cost of an entry was measured (EXPLAIN, WAL, CPU per task):
 * - tasks_claimable (state, not_before, id) and tasks_claimable_by_pool (state, pool,
 *   not_before, id) go. Claims walk the queue in id order by tasks_queue (state, id) and never
 *   used them; they answered only the earliest backoff of the queued tasks (`nextClaimable`,
 *   asked when a worker found nothing to claim), which now reads the queued tasks by
 *   tasks_queue, after a claim that read them anyway.
 * - tasks_by_job_group (job_id, source, type, state) goes: the dashboard's groups by loop and
 *   type also ask for each group's first task (min(id)), which it does not hold, so they read
 *   the job's rows anyway (~30 ms at 100,000 tasks, with or without it).
 * MySQL's claims are transactions whose plans this was not measured on: it keeps those.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect.name === 'mysql') await db.schema.dropIndex('tasks_by_job_state').on('tasks').execute();
  if (dialect.name !== 'postgres') return;
  for (const name of ['tasks_by_job_state', 'tasks_claimable', 'tasks_claimable_by_pool', 'tasks_by_job_group']) await db.schema.dropIndex(name).execute();
}
