/** The Store's dashboard queries on every database the suite has: filters, groups, edges, workers. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { databaseKinds, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { plan, taskType } from '../helpers/plan.js';

describe.each(databaseKinds)('dashboard queries on %s', (kind) => {
  let database: TestDatabase;
  let store: Store;
  let jobId: number;

  beforeEach(async () => {
    database = await freshDatabase(kind);
    store = await openStore(database.url);
    const p = plan(
      [
        ...[0, 1, 2].map((i) => ({ name: `sim_${i}`, type: 'sim', loop: { x: [0.5, 1, 2][i], x_index: i, tag: i === 2 ? 'a_b%' : 'plain' }, source: 'tasks[0].tasks[0]', outputs: { o: `s${i}.txt` } })),
        ...[0, 1, 2].map((i) => ({ name: `fit_${i}`, type: 'fit', loop: { x: [0.5, 1, 2][i], x_index: i }, source: 'tasks[0].tasks[1]', inputs: { i: `s${i}.txt` } })),
        { name: 'report', type: 'fit', source: 'tasks[1]', after: ['fit_0', 'fit_1', 'fit_2'] },
      ],
      [taskType('sim'), taskType('fit')],
    );
    const job = await store.submitJob(p, { planHash: 'h', failFast: false, sourceFile: null, externalVersions: {}, typeHashes: { sim: 'a', fit: 'b' } });
    jobId = job.id;
  });
  afterEach(async () => {
    await store.close();
    await database.drop();
  });

  const names = async (filter: Parameters<Store['listTasks']>[1]) => (await store.listTasks(jobId, filter)).map((t) => t.name);

  it('filters tasks by name, loop values and group, and counts them', async () => {
    expect(await names({ name: 'fit' })).toEqual(['fit_0', 'fit_1', 'fit_2']);
    expect(await names({ name: '_' })).toEqual(['sim_0', 'sim_1', 'sim_2', 'fit_0', 'fit_1', 'fit_2']);
    expect(await names({ loop: { x: 1 } })).toEqual(['sim_1', 'fit_1']);
    expect(await names({ loop: { x: 2, x_index: 2 } })).toEqual(['sim_2', 'fit_2']);
    expect(await names({ loop: { tag: 'a_b%' } })).toEqual(['sim_2']);
    expect(await names({ loop: { x: 0.5 }, type: 'fit' })).toEqual(['fit_0']);
    expect(await names({ source: 'tasks[1]' })).toEqual(['report']);
    expect(await names({ limit: 2, offset: 5 })).toEqual(['fit_2', 'report']);
    expect(await store.countMatchingTasks(jobId, { loop: { x_index: 0 } })).toBe(2);
    expect(await store.countMatchingTasks(jobId, { state: 'queued' })).toBe(3);
    expect(await store.countMatchingTasks(jobId)).toBe(7);
  });

  it('groups tasks by loop body and type, with the edges between groups', async () => {
    const groups = await store.taskGroups(jobId);
    expect(groups.map((g) => [g.type, g.source, g.total, g.loopVariables])).toEqual([
      ['sim', 'tasks[0].tasks[0]', 3, ['x', 'tag']],
      ['fit', 'tasks[0].tasks[1]', 3, ['x']],
      ['fit', 'tasks[1]', 1, []],
    ]);
    expect(groups[0].counts.queued).toBe(3);
    expect(groups[1].counts.waiting).toBe(3);
    const edges = (await store.groupEdges(jobId)).map((e) => `${e.from.source}>${e.to.source}`).sort();
    expect(edges).toEqual(['tasks[0].tasks[0]>tasks[0].tasks[1]', 'tasks[0].tasks[1]>tasks[1]']);
  });

  it('links a task to its neighbours and reports attempts, workers, logs and products', async () => {
    const report = await store.getTask(`${jobId}/report`);
    const links = await store.linkedTasks(report.id, 2);
    expect(links.upstream.map((t) => t.name)).toEqual(['fit_0', 'fit_1']);
    expect(links.upstreamTotal).toBe(3);
    const fit0 = await store.getTask(`${jobId}/fit_0`);
    const edges = await store.edgesOf([fit0.id]);
    expect(edges.map((e) => `${e.from.name}>${e.to.name}`).sort()).toEqual(['fit_0>report', 'sim_0>fit_0']);

    const [claim] = await store.claim({ worker: 'w1', host: 'h1', scratchRoot: '/tmp/scratch', jobId, limit: 1, leaseMs: 30_000 });
    const attempt = claim.attempt;
    await store.appendLogs([0, 1, 2, 3].map((seq) => ({ attemptId: attempt.id, seq, stream: 'stdout' as const, at: 1, line: `line ${seq}` })));
    expect((await store.readLogPage(attempt.id, { tail: 2 })).map((l) => l.line)).toEqual(['line 2', 'line 3']);
    expect((await store.readLogPage(attempt.id, { afterSeq: 2 })).map((l) => l.line)).toEqual(['line 3']);
    const workers = await store.listWorkers();
    expect(workers).toEqual([expect.objectContaining({ worker: 'w1', host: 'h1', attempts: 1, failed: 0 })]);
    expect(workers[0].running.map((r) => r.taskName)).toEqual([claim.task.name]);
    expect((await store.jobAttempts(jobId, 10)).map((a) => a.taskName)).toEqual([claim.task.name]);
    const activity = await store.activity();
    expect(activity.maxAttemptId).toBe(attempt.id);
    expect(activity.jobs).toEqual([{ id: jobId, state: 'running', finishedAt: null }]);
    const totals = await store.totals();
    expect(totals.tasks.running).toBe(1);
    expect(totals.attempts.running).toBe(1);

    await store.succeed(claim, {
      cacheKey: 'k',
      outputs: { [Object.values(claim.task.outputs)[0]]: { sha256: 'a'.repeat(64), size: 3 } },
      result: { y: 1 },
      exitCode: 0,
      usage: { wallMs: 1, cpuMs: 1, peakRss: 1 },
    });
    const products = await store.productDetails(jobId);
    expect(products).toEqual([expect.objectContaining({ path: Object.values(claim.task.outputs)[0], producerTaskId: claim.task.id, attemptId: attempt.id, qcPassed: true, versions: 1 })]);
    expect(await store.productDetails(jobId, ['nothing'])).toEqual([]);
  });
});
