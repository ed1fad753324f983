/**
 * What the reading and control commands (status, tasks, show, logs, files, retry, cancel,
 * workers) ask of Orrery. Two implementations: over the task database itself
 * (./store-inspector.ts) and over the HTTP API of `orrery server` / `orrery ui`
 * (./http-inspector.ts, with `--server URL`). The commands see only this port, so both give
 * the same output.
 *
 * References are as typed on the command line: a job by id or name (the latest of that name),
 * a task by id or as JOB/TASK.
 */
import type { AttemptState, JobState, TaskState } from '../core/types.js';
import type { AttemptRecord, JobRecord, LogLine, ProductRecord, TaskRecord, WorkerRecord } from '../store/store.js';
import { type GlobalOptions, withStore } from './context.js';
import { HttpInspector } from './http-inspector.js';
import { StoreInspector } from './store-inspector.js';

export type JobSummary = Pick<JobRecord, 'id' | 'name' | 'state' | 'workdir' | 'createdAt' | 'finishedAt'> & {
  counts: Record<TaskState, number>;
};

export interface JobDetail extends JobSummary {
  /** Counts per task type. */
  types: Record<string, Record<TaskState, number>>;
  /** The first failed tasks (at most 10), in id order, with their whole error. */
  failures: Array<{ id: number; name: string; error: string | null }>;
}

export interface TaskView {
  task: TaskRecord;
  job: { id: number; name: string };
  attempts: AttemptRecord[];
  /** Names of every task directly upstream and downstream. */
  upstream: string[];
  downstream: string[];
}

export interface LogView {
  task: { id: number; name: string };
  attempt: { number: number; state: AttemptState };
  /** For a cached task: the task whose attempt made the reused result (the log is its). */
  origin: { id: number; name: string; jobId: number } | null;
  lines: LogLine[];
}

export interface ControlOutcome {
  jobId: number;
  /** "job 3 (transit)" or "task search_0 and its downstream". */
  target: string;
  /** Tasks queued again (retry) or cancelled (cancel). */
  count: number;
}

export interface Inspector {
  /** Every job, oldest first, with its counts. */
  jobs(): Promise<JobSummary[]>;
  job(ref: string): Promise<JobDetail>;
  /** Every task of the job matching the filter, in id order. */
  tasks(jobRef: string, filter: { state?: TaskState; type?: string }): Promise<TaskRecord[]>;
  task(ref: string): Promise<TaskView>;
  /** The lines of an attempt (default: the latest); NotFoundError when there is none. */
  logs(taskRef: string, attempt?: number): Promise<LogView>;
  /** The job's current products. */
  products(jobRef: string): Promise<{ job: { id: number; name: string; workdir: string }; products: ProductRecord[] }>;
  /** Queues failed, upstream-failed and cancelled tasks again: a job's, or a task and its downstream. */
  retry(ref: string): Promise<ControlOutcome & { hint: string | null }>;
  cancel(ref: string): Promise<ControlOutcome & { state: JobState }>;
  /** Registered workers (distributed mode), including stopped and lost ones. */
  workers(): Promise<WorkerRecord[]>;
}

export interface RemoteOptions extends GlobalOptions {
  /** The URL of an Orrery server's HTTP API (--server, ORRERY_SERVER). */
  server?: string;
  token?: string;
}

/** Runs `fn` with the HTTP API when --server names one, else over the task database. */
export function withInspector<T>(options: RemoteOptions, fn: (inspector: Inspector) => Promise<T>): Promise<T> {
  if (options.server) return fn(new HttpInspector(options.server, options.token));
  return withStore(options, (store) => fn(new StoreInspector(store)));
}
