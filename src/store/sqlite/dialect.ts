import type BetterSqlite3 from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';
import { claim } from './claim.js';
import { complete } from './complete.js';
import { fail } from './fail.js';
import { insertRows } from './insert-rows.js';
import { WriteBatch } from './write-batch.js';

/**
 * SQLite: one writer at a time. `BEGIN IMMEDIATE` takes the write lock at once, so a
 * transaction that reads then writes never fails half-way on a lock upgrade; other
 * processes wait up to busy_timeout. Migrations need no lock beyond that.
 *
 * The hot transitions (claim, completion, failure) are synchronous statements on the raw
 * connection, committed together once per turn of the event loop (write-batch.ts); a claim
 * fits its candidates into the worker's room between reading and claiming them, since it
 * holds the only write lock throughout.
 */
/**
 * A deferrable completion (the worker could not start its dependents yet) waits at most this
 * long for the commit it shares with others (write-batch.ts); the worker's next claim, which
 * is urgent, takes it along sooner.
 */
const COMPLETION_COMMIT_INTERVAL_MS = 50;

export function sqliteDialect(db: Kysely<Database>, database: BetterSqlite3.Database): Dialect {
  const batch = new WriteBatch(db, database, COMPLETION_COMMIT_INTERVAL_MS);
  return {
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
    // on the connection the caller's transaction holds (as the write batch does)
    insertRows: (table, rows) => insertRows(database, table, rows),
    taskStatements: {
      claim: (_db, request, grant, now) => batch.run((raw) => claim(raw, request, grant, now), true),
      complete: (_db, completion, now, deferrable) => batch.run((raw) => complete(raw, completion, now), !deferrable),
      fail: (_db, failure, now) => batch.run((raw) => fail(raw, failure, now), true),
    },
  };
}
