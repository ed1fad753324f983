import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/schema.js';
import { WriteBatch } from '../../src/store/sqlite/write-batch.js';

/** The embedded database's group commit: writes of one turn share a commit; one that throws is rolled back alone. */
describe('SQLite write batch', () => {
  let dir: string;
  let database: BetterSqlite3.Database;
  let db: Kysely<Database>;
  /** Another connection to the same file: it sees only what has been committed. */
  let observer: BetterSqlite3.Database;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-batch-'));
    const file = path.join(dir, 'db.sqlite');
    database = new BetterSqlite3(file);
    database.pragma('journal_mode = WAL');
    database.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
    observer = new BetterSqlite3(file);
  });

  afterEach(async () => {
    observer.close();
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const insert = (k: string, v = 1) => (raw: BetterSqlite3.Database) => raw.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run(k, v).changes;
  const committed = () => (observer.prepare('SELECT k FROM t ORDER BY k').all() as Array<{ k: string }>).map((r) => r.k);

  it('settles each write only once it is committed, together with the writes queued beside it', async () => {
    const batch = new WriteBatch(db, database, 0);
    const seenWhenFirstSettled: string[][] = [];
    const first = batch.run(insert('a'), true).then(() => seenWhenFirstSettled.push(committed()));
    const second = batch.run(insert('b'), false);
    // nothing is committed before the batch runs
    expect(committed()).toEqual([]);
    await Promise.all([first, second]);
    expect(seenWhenFirstSettled).toEqual([['a', 'b']]);
  });

  it('rolls back a write that throws, alone: its caller gets the error and the others commit', async () => {
    const batch = new WriteBatch(db, database, 0);
    const failing = (raw: BetterSqlite3.Database) => {
      raw.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run('half-done', 1);
      throw new Error('the write found something wrong');
    };
    const results = await Promise.allSettled([batch.run(insert('a'), true), batch.run(failing, true), batch.run(insert('c'), true)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('the write found something wrong');
    expect(committed()).toEqual(['a', 'c']);
    // a constraint violation in one write does not undo the others either
    const again = await Promise.allSettled([batch.run(insert('a'), false), batch.run(insert('d'), false)]);
    expect(again.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(committed()).toEqual(['a', 'c', 'd']);
  });

  it('undoes the whole batch before running its writes apart, so a write run twice counts once', async () => {
    const batch = new WriteBatch(db, database, 0);
    database.prepare("INSERT INTO t (k, v) VALUES ('counter', 0)").run();
    const bump = (raw: BetterSqlite3.Database) => {
      raw.prepare("UPDATE t SET v = v + 1 WHERE k = 'counter'").run();
      return (raw.prepare("SELECT v FROM t WHERE k = 'counter'").get() as { v: number }).v;
    };
    const failing = () => {
      throw new Error('no');
    };
    // together, the bump runs first and the failing write undoes it; apart, it runs again
    const results = await Promise.allSettled([batch.run(bump, true), batch.run(failing, true), batch.run(bump, true)]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected'))).toEqual([1, 'rejected', 2]);
    expect(observer.prepare("SELECT v FROM t WHERE k = 'counter'").get()).toEqual({ v: 2 });
  });

  it('holds a completion back for the interval after the last commit, unless an urgent write comes', async () => {
    const batch = new WriteBatch(db, database, 400);
    await batch.run(insert('claim-1'), true);
    const lazyStart = performance.now();
    await batch.run(insert('completion-1'), false);
    // the interval runs from the commit before it
    expect(performance.now() - lazyStart).toBeGreaterThan(300);

    const lazy = batch.run(insert('completion-2'), false);
    await new Promise((r) => setTimeout(r, 20));
    expect(committed()).not.toContain('completion-2');
    // an urgent write (a claim) takes the waiting completion along at once
    const urgentStart = performance.now();
    await Promise.all([batch.run(insert('claim-2'), true), lazy]);
    expect(performance.now() - urgentStart).toBeLessThan(300);
    expect(committed()).toEqual(['claim-1', 'claim-2', 'completion-1', 'completion-2']);
  });

  it('never runs inside a transaction Kysely holds open on the same connection', async () => {
    const batch = new WriteBatch(db, database, 0);
    let finishTransaction!: () => void;
    const transaction = db.connection().execute(async (conn) => {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      await sql`INSERT INTO t (k, v) VALUES ('in-transaction', 1)`.execute(conn);
      await new Promise<void>((resolve) => (finishTransaction = resolve));
      await sql`ROLLBACK`.execute(conn);
    });
    await new Promise((r) => setTimeout(r, 20));
    const write = batch.run(insert('batched'), true);
    await new Promise((r) => setTimeout(r, 50));
    // the batch waits for the connection: it neither joined nor committed the open transaction
    expect(committed()).toEqual([]);
    finishTransaction();
    await Promise.all([transaction, write]);
    expect(committed()).toEqual(['batched']);
  });
});
