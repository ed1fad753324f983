/** Opens the task database named by a URL or path and brings its schema up to date. */
import { type Kysely, sql } from 'kysely';
import { InfrastructureError } from '../core/errors.js';
import type { Dialect } from './dialect.js';
import { migrate } from './migrate.js';
import { mysqlDialect } from './mysql/dialect.js';
import { postgresDialect } from './postgres/dialect.js';
import type { Database } from './schema.js';
import { SqlStore } from './sql-store.js';
import { openSqlite } from './sqlite/open.js';
import type { Store } from './store.js';

/**
 * `postgres://user:pass@host/db`, `mysql://…` or `mariadb://…`, `sqlite:path`, or a plain
 * file path (SQLite). An unreachable database is an InfrastructureError naming the URL
 * without its password.
 */
export async function openStore(url: string): Promise<Store> {
  const { db, dialect, where } = await connect(url);
  try {
    await sql`SELECT 1`.execute(db);
    await migrate(db, dialect, where);
  } catch (error) {
    await db.destroy().catch(() => {});
    if (error instanceof InfrastructureError) throw error;
    throw new InfrastructureError(
      `cannot use the task database ${where}: ${(error as Error).message}; check that the server is running and that the URL, user and password are right`,
    );
  }
  return new SqlStore(db, dialect);
}

/** The drivers of the server databases are loaded only when used: `orrery run` starts faster. */
async function connect(url: string): Promise<{ db: Kysely<Database>; dialect: Dialect; where: string }> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { openPostgres } = await import('./postgres/open.js');
    return { db: openPostgres(url), dialect: postgresDialect, where: redact(url) };
  }
  if (/^(mysql|mariadb):\/\//.test(url)) {
    const { openMysql } = await import('./mysql/open.js');
    return { db: openMysql(url), dialect: mysqlDialect, where: redact(url) };
  }
  const file = url.replace(/^sqlite:(\/\/)?/, '');
  return { ...openSqlite(file), where: file };
}

/** A URL fit to print: the password replaced. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
