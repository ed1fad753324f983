import { sql } from 'kysely';
import { type Dialect, retryTransient } from '../dialect.js';

/** The channel workers LISTEN on to hear that tasks were queued. */
export const QUEUED_CHANNEL = 'orrery_queued';

/** Any fixed number: the advisory lock every migrating Orrery process takes. */
const MIGRATION_LOCK = 7_310_492_001;

/**
 * PostgreSQL: READ COMMITTED transactions; claimers lock candidate rows with
 * FOR UPDATE SKIP LOCKED. A transaction aborted to break a deadlock (40P01) or by a
 * serialization failure (40001) is run again.
 */
export const postgresDialect: Dialect = {
  name: 'postgres',
  supportsSkipLocked: true,
  withMigrationLock: (db, fn) =>
    db.connection().execute(async (conn) => {
      await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
      try {
        return await fn();
      } finally {
        await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
      }
    }),
  writeTransaction: (db, fn) => retryTransient(() => db.transaction().execute(fn), isTransient),
  insertId: async (query) => Number(((await query.returning('id' as never).executeTakeFirstOrThrow()) as unknown as { id: number }).id),
  idColumn: (table) => table.addColumn('id', 'serial', (c) => c.primaryKey()),
  notifyQueued: async (trx) => {
    await sql`SELECT pg_notify(${QUEUED_CHANNEL}, '')`.execute(trx);
  },
  tableOptions: (table) => table,
};

function isTransient(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '40P01' || code === '40001';
}
