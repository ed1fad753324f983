import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/migrate.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { fakeVersion, plan, taskType, typeHashes } from '../helpers/plan.js';

/**
 * A submission on SQLite inserts its rows with one-row prepared statements (Dialect.insertRows);
 * without that capability, with multi-row INSERTs. Both must write the same rows.
 */
describe('SQLite submission rows', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-insert-rows-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const job = plan(
    [
      { name: 'make', params: { n: 3, label: 'it\'s "quoted"', nested: { x: [1.5, null] } }, outputs: { out: 'a/made.txt' }, loop: { n: 3, n_index: 0 } },
      { name: 'use', inputs: { in: 'a/made.txt', raw: 'data/raw.csv' }, outputs: { out: 'b/used.txt', log: 'b/log.txt' } },
      { name: 'last', type: 'big', after: ['use'], source: 'tasks[2]' },
      { name: 'alone' },
    ],
    [taskType('t'), taskType('big', { cpu: 4, memory: 2 ** 30, retries: 2, pool: 'gpu' })],
  );

  async function submitted(withInsertRows: boolean) {
    const { db, dialect } = openSqlite(path.join(dir, `${withInsertRows ? 'rows' : 'multi'}.db`));
    await migrate(db, dialect, 'the test database');
    const store = new SqlStore(db, withInsertRows ? dialect : { ...dialect, insertRows: undefined }, () => 1_000);
    await store.submitJob(job, { planHash: 'h', failFast: false, sourceFile: null, externalVersions: { 'data/raw.csv': fakeVersion(7) }, typeHashes: typeHashes(job) });
    const tables = {
      tasks: await db.selectFrom('tasks').selectAll().orderBy('id').execute(),
      task_deps: await db.selectFrom('task_deps').selectAll().orderBy('task_id').orderBy('depends_on').execute(),
      products: await db.selectFrom('products').selectAll().orderBy('id').execute(),
    };
    await store.close();
    return tables;
  }

  it('writes the same tasks, dependencies and products as multi-row INSERTs', async () => {
    const fast = await submitted(true);
    const generic = await submitted(false);
    expect(fast.tasks).toHaveLength(4);
    expect(fast.task_deps).toHaveLength(2);
    expect(fast.products.map((p) => p.path).sort()).toEqual(['a/made.txt', 'b/log.txt', 'b/used.txt', 'data/raw.csv']);
    expect(fast).toEqual(generic);
    const last = fast.tasks.find((t) => t.name === 'last')!;
    expect({ state: last.state, pending: last.pending, cpu: last.cpu, pool: last.pool, max_attempts: last.max_attempts }).toEqual({
      state: 'waiting',
      pending: 1,
      cpu: 4,
      pool: 'gpu',
      max_attempts: 3,
    });
  });
});
