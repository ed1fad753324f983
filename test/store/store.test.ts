import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { latestSchemaVersion } from '../../src/store/migrations/index.js';
import { openStore } from '../../src/store/open.js';
import type { ClaimedTask, Store } from '../../src/store/store.js';
import { retryDelay } from '../../src/store/sql/fail.js';
import { databaseKinds, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { fakeVersion, plan, taskType, typeHashes } from '../helpers/plan.js';

const hashes = typeHashes;
const version = fakeVersion;

describe.each(databaseKinds)('task database on %s', (kind) => {
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

  async function submit(p = chain()) {
    return store.submitJob(p, { planHash: 'h', failFast: false, sourceFile: null, externalVersions: {}, typeHashes: hashes(p) });
  }

  function chain() {
    return plan([
      { name: 'a', outputs: { out: 'a.txt' } },
      { name: 'b', inputs: { in: 'a.txt' }, outputs: { out: 'b.txt' } },
      { name: 'c', inputs: { in: 'b.txt' } },
      { name: 'side' },
    ]);
  }

  /** Room for everything: fitting takes every candidate. */
  const ample = { free: { cpu: 64, memory: 2 ** 40 }, capacity: { cpu: 64, memory: 2 ** 40 } };
  async function claimOne(jobId: number, worker = 'w1'): Promise<ClaimedTask> {
    const [claim] = await store.claim({ worker, host: 'h', scratchRoot: '/tmp/scratch', jobId, limit: 1, leaseMs: 30_000, room: ample });
    expect(claim).toBeDefined();
    return claim;
  }
  async function succeed(claim: ClaimedTask, outputs = {}) {
    const attempt = claim.attempt;
    return store.succeed(claim, { cacheKey: `key-${claim.task.name}`, outputs, result: { ok: 1 }, exitCode: 0, usage: { wallMs: 1, cpuMs: 1, peakRss: 1 } });
  }
  async function states(jobId: number) {
    return Object.fromEntries((await store.listTasks(jobId)).map((t) => [t.name, t.state]));
  }

  describe('behaviour', () => {
    it('queues tasks without upstream work at submission and the rest wait', async () => {
      const job = await submit();
      expect(await states(job.id)).toEqual({ a: 'queued', b: 'waiting', c: 'waiting', side: 'queued' });
    });

    it('queues dependents in the transaction that completes their upstream task', async () => {
      const job = await submit();
      const a = await claimOne(job.id);
      expect(a.task.name).toBe('a');
      expect(await succeed(a, { 'a.txt': version(1) })).toBe(true);
      expect((await states(job.id)).b).toBe('queued');
      const products = await store.listProducts(job.id);
      expect(products.map((p) => [p.path, p.sha256, p.producer])).toEqual([['a.txt', version(1).sha256, 'a']]);
    });

    it('never claims a task twice and hands inputs with their versions', async () => {
      const job = await submit();
      const first = await store.claim({ worker: 'w1', host: 'h', scratchRoot: '/tmp/scratch', jobId: job.id, limit: 10, leaseMs: 30_000, room: ample });
      const second = await store.claim({ worker: 'w2', host: 'h', scratchRoot: '/tmp/scratch', jobId: job.id, limit: 10, leaseMs: 30_000, room: ample });
      expect(first.map((c) => c.task.name)).toEqual(['a', 'side']);
      expect(second).toEqual([]);
      await succeed(first[0], { 'a.txt': version(7) });
      const b = await claimOne(job.id);
      expect(b.inputs).toEqual({ in: { path: 'a.txt', ...version(7) } });
      expect(b.resultsOf).toEqual({ a: { ok: 1 } });
    });

    it("fits tasks into the worker's free cores and memory, oldest first, skipping those that do not fit", async () => {
      const GiB = 1024 ** 3;
      const types = [taskType('one'), taskType('two', { cpu: 2, memory: GiB }), taskType('big', { memory: 5 * GiB }), taskType('wide', { cpu: 16 }), taskType('huge', { memory: 64 * GiB })];
      const tasks = ['two-a', 'big-a', 'two-b', 'one-a', 'one-b', 'one-c'].map((name) => ({ name, type: name.split('-')[0] }));
      const job = await submit(plan(tasks, types));
      const capacity = { cpu: 4, memory: 8 * GiB };
      const claimIn = (free: { cpu: number; memory: number }, limit = 10) =>
        store.claim({ worker: 'w', host: 'h', scratchRoot: '/tmp/scratch', jobId: job.id, limit, leaseMs: 30_000, room: { free, capacity } });
      const names = (claims: ClaimedTask[]) => claims.map((c) => c.task.name);
      // 3 cores, 5 GiB free: two-a (2 cores, 1 GiB) leaves 1 core and 4 GiB; big-a needs 5 GiB,
      // two-b 2 cores; one-a takes the last core
      expect(names(await claimIn({ cpu: 3, memory: 5 * GiB }))).toEqual(['two-a', 'one-a']);
      // the limit counts tasks
      expect(names(await claimIn({ cpu: 4, memory: 8 * GiB }, 2))).toEqual(['big-a', 'two-b']);
      expect(names(await claimIn({ cpu: 0.5, memory: 8 * GiB }))).toEqual([]);
      expect(names(await claimIn({ cpu: 1, memory: 0 }))).toEqual(['one-b']);
      // more cores than the room has: all of them; more memory than it has: nothing (it fails at once)
      const later = await submit(plan([{ name: 'wide', type: 'wide' }, { name: 'huge', type: 'huge' }, { name: 'one', type: 'one' }], types));
      const rest = await store.claim({ worker: 'w', host: 'h', scratchRoot: '/tmp/scratch', jobId: later.id, limit: 10, leaseMs: 30_000, room: { free: { cpu: 4, memory: GiB }, capacity } });
      expect(names(rest)).toEqual(['wide', 'huge']);
    });

    it('fences completion by the lease token', async () => {
      const job = await submit();
      const a = await claimOne(job.id);
      await store.requeueLost({ worker: 'w1' }, 'worker died');
      const again = await claimOne(job.id, 'w2');
      expect(again.leaseToken).not.toBe(a.leaseToken);
      // the first worker comes back and reports: nothing changes
      expect(await store.fail(a, { error: 'late', exitCode: 1, signal: null, usage: null, retryable: true })).toBe('fenced');
      expect(await succeed(again, { 'a.txt': version(2) })).toBe(true);
      expect((await store.getTask(`${job.id}/a`)).state).toBe('succeeded');
    });

    it('retries a failing task with backoff, then fails it and marks its downstream upstream_failed', async () => {
      const p = chain();
      p.types.t = taskType('t', { retries: 1, backoffMs: 1000 });
      const job = await submit(p);
      const a = await claimOne(job.id);
      const attempt = a.attempt;
      const failedAt = Date.now();
      expect(await store.fail(a, { error: 'boom', exitCode: 1, signal: null, usage: null, retryable: true })).toBe('retrying');
      const queued = await store.getTask(`${job.id}/a`);
      expect(queued.state).toBe('queued');
      // backoff 1 s with equal jitter: between 0.5 and 1 s after the failure
      expect(queued.notBefore).toBeGreaterThanOrEqual(failedAt + 500);
      expect(queued.notBefore).toBeLessThanOrEqual(Date.now() + 1000);
      const early = await store.claim({ worker: 'w', host: 'h', scratchRoot: '/tmp/scratch', jobId: job.id, limit: 10, leaseMs: 1000, room: ample });
      expect(early.map((c) => c.task.name)).toEqual(['side']);
      await new Promise((r) => setTimeout(r, Math.max(0, queued.notBefore - Date.now()) + 20));
      const a2 = await claimOne(job.id);
      const attempt2 = a2.attempt;
      expect(attempt2.number).toBe(2);
      expect(await store.fail(a2, { error: 'boom again', exitCode: 1, signal: null, usage: null, retryable: true })).toBe('failed');
      expect(await states(job.id)).toMatchObject({ a: 'failed', b: 'upstream_failed', c: 'upstream_failed' });
      expect((await store.listAttempts(queued.id)).map((x) => x.state)).toEqual(['failed', 'failed']);
    });

    it('records lost attempts without counting them against retries', async () => {
      const job = await submit();
      const a = await claimOne(job.id);
      const lost = await store.requeueLost({ worker: 'w1' }, 'killed');
      expect(lost).toHaveLength(1);
      const task = await store.getTask(`${job.id}/a`);
      expect(task.state).toBe('queued');
      expect(task.attempts).toBe(0);
      expect((await store.listAttempts(task.id)).map((x) => [x.state, x.error])).toEqual([['lost', 'killed']]);
    });

    it('reaps only expired leases', async () => {
      const job = await submit();
      await store.claim({ worker: 'w1', host: 'h', scratchRoot: '/tmp/scratch', jobId: job.id, limit: 1, leaseMs: 1, room: ample });
      await store.claim({ worker: 'w2', host: 'h', scratchRoot: '/tmp/scratch', jobId: job.id, limit: 1, leaseMs: 60_000, room: ample });
      await new Promise((r) => setTimeout(r, 5));
      const lost = await store.requeueLost({ expiredBefore: Date.now() }, 'lease expired');
      expect(lost).toHaveLength(1);
    });

    it('heartbeats report tasks the worker no longer holds', async () => {
      const job = await submit();
      const claims = await store.claim({ worker: 'w1', host: 'h', scratchRoot: '/tmp/scratch', jobId: job.id, limit: 2, leaseMs: 1000, room: ample });
      await store.cancel({ taskId: claims[1].task.id });
      const revoked = await store.heartbeat('w1', claims.map((c) => ({ taskId: c.task.id, leaseToken: c.leaseToken })), 1000);
      expect(revoked).toEqual([claims[1].task.id]);
    });

    it('cancels a task and its downstream, and retry brings them back', async () => {
      const job = await submit();
      await store.cancel({ jobId: job.id });
      expect(await store.settleJob(job.id)).toBe('cancelled');
      expect(await store.retry({ jobId: job.id })).toBe(4);
      expect(await states(job.id)).toEqual({ a: 'queued', b: 'waiting', c: 'waiting', side: 'queued' });
      expect((await store.getJob(job.id)).state).toBe('running');
    });

    it('retry of one task re-queues it and its downstream only', async () => {
      const job = await submit();
      const a = await claimOne(job.id);
      await store.fail(a, { error: 'x', exitCode: 1, signal: null, usage: null, retryable: false });
      const side = await claimOne(job.id);
      await store.fail(side, { error: 'x', exitCode: 1, signal: null, usage: null, retryable: false });
      expect(await store.retry({ taskId: a.task.id })).toBe(3);
      expect(await states(job.id)).toEqual({ a: 'queued', b: 'waiting', c: 'waiting', side: 'failed' });
    });

    it('settles a job only when nothing can run any more', async () => {
      const job = await submit(plan([{ name: 'only' }]));
      expect(await store.settleJob(job.id)).toBe('running');
      await succeed(await claimOne(job.id));
      expect(await store.settleJob(job.id)).toBe('succeeded');
      expect((await store.getJob(job.id)).finishedAt).not.toBeNull();
    });

    it('completes from the cache without an attempt, releasing dependents', async () => {
      const job = await submit();
      const a = await claimOne(job.id);
      const ok = await store.completeFromCache(a, { cacheKey: 'k', taskId: 999, outputs: { 'a.txt': version(3) }, result: { cached: true } });
      expect(ok).toBe(true);
      const task = await store.getTask(`${job.id}/a`);
      expect(task.state).toBe('cached');
      expect(task.result).toEqual({ cached: true });
      expect(await store.listAttempts(task.id)).toEqual([]);
      expect((await states(job.id)).b).toBe('queued');
    });

    it('keeps the database unchanged when a completing transaction fails half-way', async () => {
      const job = await submit();
      const a = await claimOne(job.id);
      const attempt = a.attempt;
      // an output that is not a product of the job makes recordOutputs throw mid-transaction
      await expect(
        store.succeed(a, { cacheKey: 'k', outputs: { 'a.txt': version(1), 'nope.txt': version(2) }, result: null, exitCode: 0, usage: { wallMs: 1, cpuMs: 1, peakRss: 1 } }),
      ).rejects.toThrow();
      const task = await store.getTask(`${job.id}/a`);
      expect(task.state).toBe('running');
      expect(await store.listProducts(job.id)).toEqual([]);
      expect((await states(job.id)).b).toBe('waiting');
    });

    it('lets a chain go step by step without holding completions back, and commits deferrable ones too', async () => {
      const steps = 12;
      const long = plan(
        Array.from({ length: steps }, (_, i) => ({ name: `s${i}`, inputs: i === 0 ? {} : { in: `${i - 1}.txt` }, outputs: { out: `${i}.txt` } })),
      );
      const job = await submit(long);
      const started = performance.now();
      for (let i = 0; i < steps; i++) {
        const claim = await claimOne(job.id);
        expect(claim.task.name).toBe(`s${i}`);
        // the worker is waiting for the next step: committed at once (SQLite batches only
        // deferrable completions, for up to 50 ms each)
        expect(await succeed(claim, { [`${i}.txt`]: version(i + 1) })).toBe(true);
      }
      // a completion held back would cost its step 50 ms at least: the steps together, held
      // back, could not take less than steps × 50 ms, however fast the machine; not held
      // back, they take a few ms each (a loaded machine's MySQL once took 27 ms a step)
      expect(performance.now() - started).toBeLessThan(steps * 50);

      const other = await submit(chain());
      const a = await claimOne(other.id);
      const deferred = await store.succeed(
        a,
        { cacheKey: 'deferred-a', outputs: { 'a.txt': version(3) }, result: null, exitCode: 0, usage: { wallMs: 1, cpuMs: 1, peakRss: 1 } },
        undefined,
        { deferrable: true },
      );
      expect(deferred).toBe(true);
      expect((await states(other.id)).b).toBe('queued');
    });

    it('refuses a database newer than the code', async () => {
      const meta = () => (store as unknown as { db: any }).db.updateTable('orrery_meta').where('key', '=', 'schema_version');
      await meta().set({ value: '999' }).execute();
      await expect(openStore(database.url)).rejects.toThrow(/schema version 999.*upgrade Orrery/);
      await meta().set({ value: String(latestSchemaVersion) }).execute();
    });
  });
});

describe('retry backoff', () => {
  it('grows exponentially with jitter between half and the full delay', () => {
    expect(retryDelay(1000, 1, () => 0)).toBe(500);
    expect(retryDelay(1000, 1, () => 1)).toBe(1000);
    expect(retryDelay(1000, 3, () => 1)).toBe(4000);
    expect(retryDelay(1000, 30, () => 1)).toBe(600_000);
  });
});
