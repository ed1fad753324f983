/**
 * The embedded worker pool: runs a job's tasks as local subprocesses within this
 * machine's cores and memory, claiming from the task database like any worker would.
 * Each task reserves its type's cpu and memory; a task asking for more cores than the
 * machine has runs alone on all of them (as Snakemake does), a task asking for more
 * memory than the machine has fails at once with a clear error.
 */
import type { ClaimedTask, Store } from '../store/store.js';
import { type ExecuteContext, type ExecuteResult, executeTask } from './execute.js';

export interface Capacity {
  cpu: number;
  memory: number;
}

export type PoolEvent =
  | { kind: 'started'; task: ClaimedTask['task']; attempt: number }
  | { kind: 'finished'; task: ClaimedTask['task']; result: ExecuteResult };

export interface PoolOptions {
  store: Store;
  worker: string;
  jobId: number;
  capacity: Capacity;
  leaseMs: number;
  context: Omit<ExecuteContext, 'store' | 'impossible' | 'onStart'>;
  onEvent(event: PoolEvent): void;
  /** Called when a task fails for good; returning true stops the job (fail-fast). */
  onFailed?(task: ClaimedTask['task']): Promise<void>;
}

interface Running {
  claim: ClaimedTask;
  cpu: number;
  memory: number;
  abort: AbortController;
  done: Promise<void>;
}

export class LocalPool {
  private readonly running = new Map<number, Running>();
  private freeCpu: number;
  private freeMemory: number;
  private wake: (() => void) | null = null;
  /** Set when a task ended since the last claim, so an idle wait returns at once. */
  private signalled = false;
  private stopped = false;

  constructor(private readonly options: PoolOptions) {
    this.freeCpu = options.capacity.cpu;
    this.freeMemory = options.capacity.memory;
  }

  /** Runs until no task of the job can still run (or `stop()`); returns the job's state. */
  async run(): Promise<string> {
    const heartbeat = setInterval(() => void this.heartbeat(), Math.min(1000, this.options.leaseMs / 3));
    try {
      for (;;) {
        if (this.stopped) break;
        this.signalled = false;
        const claimed = await this.claim();
        if (claimed > 0) continue;
        if (this.running.size === 0) {
          const state = await this.options.store.settleJob(this.options.jobId);
          if (state !== 'running') return state;
        }
        await this.sleep(await this.idleDelay());
      }
      return 'running';
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Kills every running task and waits for them to end; their leases are left to the caller. */
  async stop(): Promise<number[]> {
    this.stopped = true;
    const ids = [...this.running.keys()];
    for (const entry of this.running.values()) entry.abort.abort();
    this.wake?.();
    await Promise.all([...this.running.values()].map((r) => r.done));
    return ids;
  }

  /** Stops the given tasks' processes (cancelled, or lease lost). */
  abort(taskIds: number[]): void {
    for (const id of taskIds) this.running.get(id)?.abort.abort();
  }

  get runningClaims(): ClaimedTask[] {
    return [...this.running.values()].map((r) => r.claim);
  }

  private async claim(): Promise<number> {
    const { capacity } = this.options;
    const reserved = new Map<number, { cpu: number; memory: number }>();
    let freeCpu = this.freeCpu;
    let freeMemory = this.freeMemory;
    const claims = await this.options.store.claim({
      worker: this.options.worker,
      jobId: this.options.jobId,
      leaseMs: this.options.leaseMs,
      limit: Math.max(1, Math.ceil(freeCpu)),
      accept: ({ id, cpu, memory }) => {
        if (memory > capacity.memory) {
          reserved.set(id, { cpu: 0, memory: 0 });
          return true;
        }
        const needCpu = Math.min(cpu, capacity.cpu);
        if (needCpu > freeCpu + 1e-9 || memory > freeMemory) return false;
        freeCpu -= needCpu;
        freeMemory -= memory;
        reserved.set(id, { cpu: needCpu, memory });
        return true;
      },
    });
    for (const claim of claims) this.start(claim, reserved.get(claim.task.id) ?? { cpu: 0, memory: 0 });
    return claims.length;
  }

  private start(claim: ClaimedTask, reservation: { cpu: number; memory: number }): void {
    const { capacity } = this.options;
    this.freeCpu -= reservation.cpu;
    this.freeMemory -= reservation.memory;
    const impossible =
      claim.task.memory > capacity.memory
        ? `task type ${claim.type.name} needs ${formatBytes(claim.task.memory)} of memory but this machine's pool has ${formatBytes(capacity.memory)}; lower its \`memory\` or run it on a bigger machine`
        : undefined;
    const abort = new AbortController();
    const entry: Running = { claim, ...reservation, abort, done: Promise.resolve() };
    entry.done = executeTask(claim, { ...this.options.context, store: this.options.store, impossible, onStart: (c, attempt) => this.options.onEvent({ kind: 'started', task: c.task, attempt }) }, abort.signal)
      .then(async (result) => {
        this.options.onEvent({ kind: 'finished', task: claim.task, result });
        if (result.outcome === 'failed') await this.options.onFailed?.(claim.task);
      })
      .catch((error: Error) => {
        // an unexpected error (disk full, database gone): keep the pool's books right and
        // surface it; the task's lease expires and it is re-queued as lost
        this.options.onEvent({ kind: 'finished', task: claim.task, result: { outcome: 'failed', error: `orrery: ${error.message}` } });
      })
      .finally(() => {
        this.running.delete(claim.task.id);
        this.freeCpu += reservation.cpu;
        this.freeMemory += reservation.memory;
        this.signalled = true;
        this.wake?.();
      });
    this.running.set(claim.task.id, entry);
  }

  private async heartbeat(): Promise<void> {
    const held = [...this.running.values()].map((r) => ({ taskId: r.claim.task.id, leaseToken: r.claim.leaseToken }));
    if (held.length === 0) return;
    try {
      const revoked = await this.options.store.heartbeat(this.options.worker, held, this.options.leaseMs);
      this.abort(revoked);
    } catch {
      // a busy database: the next heartbeat tries again, well within the lease
    }
  }

  /** How long to wait when nothing could be claimed: until a running task ends, or a backoff passes. */
  private async idleDelay(): Promise<number> {
    const next = await this.options.store.nextClaimableAt(this.options.jobId);
    if (next === null) return 1000;
    return Math.max(5, Math.min(1000, next - Date.now()));
  }

  private sleep(ms: number): Promise<void> {
    if (this.signalled || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value >= 10 || unit === 0 ? 0 : 1)}${units[unit]}`;
}
