import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { claim } from './claim.js';
import { complete } from './complete.js';
import { fail } from './fail.js';
import { NOTIFY_QUEUED, QUEUED_CHANNEL } from './notify.js';
import { retry } from './retry.js';

export { QUEUED_CHANNEL };

/** Any fixed number: the advisory lock every migrating Orrery process takes. */
const MIGRATION_LOCK = 7_310_492_001;

/**
 * PostgreSQL: READ COMMITTED transactions; claimers lock candidate rows with
 * FOR UPDATE SKIP LOCKED. A transaction aborted to break a deadlock (40P01) or by a
 * serialization failure (40001) is run again, and so is a single statement (rolled back
 * whole, like a transaction). Claim, completion and failure are single statements
 * (claim.ts, complete.ts, fail.ts); claims and completions that arrive together share one
 * (batch.ts).
 */
export const postgresDialect: Dialect = {
  name: 'postgres',
  supportsSkipLocked: true,
  supportsInsertReturning: true,
  withMigrationLock: (db, fn) =>
    db.connection().execute(async (conn) => {
      await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
      try {
        return await fn();
      } finally {
        await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
      }
    }),
  writeTransaction: (db, fn) => retry(() => db.transaction().execute(fn)),
  insertId: async (query) => Number(((await query.returning('id' as never).executeTakeFirstOrThrow()) as unknown as { id: number }).id),
  upsert: (query, key, set) => query.onConflict((conflict) => conflict.column(key as never).doUpdateSet(set as never)),
  idColumn: (table) => table.addColumn('id', 'serial', (c) => c.primaryKey()),
  notifyQueued: async (trx) => {
    await sql.raw(`SELECT ${NOTIFY_QUEUED}`).execute(trx);
  },
  tableOptions: (table) => table,
  tasksAdded: refreshStatistics,
  taskStatements: {
    // each statement they send is retried (claim.ts, complete.ts)
    claim,
    complete,
    fail: (db, failure, now) => retry(() => fail(db, failure, now)),
  },
};

/** How many tasks one write must add for the statistics to be refreshed after it. */
const MANY_TASKS = 1000;

/**
 * A claim reads the queue in id order by tasks_queue and stops at its limit, but the planner
 * takes that path only when it knows the queue is long: for a table it has no statistics of
 * (a new database) or stale ones (a large job just submitted), it reckons a task or two
 * queued, and reads and sorts every queued task at each claim instead; the completion that
 * queues dependents likewise walked every waiting task (with 3,000 of each, ~6,000 rows read
 * per task). Autovacuum would analyze the tables within a minute or so; after a large addition
 * they are analyzed at once, which also replaces the plans that connections keep for the hot
 * statements. (SKIP_LOCKED: an ANALYZE already running, by autovacuum or another submission,
 * is not waited for.)
 */
async function refreshStatistics(db: Kysely<Database>, count: number): Promise<void> {
  if (count >= MANY_TASKS) await sql`ANALYZE (SKIP_LOCKED) tasks, task_deps, products`.execute(db);
}
