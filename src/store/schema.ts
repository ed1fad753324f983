/**
 * The task database's tables as Kysely sees them. Times are epoch milliseconds;
 * JSON columns hold text. Migrations in ./migrations create exactly this.
 */
import type { Generated } from 'kysely';

export interface Database {
  orrery_meta: { key: string; value: string };
  jobs: JobTable;
  job_types: JobTypeTable;
  tasks: TaskTable;
  task_deps: TaskDepTable;
  attempts: AttemptTable;
  attempt_logs: AttemptLogTable;
  products: ProductTable;
  product_versions: ProductVersionTable;
  cache_entries: CacheEntryTable;
  workers: WorkerTable;
  pool_controls: PoolControlTable;
}

export interface JobTable {
  id: Generated<number>;
  name: string;
  workdir: string;
  state: string;
  /** Hash of the planned job: the same document submitted again resumes this job. */
  plan_hash: string;
  fail_fast: number;
  report: string | null;
  source_file: string | null;
  created_at: number;
  finished_at: number | null;
}

export interface JobTypeTable {
  job_id: number;
  name: string;
  /** TaskType as JSON. */
  definition: string;
  /** Hash of what changes a type's results (command, qc, env, image). */
  definition_hash: string;
}

export interface TaskTable {
  id: Generated<number>;
  job_id: number;
  name: string;
  type: string;
  params: string;
  inputs: string;
  outputs: string;
  loop: string;
  source: string;
  state: string;
  /** Upstream tasks not yet succeeded or cached; the task is queued when this reaches 0. */
  pending: number;
  /** Attempts counted against retries (lost attempts are not). */
  attempts: number;
  max_attempts: number;
  cpu: number;
  memory: number;
  /** The pool whose workers may run it: its type's pool, or 'default'. */
  pool: string;
  /** Earliest time a queued task may be claimed (retry backoff). */
  not_before: number;
  lease_token: string | null;
  lease_expires_at: number | null;
  worker: string | null;
  cache_key: string | null;
  result: string | null;
  error: string | null;
  created_at: number;
  queued_at: number | null;
  started_at: number | null;
  finished_at: number | null;
}

export interface TaskDepTable {
  task_id: number;
  depends_on: number;
}

export interface AttemptTable {
  id: Generated<number>;
  task_id: number;
  number: number;
  state: string;
  lease_token: string;
  worker: string;
  host: string;
  pid: number | null;
  /** Process start time (clock ticks since boot) so a reaper can tell a reused pid. */
  pid_start: number | null;
  scratch: string | null;
  started_at: number;
  finished_at: number | null;
  exit_code: number | null;
  signal: string | null;
  wall_ms: number | null;
  cpu_ms: number | null;
  peak_rss: number | null;
  error: string | null;
  result: string | null;
}

export interface AttemptLogTable {
  attempt_id: number;
  seq: number;
  stream: string;
  at: number;
  line: string;
}

export interface ProductTable {
  id: Generated<number>;
  job_id: number;
  path: string;
  /** Null for external inputs. */
  producer_task_id: number | null;
  current_version_id: number | null;
}

export interface ProductVersionTable {
  id: Generated<number>;
  product_id: number;
  /** Null for external inputs and versions reused from the cache. */
  attempt_id: number | null;
  sha256: string;
  size: number;
  qc_passed: number | null;
  created_at: number;
}

export interface CacheEntryTable {
  cache_key: string;
  task_id: number;
  /** {productPath: {sha256, size}} */
  outputs: string;
  result: string | null;
  created_at: number;
}

/** A worker process of distributed mode, as it last reported itself. */
export interface WorkerTable {
  id: string;
  host: string;
  pid: number;
  /** Pool it serves; null = every pool. */
  pool: string | null;
  /** JSON list of task types it runs; null = every type. */
  types: string | null;
  concurrency: number;
  /** active | draining | stopped | lost */
  state: string;
  started_at: number;
  last_heartbeat: number;
  stopped_at: number | null;
}

/** `orrery drain` / `orrery resume`: whether a pool's workers may claim. '*' = every pool. */
export interface PoolControlTable {
  pool: string;
  paused: number;
  updated_at: number;
}
