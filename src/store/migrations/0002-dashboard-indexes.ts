import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Indexes for the dashboard and the HTTP API at 100,000 tasks a job:
 * - tasks by (job, id): a page of a job's task list, in id order, at any offset, without
 *   sorting the job's tasks;
 * - tasks by (job, type, state): the task list filtered by type, and the counts per type
 *   and state, read from the index alone;
 * - tasks by (job, source, type, state): the job's graph aggregated by loop (the field path
 *   a task came from) and type, also from the index alone. MySQL limits an index key to
 *   3072 bytes, so there it indexes the first 191 characters of `source`.
 */
export async function up(db: Kysely<unknown>, dialect?: Dialect): Promise<void> {
  await db.schema.createIndex('tasks_by_job_id').on('tasks').columns(['job_id', 'id']).execute();
  await db.schema.createIndex('tasks_by_job_type').on('tasks').columns(['job_id', 'type', 'state']).execute();
  if (dialect?.name === 'mysql') {
    await sql`CREATE INDEX tasks_by_job_group ON tasks (job_id, source(191), type, state)`.execute(db);
  } else {
    await db.schema.createIndex('tasks_by_job_group').on('tasks').columns(['job_id', 'source', 'type', 'state']).execute();
  }
}
