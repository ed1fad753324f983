import { sql } from 'kysely';
import { type Dialect, retryTransient } from '../dialect.js';

/**
 * MySQL 8 and MariaDB ≥ 10.6: InnoDB row locks; claimers lock candidate rows with
 * FOR UPDATE SKIP LOCKED. A transaction chosen as a deadlock victim (1213) or timed out
 * waiting for a lock (1205) is run again. Tables are utf8mb4 with a binary collation so
 * that names and paths compare exactly, as they do on the other databases.
 */
export const mysqlDialect: Dialect = {
  name: 'mysql',
  supportsSkipLocked: true,
  // MariaDB has INSERT … RETURNING, MySQL 8 has not
  supportsInsertReturning: false,
  withMigrationLock: (db, fn) =>
    db.connection().execute(async (conn) => {
      await sql`SELECT GET_LOCK('orrery_migrations', 300)`.execute(conn);
      try {
        return await fn();
      } finally {
        await sql`SELECT RELEASE_LOCK('orrery_migrations')`.execute(conn);
      }
    }),
  writeTransaction: (db, fn) => retryTransient(() => db.transaction().execute(fn), isTransient),
  insertId: async (query) => Number((await query.executeTakeFirstOrThrow()).insertId),
  // the values themselves again: MySQL deprecates VALUES(col), and MariaDB lacks the row alias that replaces it
  upsert: (query, _key, set) => query.onDuplicateKeyUpdate(set as never),
  idColumn: (table) => table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()),
  notifyQueued: async () => {},
  tableOptions: (table) => table.modifyEnd(sql`CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`),
};

function isTransient(error: unknown): boolean {
  const { errno, code } = error as { errno?: number; code?: string };
  return errno === 1213 || errno === 1205 || code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}
