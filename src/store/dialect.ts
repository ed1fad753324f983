import type { CreateTableBuilder, InsertQueryBuilder, InsertResult, Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { ClaimedRow, ClaimFilter, LeaseGrant } from './sql/claim.js';
import type { Completion } from './sql/complete.js';
import type { FailureRecord } from './sql/fail.js';

/**
 * What differs between the task databases, as capabilities rather than `if (pg)` chains.
 * Each backend folder (sqlite/, postgres/, mysql/) provides one.
 */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres' | 'mysql';
  /** Candidate rows can be locked with FOR UPDATE SKIP LOCKED so claimers never wait on each other. */
  readonly supportsSkipLocked: boolean;
  /** INSERT … SELECT … RETURNING hands back the rows it added (one statement for many rows). */
  readonly supportsInsertReturning: boolean;
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
  /**
   * The INSERT, or, when a row with the same primary key `key` exists, an UPDATE of that row
   * to `set` (ON CONFLICT … DO UPDATE; ON DUPLICATE KEY UPDATE on MySQL): one statement
   * where a DELETE and an INSERT would be two.
   */
  upsert<T extends keyof Database>(
    query: InsertQueryBuilder<Database, T, InsertResult>,
    key: keyof Database[T] & string,
    set: Partial<Record<keyof Database[T] & string, unknown>>,
  ): InsertQueryBuilder<Database, T, InsertResult>;
  /** Adds an auto-generated integer primary key `id`. */
  idColumn<T extends string>(table: CreateTableBuilder<T, never>): CreateTableBuilder<T, 'id'>;
  /**
   * Tells listening workers, when the transaction commits, that tasks were queued
   * (PostgreSQL NOTIFY; a no-op where workers poll instead).
   */
  notifyQueued(trx: Kysely<Database>): Promise<void>;
  /** Table options every table gets (character set and case-sensitive collation on MySQL). */
  tableOptions<T extends string, C extends string>(table: CreateTableBuilder<T, C>): CreateTableBuilder<T, C>;
  /**
   * Called after a write that added `count` tasks (a submission, a job extended by a task),
   * where the database's plans depend on what it knows of the tables' contents: PostgreSQL
   * refreshes its statistics after a large addition. Absent where nothing needs doing.
   */
  tasksAdded?(db: Kysely<Database>, count: number): Promise<void>;
  /**
   * Inserts rows of one shape into `table` within the open transaction, where the database
   * has a faster way than multi-row INSERTs (SQLite: a prepared one-row INSERT per row).
   * Absent, a submission (sql/submit.ts) sends multi-row INSERTs.
   */
  insertRows?(table: keyof Database & string, rows: ReadonlyArray<Record<string, unknown>>): void;
  /**
   * The hot task transitions as single statements, where the database can say each of them
   * in one (PostgreSQL: data-modifying WITH clauses). A single statement is atomic without
   * BEGIN/COMMIT, so each is one round trip. Absent, SqlStore runs the transactions of ./sql.
   */
  readonly taskStatements?: TaskStatements;
}

/**
 * Claim, success, completion from the cache and failure, each one statement. They keep the
 * invariants of the generic transactions in ./sql (state re-checked, writes fenced by the
 * lease token, attempts numbered after every earlier one, dependents queued when their
 * `pending` count reaches 0, workers told only when something was queued).
 */
export interface TaskStatements {
  /**
   * Claims up to `filter.limit` of the oldest claimable tasks — those that fit in
   * `filter.room` (core/fit.ts), or every candidate without a room — and opens their
   * attempts. Retried when the database breaks a deadlock.
   */
  claim(db: Kysely<Database>, filter: ClaimFilter, grant: LeaseGrant, now: number): Promise<ClaimedRow[]>;
  /**
   * Records a success or a completion from the cache (see Completion). False when the lease
   * is no longer held. Retried when the database breaks a deadlock.
   */
  complete(db: Kysely<Database>, completion: Completion, now: number, deferrable?: boolean): Promise<boolean>;
  /**
   * Records a failed attempt, when the task is as its claim saw it (same attempt count):
   * the outcome, or null when the caller must decide in a transaction (the lease may be
   * lost, or the task changed). Retried when the database breaks a deadlock.
   */
  fail(db: Kysely<Database>, failure: FailureRecord, now: number): Promise<'retrying' | 'failed' | null>;
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
