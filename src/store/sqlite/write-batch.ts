/**
 * Group commit for the embedded task database. A commit is the dearest part of a write on
 * SQLite (it writes every page the transaction changed to the WAL: a claim or a success
 * touches the task row and the pages of every index on `state`), and a worker's writes come
 * in bursts — a task's success and the claim of the next one follow each other within
 * microseconds, and neighbouring tasks share those pages. So the hot writes (claim,
 * completion, failure: claim.ts, complete.ts, fail.ts) are synchronous functions over
 * better-sqlite3, queued here and run together in one transaction. An urgent write (a claim:
 * a worker waits for its tasks) commits at the next turn of the event loop; the others (a
 * completion whose dependents the worker could not start yet anyway) no sooner than
 * `intervalMs` after the previous commit, or with the next urgent one. Under a stream of short
 * tasks a commit so carries several tasks' claims and completions (ten state changes of
 * neighbouring tasks write as many pages as one).
 *
 * A write that throws is rolled back alone, and its caller gets the error; the others commit:
 * the writes run together first, and only when one throws again each in a SAVEPOINT of its
 * own (runTogether, runApart). A caller's promise settles only after the COMMIT,
 * so nothing acts on a write the database does not yet hold. The batch runs while holding
 * Kysely's connection (its mutex), so it never interleaves with a transaction Kysely has open
 * on the same connection (the cold writes: submissions, heartbeats, control).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** A write of the batch: synchronous statements on the raw connection. */
export type SyncWrite<T> = (database: BetterSqlite3.Database) => T;

interface Queued {
  write: SyncWrite<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class WriteBatch {
  private queued: Queued[] = [];
  /** The next flush: soon (an urgent write is queued) or at the end of the interval. */
  private scheduled: { urgent: boolean; timer: NodeJS.Timeout | NodeJS.Immediate } | null = null;
  private lastCommit = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly database: BetterSqlite3.Database,
    private readonly intervalMs: number,
  ) {}

  /** Runs `write` in the next batch; settles once that batch has committed. */
  run<T>(write: SyncWrite<T>, urgent: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ write, resolve: resolve as (value: unknown) => void, reject });
      this.schedule(urgent);
    });
  }

  private schedule(urgent: boolean): void {
    const scheduled = this.scheduled;
    if (scheduled && (scheduled.urgent || !urgent)) return;
    // after this turn's I/O callbacks and their promise chains: the writes they queue share
    // the commit
    const wait = urgent ? 0 : this.lastCommit + this.intervalMs - performance.now();
    if (scheduled) clearTimeout(scheduled.timer as NodeJS.Timeout);
    const flush = () => void this.flush();
    this.scheduled = { urgent, timer: wait <= 0 ? setImmediate(flush) : setTimeout(flush, wait) };
  }

  private async flush(): Promise<void> {
    try {
      await this.db.connection().execute(async () => {
        // writes queued while waiting for the connection join this batch
        this.scheduled = null;
        const batch = this.queued;
        this.queued = [];
        this.commit(batch);
        this.lastCommit = performance.now();
      });
    } catch (error) {
      // the connection could not be had (the database is closing): nothing ran
      this.scheduled = null;
      const batch = this.queued;
      this.queued = [];
      for (const entry of batch) entry.reject(error);
    }
  }

  private commit(batch: Queued[]): void {
    // a flush that an urgent write rescheduled after the interval's timer had fired finds
    // its writes taken by the earlier one
    if (batch.length === 0) return;
    const database = this.database;
    let outcomes: Outcome[];
    try {
      database.exec('BEGIN IMMEDIATE');
    } catch (error) {
      for (const entry of batch) entry.reject(error);
      return;
    }
    try {
      outcomes = runTogether(database, batch) ?? runApart(database, batch);
      database.exec('COMMIT');
    } catch (error) {
      // the commit itself failed (disk full, I/O error): none of the batch is kept
      if (database.inTransaction) database.exec('ROLLBACK');
      for (const entry of batch) entry.reject(error);
      return;
    }
    batch.forEach((entry, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) entry.resolve(outcome.value);
      else entry.reject(outcome.error);
    });
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Runs the writes one after another in the open transaction, with no savepoints: the usual
 * case, where none throws. A savepoint costs two statements and a copy of every page the
 * write changes (the sub-journal): 2.4% of the orrery process's main thread on a fan-out of
 * `true` (bench/cpu-split.mjs).
 * If one throws, the whole transaction is undone and begun again, and null returned: the
 * caller runs them apart. A write's effects are all in the database, so running it again
 * after the rollback loses nothing and doubles nothing.
 */
function runTogether(database: BetterSqlite3.Database, batch: Queued[]): Outcome[] | null {
  const outcomes: Outcome[] = [];
  try {
    for (const entry of batch) outcomes.push({ ok: true, value: entry.write(database) });
    return outcomes;
  } catch {
    database.exec('ROLLBACK');
    database.exec('BEGIN IMMEDIATE');
    return null;
  }
}

/** Runs each write in a savepoint of its own: one that throws is rolled back alone. */
function runApart(database: BetterSqlite3.Database, batch: Queued[]): Outcome[] {
  const outcomes: Outcome[] = [];
  for (const entry of batch) {
    database.exec('SAVEPOINT orrery_write');
    try {
      outcomes.push({ ok: true, value: entry.write(database) });
      database.exec('RELEASE orrery_write');
    } catch (error) {
      database.exec('ROLLBACK TO orrery_write');
      database.exec('RELEASE orrery_write');
      outcomes.push({ ok: false, error });
    }
  }
  return outcomes;
}
