/**
 * The engine of distributed mode (`orrery server`): re-queues the tasks of workers whose
 * leases expired (recording those attempts as lost), marks silent workers lost, and ends
 * jobs whose tasks are all done. Retries and readiness need no server: they happen in the
 * transactions of the workers that complete tasks. Several servers may run at once;
 * every step is a fenced, idempotent transaction.
 */
import { isConnectionError, OutageReporter } from '../store/outage.js';
import type { Store } from '../store/store.js';

export interface EngineOptions {
  store: Store;
  /** The lease workers take; expired leases are reaped within a quarter of it. */
  leaseMs: number;
  signal: AbortSignal;
  log(message: string): void;
}

export async function runEngine(options: EngineOptions): Promise<void> {
  const period = Math.max(200, Math.min(5000, options.leaseMs / 4));
  const outage = new OutageReporter(options.log);
  let backoff = 250;
  while (!options.signal.aborted) {
    try {
      await engineTick(options.store, options.leaseMs, options.log);
      outage.succeeded();
      backoff = 250;
      await sleep(period, options.signal);
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      outage.failed(error as Error);
      await sleep(backoff, options.signal);
      backoff = Math.min(backoff * 2, 5000);
    }
  }
}

/** One pass of the engine; exported for tests. */
export async function engineTick(store: Store, leaseMs: number, log: (message: string) => void): Promise<void> {
  const now = Date.now();
  const lost = await store.requeueLost(
    { expiredBefore: now },
    `the worker's lease expired (no heartbeat for ${Math.round(leaseMs / 1000)} s: killed, out of memory, or its node was lost); queued again`,
  );
  if (lost.length > 0) log(`re-queued ${lost.length} task(s) whose worker stopped heartbeating`);
  await store.markSilentWorkersLost(now - leaseMs);
  for (const jobId of await store.runningJobIds()) {
    const state = await store.settleJob(jobId);
    if (state !== 'running') log(`job ${jobId} ${state}`);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
