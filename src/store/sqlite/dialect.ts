import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';

/**
 * SQLite: one writer at a time. `BEGIN IMMEDIATE` takes the write lock at once, so a
 * transaction that reads then writes never fails half-way on a lock upgrade; other
 * processes wait up to busy_timeout. Migrations need no lock beyond that.
 */
export const sqliteDialect: Dialect = {
  name: 'sqlite',
  supportsSkipLocked: false,
  // RETURNING since SQLite 3.35 (better-sqlite3 bundles a newer one)
  supportsInsertReturning: true,
  withMigrationLock: (_db, fn) => fn(),
  writeTransaction: (db, fn) =>
    db.connection().execute(async (conn) => {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`COMMIT`.execute(conn);
        return result;
      } catch (error) {
        await sql`ROLLBACK`.execute(conn);
        throw error;
      }
    }),
  insertId: async (query) => Number((await query.executeTakeFirstOrThrow()).insertId),
  upsert: (query, key, set) => query.onConflict((conflict) => conflict.column(key as never).doUpdateSet(set as never)),
  idColumn: (table) => table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()),
  notifyQueued: async () => {},
  tableOptions: (table) => table,
};

