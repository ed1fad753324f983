import type { Kysely } from 'kysely';

/**
 * Claiming walks queued tasks in id order and stops after a few rows: these indexes let it
 * do so without sorting every queued task (a job of 10,000 queued tasks made each claim
 * sort all of them).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('tasks_queue_by_job').on('tasks').columns(['job_id', 'state', 'id']).execute();
  await db.schema.createIndex('tasks_queue').on('tasks').columns(['state', 'id']).execute();
}
