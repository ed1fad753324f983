/**
 * Claiming and completing as the worker sees them, on every task database and in both forms
 * of a claim: with a room (the worker fitting tasks into its cores and memory) and without
 * one (every candidate taken).
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import type { ClaimedTask, ClaimRequest, Store } from '../../src/store/store.js';
import { databaseKinds, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { fakeVersion, plan, taskType, typeHashes } from '../helpers/plan.js';

const hashes = typeHashes;
const version = fakeVersion;
const usage = { wallMs: 1, cpuMs: 1, peakRss: 1 };
const forms = [
  ['with a room', { room: { free: { cpu: 64, memory: 2 ** 40 }, capacity: { cpu: 64, memory: 2 ** 40 } } }],
  ['without a room', {}],
] as const;

describe.each(databaseKinds)('claiming and completing on %s', (kind) => {
  let database: TestDatabase;
  let store: Store;

  beforeEach(async () => {
    database = await freshDatabase(kind);
    store = await openStore(database.url);
  });
  afterEach(async () => {
    await store.close();
    await database.drop();
  });

  async function submit(p: ReturnType<typeof plan>) {
    return store.submitJob(p, { planHash: 'h', failFast: false, sourceFile: null, externalVersions: {}, typeHashes: hashes(p) });
  }
  async function states(jobId: number) {
    return Object.fromEntries((await store.listTasks(jobId)).map((t) => [t.name, t.state]));
  }
  const succeed = (claim: ClaimedTask, outputs = {}, cacheKey = `key-${claim.task.name}`) =>
    store.succeed(claim, { cacheKey, outputs, result: { name: claim.task.name }, exitCode: 0, usage });

  describe.each(forms)('a claim %s', (_form, acceptance) => {
    const claim = (extra: Partial<ClaimRequest> = {}) =>
      store.claim({ worker: 'w1', host: 'h1', scratchRoot: '/tmp/scratch/', limit: 1, leaseMs: 30_000, ...acceptance, ...extra });

    it('opens an attempt in a scratch directory named by task id and lease token, with the upstream results and input versions', async () => {
      const job = await submit(plan([{ name: 'a', outputs: { out: 'a.txt' } }, { name: 'b', inputs: { in: 'a.txt' } }]));
      const [a] = await claim({ jobId: job.id });
      expect(a.attempt).toMatchObject({ number: 1, scratch: `/tmp/scratch/${a.task.id}-${a.leaseToken}` });
      expect(a.task).toMatchObject({ name: 'a', state: 'running', worker: 'w1' });
      expect(await succeed(a, { 'a.txt': version(5) })).toBe(true);
      const [b] = await claim({ jobId: job.id });
      expect(b.task.name).toBe('b');
      expect(b.inputs).toEqual({ in: { path: 'a.txt', ...version(5) } });
      expect(b.resultsOf).toEqual({ a: { name: 'a' } });
      expect(b.upstreamKeys).toEqual({ a: 'key-a' });
      const [attempt] = await store.listAttempts(b.task.id);
      expect(attempt).toMatchObject({ id: b.attempt.id, state: 'running', worker: 'w1', host: 'h1', scratch: b.attempt.scratch });
    });

    it('takes the oldest tasks first, and each task by one claimer only however many claim at once', async () => {
      const job = await submit(plan(Array.from({ length: 30 }, (_, i) => ({ name: `t${i}` }))));
      const ids = (await store.listTasks(job.id)).map((t) => t.id).sort((x, y) => x - y);
      expect((await claim({ limit: 2 })).map((c) => c.task.id)).toEqual(ids.slice(0, 2));
      expect((await claim({ limit: 2 })).map((c) => c.task.id)).toEqual(ids.slice(2, 4));
      const claims = (await Promise.all(Array.from({ length: 8 }, (_, i) => claim({ worker: `w${i}`, limit: 3 })))).flat();
      const taken = claims.map((c) => c.task.id);
      expect(new Set(taken).size).toBe(taken.length);
      expect(taken.length).toBeGreaterThanOrEqual(3);
      expect(taken.every((id) => !ids.slice(0, 4).includes(id))).toBe(true);
      expect(claims.every((c) => c.attempt.number === 1)).toBe(true);
      const running = (await store.listTasks(job.id)).filter((t) => t.state === 'running').map((t) => t.id);
      expect(running.sort((x, y) => x - y)).toEqual([...ids.slice(0, 4), ...taken].sort((x, y) => x - y));
      const attempts = await Promise.all(running.map((id) => store.listAttempts(id)));
      expect(attempts.map((list) => list.length)).toEqual(running.map(() => 1));
    });

    it('numbers an attempt after every earlier one, lost ones included', async () => {
      const job = await submit(plan([{ name: 'only' }], [taskType('t', { retries: 3, backoffMs: 1 })]));
      const first = (await claim({ jobId: job.id }))[0];
      await store.requeueLost({ worker: 'w1' }, 'worker died');
      const second = (await claim({ jobId: job.id, worker: 'w2' }))[0];
      expect(second.attempt.number).toBe(2);
      expect(await store.fail(second, { error: 'boom', exitCode: 1, signal: null, usage, retryable: true })).toBe('retrying');
      await new Promise((r) => setTimeout(r, 20));
      const third = (await claim({ jobId: job.id }))[0];
      expect(third.attempt.number).toBe(3);
      expect(third.task.attempts).toBe(1);
      expect(await succeed(first)).toBe(false);
      expect(await succeed(third)).toBe(true);
      expect((await store.listAttempts(third.task.id)).map((a) => [a.number, a.state])).toEqual([
        [1, 'lost'],
        [2, 'failed'],
        [3, 'succeeded'],
      ]);
    });

    it('claims nothing from a paused pool, or from any pool while every pool is paused', async () => {
      const types = [taskType('gpu', { pool: 'gpu' }), taskType('cpu')];
      const job = await submit(plan([{ name: 'g', type: 'gpu' }, { name: 'c', type: 'cpu' }], types));
      await store.setPoolPaused('gpu', true);
      expect(await claim({ pool: 'gpu' })).toEqual([]);
      const [c] = await claim({ limit: 5 });
      expect(c.task.name).toBe('c');
      await store.setPoolPaused('gpu', false);
      await store.setPoolPaused('*', true);
      expect(await claim({ limit: 5 })).toEqual([]);
      await store.setPoolPaused('*', false);
      expect((await claim({ jobId: job.id, pool: 'gpu', types: ['gpu'] })).map((x) => x.task.name)).toEqual(['g']);
    });

    it('claims only tasks of the job, pool and types asked for', async () => {
      const types = [taskType('fast'), taskType('slow')];
      const one = await submit(plan([{ name: 'f', type: 'fast' }, { name: 's', type: 'slow' }], types));
      const two = await submit({ ...plan([{ name: 'other', type: 'fast' }], types), name: 'two' });
      expect((await claim({ types: ['slow'], limit: 5 })).map((c) => c.task.name)).toEqual(['s']);
      expect(await claim({ types: [], limit: 5 })).toEqual([]);
      expect(await claim({ pool: 'elsewhere', limit: 5 })).toEqual([]);
      expect((await claim({ jobId: two.id, limit: 5 })).map((c) => c.task.jobId)).toEqual([two.id]);
      expect((await claim({ jobId: one.id, limit: 5 })).map((c) => c.task.name)).toEqual(['f']);
    });

    it('does not claim a task whose backoff has not passed', async () => {
      const job = await submit(plan([{ name: 'only' }], [taskType('t', { retries: 1, backoffMs: 60_000 })]));
      const [first] = await claim({ jobId: job.id });
      expect(await store.fail(first, { error: 'boom', exitCode: 1, signal: null, usage: null, retryable: true })).toBe('retrying');
      expect(await claim({ jobId: job.id })).toEqual([]);
    });
  });

  it('records the versions of every output and makes them current, and replaces a cache entry of the same key', async () => {
    const job = await submit(plan([{ name: 'a', outputs: { x: 'x.txt', y: 'y.txt' } }, { name: 'b', outputs: { z: 'z.txt' } }]));
    const [a, b] = await store.claim({ worker: 'w', host: 'h', scratchRoot: '/s', limit: 2, leaseMs: 30_000 });
    expect(await succeed(a, { 'x.txt': version(1), 'y.txt': version(2) }, 'same')).toBe(true);
    expect((await store.findCacheEntry('same'))?.outputs).toEqual({ 'x.txt': version(1), 'y.txt': version(2) });
    expect(await succeed(b, { 'z.txt': version(3) }, 'same')).toBe(true);
    expect(await store.findCacheEntry('same')).toEqual({ cacheKey: 'same', taskId: b.task.id, outputs: { 'z.txt': version(3) }, result: { name: 'b' } });
    const products = await store.productDetails(job.id);
    expect(products.map((p) => [p.path, p.sha256, p.attemptId, p.qcPassed])).toEqual([
      ['x.txt', version(1).sha256, a.attempt.id, true],
      ['y.txt', version(2).sha256, a.attempt.id, true],
      ['z.txt', version(3).sha256, b.attempt.id, true],
    ]);
    const [attempt] = await store.listAttempts(a.task.id);
    expect(attempt).toMatchObject({ state: 'succeeded', exitCode: 0, wallMs: 1, result: { name: 'a' } });
    expect((await store.getTaskById(a.task.id)).attempts).toBe(1);
  });

  it('changes nothing when the lease is no longer held, even with an output the job does not have', async () => {
    const job = await submit(plan([{ name: 'a', outputs: { out: 'a.txt' } }, { name: 'b', inputs: { in: 'a.txt' } }]));
    const [a] = await store.claim({ worker: 'w', host: 'h', scratchRoot: '/s', limit: 1, leaseMs: 30_000 });
    await store.requeueLost({ worker: 'w' }, 'lost');
    expect(await succeed(a, { 'a.txt': version(1), 'nope.txt': version(2) })).toBe(false);
    expect(await succeed(a, { 'a.txt': version(1) })).toBe(false);
    expect(await store.completeFromCache(a, { cacheKey: 'k', taskId: 1, outputs: {}, result: null })).toBe(false);
    expect(await store.fail(a, { error: 'late', exitCode: 1, signal: null, usage: null, retryable: true })).toBe('fenced');
    expect(await states(job.id)).toEqual({ a: 'queued', b: 'waiting' });
    expect(await store.listProducts(job.id)).toEqual([]);
    expect(await store.findCacheEntry('key-a')).toBeUndefined();
  });

  it('queues a dependent only when the last of its upstream tasks is done, however they finish together', async () => {
    const job = await submit(
      plan([{ name: 'a', outputs: { o: 'a.txt' } }, { name: 'b', outputs: { o: 'b.txt' } }, { name: 'c', inputs: { a: 'a.txt', b: 'b.txt' } }]),
    );
    const [a, b] = await store.claim({ worker: 'w', host: 'h', scratchRoot: '/s', limit: 2, leaseMs: 30_000 });
    expect(await succeed(a, { 'a.txt': version(1) })).toBe(true);
    expect((await states(job.id)).c).toBe('waiting');
    expect(await store.completeFromCache(b, { cacheKey: 'kb', taskId: 99, outputs: { 'b.txt': version(2) }, result: null })).toBe(true);
    expect(await states(job.id)).toEqual({ a: 'succeeded', b: 'cached', c: 'queued' });

    const again = await submit({ ...plan([{ name: 'p1', after: [] }, { name: 'p2' }, { name: 'q', after: ['p1', 'p2'] }]), name: 'again' });
    const parents = await store.claim({ worker: 'w', host: 'h', scratchRoot: '/s', jobId: again.id, limit: 2, leaseMs: 30_000 });
    expect(await Promise.all(parents.map((p) => succeed(p)))).toEqual([true, true]);
    const q = (await store.listTasks(again.id)).find((t) => t.name === 'q')!;
    expect(q.state).toBe('queued');
    const [claimedQ] = await store.claim({ worker: 'w', host: 'h', scratchRoot: '/s', jobId: again.id, limit: 5, leaseMs: 30_000 });
    expect(claimedQ.resultsOf).toEqual({ p1: { name: 'p1' }, p2: { name: 'p2' } });
  });

  it('fails a task for good with its whole downstream, and a retrying one goes back to the queue', async () => {
    const p = plan([{ name: 'a', outputs: { o: 'a.txt' } }, { name: 'b', inputs: { i: 'a.txt' }, outputs: { o: 'b.txt' } }, { name: 'c', inputs: { i: 'b.txt' } }, { name: 'side' }]);
    const job = await submit(p);
    const [a] = await store.claim({ worker: 'w', host: 'h', scratchRoot: '/s', jobId: job.id, limit: 1, leaseMs: 30_000 });
    expect(await store.fail(a, { error: 'bad input', exitCode: 2, signal: null, usage, retryable: false })).toBe('failed');
    expect(await states(job.id)).toEqual({ a: 'failed', b: 'upstream_failed', c: 'upstream_failed', side: 'queued' });
    const failed = await store.getTaskById(a.task.id);
    expect(failed).toMatchObject({ attempts: 1, error: 'bad input' });
    expect((await store.listAttempts(a.task.id)).map((x) => [x.state, x.exitCode, x.error])).toEqual([['failed', 2, 'bad input']]);
  });

  describe('claims and completions made at once by one process', () => {
    const request = { worker: 'w', host: 'h', scratchRoot: '/s/', limit: 1, leaseMs: 30_000 };

    it('gives each claim tasks of its own under a lease token and attempts of its own', async () => {
      const job = await submit(plan(Array.from({ length: 10 }, (_, i) => ({ name: `t${i}` }))));
      const ids = (await store.listTasks(job.id)).map((t) => t.id).sort((x, y) => x - y);
      const limits = [1, 2, 1, 3];
      const claims = await Promise.all(limits.map((limit) => store.claim({ ...request, limit })));
      const taken = claims.flat();
      expect(new Set(taken.map((c) => c.task.id)).size).toBe(taken.length);
      claims.forEach((c, i) => expect(c.length).toBeLessThanOrEqual(limits[i]));
      // one token per claim, shared by its tasks, and an attempt per task in a scratch directory of its own
      const tokens = claims.filter((c) => c.length > 0).map((c) => c[0].leaseToken);
      expect(new Set(tokens).size).toBe(tokens.length);
      for (const c of claims) expect(new Set(c.map((x) => x.leaseToken)).size).toBeLessThanOrEqual(1);
      for (const c of taken) expect(c.attempt).toMatchObject({ number: 1, scratch: `/s/${c.task.id}-${c.leaseToken}` });
      expect(new Set(taken.map((c) => c.attempt.id)).size).toBe(taken.length);
      if (kind === 'postgres') {
        // a lone claim goes at once and those that came meanwhile go together: every claim is
        // served in full, oldest tasks first, in the order they were made
        expect(claims.map((c) => c.map((x) => x.task.id))).toEqual([ids.slice(0, 1), ids.slice(1, 3), ids.slice(3, 4), ids.slice(4, 7)]);
      }
      // each completion is fenced by its own claim's token
      const [another] = await store.claim(request);
      expect(await succeed({ ...another, leaseToken: taken[0].leaseToken })).toBe(false);
      const all = [...taken, another];
      expect(await Promise.all(all.map((c) => succeed(c)))).toEqual(all.map(() => true));
      expect((await store.listTasks(job.id)).filter((t) => t.state === 'succeeded').length).toBe(all.length);
    });

    it('gives each completion the outcome it would have had alone', async () => {
      const names = ['a', 'lost', 'unknown', 'same1', 'same2', 'cached'];
      const job = await submit(plan([...names.map((name) => ({ name, outputs: { o: `${name}.txt` } })), { name: 'join', after: names }]));
      const claims = new Map<string, ClaimedTask>();
      while (claims.size < names.length) for (const c of await store.claim({ ...request, limit: names.length })) claims.set(c.task.name, c);
      const claimOf = (name: string) => claims.get(name)!;
      await store.requeueLost({ taskId: claimOf('lost').task.id, leaseToken: claimOf('lost').leaseToken }, 'worker lost');
      const outcomes = await Promise.allSettled([
        succeed(claimOf('a'), { 'a.txt': version(1) }),
        succeed(claimOf('lost'), { 'lost.txt': version(2) }),
        succeed(claimOf('unknown'), { 'unknown.txt': version(3), 'nope.txt': version(4) }),
        succeed(claimOf('same1'), { 'same1.txt': version(5) }, 'same'),
        succeed(claimOf('same2'), { 'same2.txt': version(6) }, 'same'),
        store.completeFromCache(claimOf('cached'), { cacheKey: 'earlier', taskId: 1, outputs: { 'cached.txt': version(7) }, result: null }),
        // a second completion of one task: it no longer holds the lease
        succeed(claimOf('a'), { 'a.txt': version(8) }),
      ]);
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
        true,
        false,
        `output nope.txt is not a product of job ${job.id}: a task records only the outputs its job declares`,
        true,
        true,
        true,
        false,
      ]);
      expect(await states(job.id)).toEqual({ a: 'succeeded', lost: 'queued', unknown: 'running', same1: 'succeeded', same2: 'succeeded', cached: 'cached', join: 'waiting' });
      const products = Object.fromEntries((await store.productDetails(job.id)).map((p) => [p.path, p.sha256]));
      expect(products).toEqual({ 'a.txt': version(1).sha256, 'same1.txt': version(5).sha256, 'same2.txt': version(6).sha256, 'cached.txt': version(7).sha256 });
      // the entry of one of the two tasks of one key, whole
      const entry = await store.findCacheEntry('same');
      expect([
        { cacheKey: 'same', taskId: claimOf('same1').task.id, outputs: { 'same1.txt': version(5) }, result: { name: 'same1' } },
        { cacheKey: 'same', taskId: claimOf('same2').task.id, outputs: { 'same2.txt': version(6) }, result: { name: 'same2' } },
      ]).toContainEqual(entry);
      expect((await store.listAttempts(claimOf('cached').task.id)).length).toBe(0);
      expect((await store.listAttempts(claimOf('a').task.id)).map((x) => x.state)).toEqual(['succeeded']);
    });

    it('records the completions sent with one whose values the database refuses', async () => {
      const job = await submit(plan([{ name: 'a', outputs: { o: 'a.txt' } }, { name: 'b', outputs: { o: 'b.txt' } }, { name: 'c', outputs: { o: 'c.txt' } }]));
      const claims = (await store.claim({ ...request, limit: 3 })).sort((x, y) => x.task.id - y.task.id);
      const outcomes = await Promise.allSettled([
        succeed(claims[0], { 'a.txt': version(1) }),
        // a NUL character: PostgreSQL refuses the text, the other databases find no such product
        succeed(claims[1], { 'b\u0000.txt': version(2) }),
        succeed(claims[2], { 'c.txt': version(3) }),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await states(job.id)).toEqual({ a: 'succeeded', b: 'running', c: 'succeeded' });
    });
  });

  it.runIf(kind === 'postgres')('reads a few tasks per claim and per completion, however many are queued or waiting', async () => {
    // a new database: its planner knows of the tables only what the submission tells it
    await submit(plan(Array.from({ length: 3000 }, (_, i) => [{ name: `p${i}` }, { name: `c${i}`, after: [`p${i}`] }]).flat()));
    await store.close();
    const before = await tasksRowsRead(database.url);
    store = await openStore(database.url);
    const take = async () => (await store.claim({ worker: 'w', host: 'h', scratchRoot: '/s', limit: 1, leaseMs: 30_000 }))[0];
    for (let i = 0; i < 40; i++) expect(await succeed(await take())).toBe(true);
    await store.close();
    const read = (await tasksRowsRead(database.url)) - before;
    store = await openStore(database.url);
    // a plan that read the queue whole (3,000 queued) or every waiting task (3,000) would read thousands
    expect(read / 40).toBeLessThan(50);
  });

  it.runIf(kind === 'postgres')('tells listening workers when something was queued, and only then', async () => {
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query('LISTEN orrery_queued');
    // notifications arrive in commit order: a marker sent after an operation shows whether it notified
    const notifiedBy = async (operation: () => Promise<unknown>) => {
      heard.length = 0;
      await operation();
      await listener.query("SELECT pg_notify('orrery_queued', 'marker')");
      while (!heard.includes('marker')) await new Promise((r) => setTimeout(r, 5));
      return heard.indexOf('marker') > 0;
    };
    try {
      const p = plan([{ name: 'a' }, { name: 'b' }, { name: 'c', after: ['a', 'b'] }, { name: 'd', after: ['c'] }, { name: 'e', after: ['d'] }], [taskType('t', { retries: 1, backoffMs: 1 })]);
      const job = await submit(p);
      const take = async () => (await store.claim({ worker: 'w', host: 'h', scratchRoot: '/s', jobId: job.id, limit: 1, leaseMs: 30_000 }))[0];
      const a = await take();
      const b = await take();
      expect(await notifiedBy(() => succeed(a))).toBe(false); // c still waits for b
      expect(await notifiedBy(() => succeed(b))).toBe(true); // c queued
      const c = await take();
      expect(await notifiedBy(() => store.completeFromCache(c, { cacheKey: 'k', taskId: 1, outputs: {}, result: null }))).toBe(true); // d queued
      const d = await take();
      expect(await notifiedBy(() => store.fail(d, { error: 'x', exitCode: 1, signal: null, usage: null, retryable: true }))).toBe(true); // d retries
      await new Promise((r) => setTimeout(r, 20));
      const d2 = await take();
      expect(await notifiedBy(() => store.fail(d2, { error: 'x', exitCode: 1, signal: null, usage: null, retryable: true }))).toBe(false); // d failed, e upstream_failed
      expect(await states(job.id)).toMatchObject({ d: 'failed', e: 'upstream_failed' });
    } finally {
      await listener.end();
    }
  });
});

/**
 * Rows of `tasks` read so far by scans and index lookups, as PostgreSQL counts them: the counts
 * of a session reach the statistics views when it ends, so once this database has no other.
 */
async function tasksRowsRead(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (;;) {
      const others = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      if (others.rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const { rows } = await client.query("SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) AS n FROM pg_stat_user_tables WHERE relname = 'tasks'");
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}
