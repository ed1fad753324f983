import { sql } from 'kysely';
import { type Dialect, retryTransient } from '../dialect.js';
import { claim, claimLocked } from './claim.js';
import { complete } from './complete.js';
import { fail } from './fail.js';
import { NOTIFY_QUEUED, QUEUED_CHANNEL } from './notify.js';

export { QUEUED_CHANNEL };

/** Any fixed number: the advisory lock every migrating Orrery process takes. */
const MIGRATION_LOCK = 7_310_492_001;

/**
 * PostgreSQL: READ COMMITTED transactions; claimers lock candidate rows with
 * FOR UPDATE SKIP LOCKED. A transaction aborted to break a deadlock (40P01) or by a
 * serialization failure (40001) is run again, and so is a single statement (rolled back
 * whole, like a transaction). Claim, completion and failure are single statements
 * (claim.ts, complete.ts, fail.ts).
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
  taskStatements: {
    claim: (db, filter, grant, now) => retry(() => claim(db, filter, grant, now)),
    // inside the caller's transaction, which is retried as a whole
    claimLocked,
    complete: (db, completion, now) => retry(() => complete(db, completion, now)),
    fail: (db, failure, now) => retry(() => fail(db, failure, now)),
  },
};

function retry<T>(fn: () => Promise<T>): Promise<T> {
  return retryTransient(fn, isTransient);
}

function isTransient(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '40P01' || code === '40001';
}
