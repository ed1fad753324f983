/**
 * Live updates for every connected dashboard, from one poller: while anyone listens it looks
 * at the task database every `intervalMs` (the jobs table, the highest attempt id, and the
 * per-state counts of running jobs, which an index of the job's tasks by state answers
 * without reading a task row) and sends what changed. The cost is per tick, not per client.
 */
import type { TaskState } from '../core/types.js';
import type { Store } from '../store/store.js';

export interface JobChange {
  id: number;
  state: string;
  finishedAt: number | null;
  counts: Record<TaskState, number>;
  total: number;
}

export type FeedEvent = { kind: 'job'; job: JobChange } | { kind: 'attempts'; maxAttemptId: number };

export type Listener = (event: FeedEvent) => void;

export class LiveFeed {
  private readonly listeners = new Set<Listener>();
  private readonly last = new Map<number, string>();
  private maxAttemptId = -1;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly intervalMs = 500,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  /** Starts listening; returns the function that stops. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (!this.timer && !this.closed) this.timer = setInterval(() => void this.tick(), this.intervalMs);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  get size(): number {
    return this.listeners.size;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  /** One look at the database; exposed for tests. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const activity = await this.store.activity();
      for (const job of activity.jobs) {
        const known = this.last.get(job.id);
        // finished jobs change only through retry (which makes them running again) or cancel
        const settled = known !== undefined && job.state !== 'running' && known.startsWith(`${job.state}|${job.finishedAt}|`);
        if (settled) continue;
        const counts = await this.store.countTasks(job.id);
        const fingerprint = `${job.state}|${job.finishedAt}|${JSON.stringify(counts)}`;
        if (fingerprint === known) continue;
        this.last.set(job.id, fingerprint);
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        this.emit({ kind: 'job', job: { id: job.id, state: job.state, finishedAt: job.finishedAt, counts, total } });
      }
      if (activity.maxAttemptId !== this.maxAttemptId) {
        this.maxAttemptId = activity.maxAttemptId;
        this.emit({ kind: 'attempts', maxAttemptId: activity.maxAttemptId });
      }
    } catch (error) {
      this.onError(error as Error);
    } finally {
      this.ticking = false;
    }
  }

  private emit(event: FeedEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
