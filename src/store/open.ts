/** Opens the task database named by a URL or path and brings its schema up to date. */
import { InvalidInputError } from '../core/errors.js';
import { migrate } from './migrate.js';
import { SqlStore } from './sql-store.js';
import { sqliteDialect } from './sqlite/dialect.js';
import { openSqlite } from './sqlite/open.js';
import type { Store } from './store.js';

/** `sqlite:path`, `sqlite://path` or a plain file path. */
export async function openStore(url: string): Promise<Store> {
  if (/^(postgres|postgresql|mysql|mariadb):/.test(url)) {
    throw new InvalidInputError('', '--db', `${redact(url)}: only SQLite task databases are supported by this version (give a file path)`);
  }
  const file = url.replace(/^sqlite:(\/\/)?/, '');
  const db = openSqlite(file);
  await migrate(db, sqliteDialect, file);
  return new SqlStore(db, sqliteDialect);
}

/** A URL fit to print: the password replaced. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
