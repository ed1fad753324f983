import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * What differs between the task databases, as capabilities rather than `if (pg)` chains.
 * Each backend folder (sqlite/, later postgres/ and mysql/) provides one.
 */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres' | 'mysql';
  /** Candidate rows can be locked with FOR UPDATE SKIP LOCKED so claimers never wait on each other. */
  readonly supportsSkipLocked: boolean;
  /** Runs fn while holding a lock that only one migrating process can hold. */
  withMigrationLock<T>(db: Kysely<Database>, fn: () => Promise<T>): Promise<T>;
  /**
   * Runs fn in a transaction that holds the write lock from its first statement, so a
   * read-then-write inside it (claiming, completing) cannot interleave with another writer.
   */
  writeTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
}
