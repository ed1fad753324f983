import type { CreateTableBuilder, InsertQueryBuilder, InsertResult, Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * What differs between the task databases, as capabilities rather than `if (pg)` chains.
 * Each backend folder (sqlite/, postgres/, mysql/) provides one.
 */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres' | 'mysql';
  /** Candidate rows can be locked with FOR UPDATE SKIP LOCKED so claimers never wait on each other. */
  readonly supportsSkipLocked: boolean;
  /** Runs fn while holding a lock that only one migrating process can hold. */
  withMigrationLock<T>(db: Kysely<Database>, fn: () => Promise<T>): Promise<T>;
  /**
   * Runs fn in a transaction in which a read-then-write (claiming, completing) cannot
   * interleave with another writer on the same rows; retried when the database aborts it
   * to break a deadlock.
   */
  writeTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Runs an INSERT of one row and returns the generated id. */
  insertId<T extends keyof Database>(query: InsertQueryBuilder<Database, T, InsertResult>): Promise<number>;
  /** Adds an auto-generated integer primary key `id`. */
  idColumn<T extends string>(table: CreateTableBuilder<T, never>): CreateTableBuilder<T, 'id'>;
  /**
   * Tells listening workers, when the transaction commits, that tasks were queued
   * (PostgreSQL NOTIFY; a no-op where workers poll instead).
   */
  notifyQueued(trx: Kysely<Database>): Promise<void>;
  /** Table options every table gets (character set and case-sensitive collation on MySQL). */
  tableOptions<T extends string, C extends string>(table: CreateTableBuilder<T, C>): CreateTableBuilder<T, C>;
}

/** Retries fn when it fails with an error `isTransient` recognises (deadlock, serialization). */
export async function retryTransient<T>(fn: () => Promise<T>, isTransient: (error: unknown) => boolean, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}
