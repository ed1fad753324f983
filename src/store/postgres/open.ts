import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../schema.js';
import { prepareHotStatements, registerPool } from './statement.js';

// bigint columns (epoch-millisecond times, counts) hold values far below 2^53: read them as numbers
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => Number(text));

export function openPostgres(url: string, poolSize = 10): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 10_000,
    // a client frozen or cut off inside a transaction must not hold its row locks for ever:
    // our transactions are a few statements with nothing slow between them
    idle_in_transaction_session_timeout: 10_000,
  });
  // a connection dropped by a database restart must not crash the process: the query in
  // flight fails (and is retried by the caller), the pool replaces the connection
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
    prepareHotStatements(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  registerPool(db, pool);
  return db;
}
