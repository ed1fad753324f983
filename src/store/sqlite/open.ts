import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Dialect } from '../dialect.js';
import { InfrastructureError } from '../../core/errors.js';
import type { Database } from '../schema.js';
import { sqliteDialect } from './dialect.js';

/**
 * Opens (creating if needed) the embedded task database.
 * WAL lets readers (`orrery status` in another terminal) work while `orrery run` writes;
 * synchronous=NORMAL keeps every committed transaction across a crash of any process
 * (a power cut may lose the last few, never corrupt the file).
 */
export function openSqlite(file: string): { db: Kysely<Database>; dialect: Dialect } {
  let database: BetterSqlite3.Database;
  try {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    database = new BetterSqlite3(file);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    // the write batch runs writes in savepoints after one of them threw (write-batch.ts), and
    // SQLite copies every page a savepoint changes into a sub-journal, a temporary file unless
    // kept in memory
    database.pragma('temp_store = MEMORY');
    database.pragma('busy_timeout = 10000');
    database.pragma('foreign_keys = OFF');
  } catch (error) {
    throw new InfrastructureError(`cannot open the task database ${file}: ${(error as Error).message}; check the path and its permissions`);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: reusingStatements(database) }) });
  return { db, dialect: sqliteDialect(db, database) };
}

/**
 * Kysely prepares every query anew; better-sqlite3 statements can be reused, and the hot
 * queries (claim, complete, heartbeat) are the same few texts thousands of times.
 */
function reusingStatements(database: BetterSqlite3.Database): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = database.prepare.bind(database);
  database.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      statement = prepare(source);
      if (cache.size < 500) cache.set(source, statement);
    }
    return statement;
  }) as typeof database.prepare;
  return database;
}
