/**
 * The worker pool, with a real SQLite store, the real launcher and shells.
 *
 * Its room under a slow database: a claim made for free cores can come back after those
 * cores were taken by a task claimed ahead (staged while the room was full, let in while the
 * claim ran); the store's claims with a room are held back a few milliseconds to widen that
 * window. Each command records when it ran; at no moment may more cores be busy than the
 * pool has.
 *
 * Its chains of short tasks: a task that turns out to run long holds up none of the tasks
 * queued behind it for longer than FOLLOW_PATIENCE_MS.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PollDispatch } from '../../src/dispatch/dispatch.js';
import { submitPlan } from '../../src/engine/submit.js';
import { LocalRepository } from '../../src/files/local-repository.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { ProcessRunner } from '../../src/worker/process-runner.js';
import type { Runner } from '../../src/worker/runner.js';
import { WorkerPool } from '../../src/worker/worker-pool.js';
import { plan, taskType } from '../helpers/plan.js';

describe('worker pool', () => {
  let dir: string;
  let store: Store;
  let runner: ProcessRunner;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-pool-'));
    store = await openStore(path.join(dir, 'orrery.db'));
    runner = new ProcessRunner();
  });
  afterEach(async () => {
    await runner.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the job as `orrery run --cores N` would (2 by default), until it ends. */
  function runPool(through: Store, jobId: number, files: LocalRepository, { cores = 2, via = runner as Runner } = {}) {
    const pool = new WorkerPool({
      store: through,
      worker: 'test-pool',
      jobId,
      leaseMs: 30_000,
      lookahead: 16,
      dispatch: new PollDispatch(100),
      capacity: { cpu: cores, memory: 1024 ** 3 },
      context: { files, runner: via, host: os.hostname(), scratchRoot: path.join(dir, 'scratch'), noCache: false, keepScratch: false },
      onEvent: () => {},
    });
    return pool.run();
  }

  /** The runner, counting the commands taken back before they started. */
  function countingWithdrawals(): { via: Runner; withdrawn: () => number } {
    let withdrawn = 0;
    const via: Runner = { run: (spec) => runner.run(spec).then((outcome) => ((withdrawn += outcome.withdrawn ? 1 : 0), outcome)) };
    return { via, withdrawn: () => withdrawn };
  }

  it('never holds more cores than it has when a claim comes back after its room was taken', async () => {
    const spans = path.join(dir, 'spans.txt');
    const command = `s=$(date +%s%N); echo $s $(date +%s%N) >> ${spans}`;
    const job = plan(
      Array.from({ length: 400 }, (_, i) => ({ name: `t${i}`, params: { i } })),
      [taskType('t', { command, cpu: 1 })],
    );
    const files = new LocalRepository(path.join(dir, 'files'));
    const { job: record } = await submitPlan(store, files, job, { failFast: false, sourceFile: null, resume: false });
    // claims for free cores come back late, and staging a task takes a while (its cache
    // lookup): tasks claimed ahead are still being staged when cores free up, and take them
    // while the claim made for those cores runs
    const slow: Store = Object.create(store);
    slow.claim = async (request) => {
      const claims = await store.claim(request);
      if (request.room) await sleep(5);
      return claims;
    };
    slow.findCacheEntry = async (key) => {
      await sleep(5);
      return store.findCacheEntry(key);
    };
    expect(await runPool(slow, record.id, files)).toBe('succeeded');

    const ran = fs
      .readFileSync(spans, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' ').map(BigInt));
    expect(ran).toHaveLength(400);
    const busyAt = (t: bigint) => ran.filter(([start, end]) => start <= t && t < end).length;
    expect(Math.max(...ran.map(([start]) => busyAt(start)))).toBeLessThanOrEqual(2);
  });

  it('starts the tasks queued behind one that runs long elsewhere', async () => {
    const ends = path.join(dir, 'ends.txt');
    // task 100 of a stream of short ones sleeps: the tasks queued behind it in its chain
    // are taken back and run on the other core while it sleeps
    const command = `s=$(date +%s%N); if [ {params.i} = 100 ]; then sleep 2; fi; echo {params.i} $s $(date +%s%N) >> ${ends}`;
    const job = plan(
      Array.from({ length: 300 }, (_, i) => ({ name: `t${i}`, params: { i } })),
      [taskType('t', { command, cpu: 1 })],
    );
    const files = new LocalRepository(path.join(dir, 'files'));
    const { job: record } = await submitPlan(store, files, job, { failFast: false, sourceFile: null, resume: false });
    const counting = countingWithdrawals();
    expect(await runPool(store, record.id, files, { via: counting.via })).toBe('succeeded');
    expect(counting.withdrawn()).toBeGreaterThan(0);

    const ran = fs
      .readFileSync(ends, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .map(([i, start, end]) => ({ i: Number(i), start: BigInt(start), end: BigInt(end) }));
    expect(new Set(ran.map((r) => r.i)).size).toBe(300);
    const slow = ran.find((r) => r.i === 100)!;
    expect(ran.filter((r) => r.i !== 100 && r.end > slow.end).map((r) => r.i), 'tasks that ended after the long one').toEqual([]);
    // and those taken back started in room that was free: never more than two at once
    const busyAt = (t: bigint) => ran.filter(({ start, end }) => start <= t && t < end).length;
    expect(Math.max(...ran.map(({ start }) => busyAt(start)))).toBeLessThanOrEqual(2);
  });

  it('takes back no task from chains of tasks that all run a while', async () => {
    // eight cores of 100 ms commands end within milliseconds of each other, so chains form,
    // but no chain stalls: each goes as long without an end as its tasks run
    const job = plan(
      Array.from({ length: 160 }, (_, i) => ({ name: `t${i}`, params: { i } })),
      [taskType('t', { command: 'sleep 0.1', cpu: 1 })],
    );
    const files = new LocalRepository(path.join(dir, 'files'));
    const { job: record } = await submitPlan(store, files, job, { failFast: false, sourceFile: null, resume: false });
    const counting = countingWithdrawals();
    expect(await runPool(store, record.id, files, { cores: 8, via: counting.via })).toBe('succeeded');
    expect(counting.withdrawn()).toBe(0);
  });
});
