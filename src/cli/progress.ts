/**
 * What `orrery run` shows while it works. On a terminal: a panel redrawn in place with
 * counts per state, a progress bar per task type and the current failures. Otherwise
 * (a log file, CI): one plain line per event.
 */
import type { TaskState } from '../core/types.js';
import type { JobRecord, Store } from '../store/store.js';
import type { PoolEvent } from '../worker/worker-pool.js';
import { countsLine, errorSummary, seconds } from './format.js';

const DONE: TaskState[] = ['succeeded', 'cached'];
const BAD: TaskState[] = ['failed', 'upstream_failed', 'cancelled'];

export interface Progress {
  event(event: PoolEvent): void;
  stop(): Promise<void>;
}

export function createProgress(store: Store, job: JobRecord, out: NodeJS.WriteStream, quiet: boolean): Progress {
  if (quiet) return { event: () => {}, stop: async () => {} };
  return out.isTTY ? new TerminalProgress(store, job, out) : new LineProgress(out);
}

class LineProgress implements Progress {
  constructor(private readonly out: NodeJS.WritableStream) {}

  event(event: PoolEvent): void {
    const line = describeEvent(event);
    if (line) this.out.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  }

  async stop(): Promise<void> {}
}

/** One line for a pool event, or null for events a person need not see. */
export function describeEvent(event: PoolEvent): string | null {
  if (event.kind === 'database') return event.message;
  if (event.kind === 'started') return `started   ${event.task.name} (attempt ${event.attempt})`;
  const r = event.result;
  if (r.outcome === 'fenced') return null;
  const detail = 'error' in r ? `: ${errorSummary(r.error)}` : r.outcome === 'succeeded' ? ` (${seconds(r.wallMs)})` : '';
  return `${r.outcome.padEnd(9)} ${event.task.name}${detail}`;
}

class TerminalProgress implements Progress {
  private lines = 0;
  private timer: NodeJS.Timeout;
  private drawing: Promise<void> = Promise.resolve();
  private readonly failures: string[] = [];

  constructor(
    private readonly store: Store,
    private readonly job: JobRecord,
    private readonly out: NodeJS.WriteStream,
  ) {
    this.timer = setInterval(() => this.redraw(), 250);
    this.redraw();
  }

  event(event: PoolEvent): void {
    if (event.kind === 'database') this.failures.push(describeEvent(event)!);
    else if (event.kind === 'finished' && (event.result.outcome === 'failed' || event.result.outcome === 'retrying')) {
      this.failures.push(`${event.result.outcome === 'failed' ? 'failed  ' : 'retrying'} ${event.task.name}: ${errorSummary(event.result.error)}`);
    }
    if (this.failures.length > 5) this.failures.shift();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.redraw();
    await this.drawing;
  }

  private redraw(): void {
    this.drawing = this.drawing.then(() => this.draw()).catch(() => {});
  }

  private async draw(): Promise<void> {
    const counts = await this.store.countTasks(this.job.id);
    const byType = await this.store.countTasksByType(this.job.id);
    const width = Math.max(10, ...Object.keys(byType).map((t) => t.length));
    const rows = [`job ${this.job.id} ${this.job.name}: ${countsLine(counts)}`];
    for (const [type, c] of Object.entries(byType)) {
      const total = Object.values(c).reduce((a, b) => a + b, 0);
      const done = DONE.reduce((a, s) => a + c[s], 0);
      const bad = BAD.reduce((a, s) => a + c[s], 0);
      rows.push(`  ${type.padEnd(width)} ${bar(done, bad, total, 30)} ${done}/${total}${c.running ? `  ${c.running} running` : ''}${bad ? `  ${bad} not done` : ''}`);
    }
    for (const failure of this.failures) rows.push(`  ${failure}`);
    const columns = this.out.columns || 100;
    const text = rows.map((r) => (r.length > columns - 1 ? r.slice(0, columns - 2) + '…' : r));
    const up = this.lines > 0 ? `\x1b[${this.lines}A` : '';
    this.out.write(`${up}\r\x1b[J${text.join('\n')}\n`);
    this.lines = text.length;
  }
}

function bar(done: number, bad: number, total: number, width: number): string {
  if (total === 0) return `[${' '.repeat(width)}]`;
  const d = Math.round((done / total) * width);
  const b = Math.min(width - d, Math.round((bad / total) * width));
  return `[${'#'.repeat(d)}${'x'.repeat(b)}${'.'.repeat(width - d - b)}]`;
}
