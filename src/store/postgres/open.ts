import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../schema.js';

// bigint columns (epoch-millisecond times, counts) hold values far below 2^53: read them as numbers
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => Number(text));

export function openPostgres(url: string, poolSize = 10): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 });
  // an idle connection dropped by a database restart must not crash the process; the pool replaces it
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
