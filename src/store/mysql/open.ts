import { Kysely, MysqlDialect } from 'kysely';
import { createPool } from 'mysql2';
import type { Database } from '../schema.js';

export function openMysql(url: string, poolSize = 10): Kysely<Database> {
  const pool = createPool({ uri: url.replace(/^mariadb:/, 'mysql:'), connectionLimit: poolSize, connectTimeout: 10_000, supportBigNumbers: true });
  pool.on('connection', (connection) => {
    connection.on('error', () => {});
    // as on PostgreSQL: no gap locks, so concurrent claims and inserts rarely deadlock
    connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  });
  return new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
}
