/**
 * The task database port. Engine, worker and CLI see only this interface; the SQL
 * behind it lives in ./sql and the per-database differences in ./<dialect>/.
 * Every call that changes a running task is fenced by its lease token: a worker whose
 * lease was lost (reaped, cancelled) changes nothing.
 */
import type { AttemptState, JobState, JsonObject, JsonValue, PlannedJob, PlannedTask, TaskState, TaskType } from '../core/types.js';
import type { FreeRoom } from '../core/fit.js';

export interface JobRecord {
  id: number;
  name: string;
  workdir: string;
  state: JobState;
  planHash: string;
  failFast: boolean;
  report: string | null;
  sourceFile: string | null;
  createdAt: number;
  finishedAt: number | null;
}

export interface TaskRecord {
  id: number;
  jobId: number;
  name: string;
  type: string;
  params: JsonObject;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  loop: JsonObject;
  source: string;
  state: TaskState;
  attempts: number;
  maxAttempts: number;
  cpu: number;
  memory: number;
  notBefore: number;
  worker: string | null;
  cacheKey: string | null;
  result: JsonObject | null;
  error: string | null;
  createdAt: number;
  queuedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface AttemptRecord {
  id: number;
  taskId: number;
  number: number;
  state: AttemptState;
  worker: string;
  host: string;
  pid: number | null;
  scratch: string | null;
  startedAt: number;
  finishedAt: number | null;
  exitCode: number | null;
  signal: string | null;
  wallMs: number | null;
  cpuMs: number | null;
  peakRss: number | null;
  error: string | null;
  result: JsonObject | null;
}

export interface FileVersion {
  sha256: string;
  size: number;
}

/** A task handed to a worker, with everything needed to run it. */
export interface ClaimedTask {
  task: TaskRecord;
  job: { id: number; name: string; workdir: string };
  type: TaskType;
  typeHash: string;
  leaseToken: string;
  /**
   * The attempt this claim opened: a claim is an attempt (its lease token fences every later
   * write). A cache hit or a control block deletes it again — nothing ran.
   */
  attempt: ClaimedAttempt;
  /** Semantic input name -> product path and its current version. */
  inputs: Record<string, FileVersion & { path: string }>;
  /** Results of the tasks this one depends on, by task name. */
  resultsOf: Record<string, JsonValue>;
  /** Cache keys of the tasks this one depends on, by task name (part of its own cache key). */
  upstreamKeys: Record<string, string>;
}

export interface ClaimedAttempt {
  id: number;
  number: number;
  /** The attempt's own scratch directory, named by task id and lease token. */
  scratch: string;
}

export interface CacheEntry {
  cacheKey: string;
  taskId: number;
  outputs: Record<string, FileVersion>;
  result: JsonObject | null;
}

export interface Usage {
  wallMs: number;
  cpuMs: number | null;
  peakRss: number | null;
}

export interface Success {
  cacheKey: string;
  outputs: Record<string, FileVersion>;
  result: JsonObject | null;
  exitCode: number;
  usage: Usage;
}

export interface Failure {
  error: string;
  exitCode: number | null;
  signal: string | null;
  usage: Usage | null;
  /** False for failures no retry can fix (a task needing more memory than exists). */
  retryable: boolean;
}

export interface LogLine {
  attemptId: number;
  seq: number;
  stream: 'stdout' | 'stderr' | 'orrery';
  at: number;
  line: string;
}

export interface ClaimRequest {
  worker: string;
  /** Recorded on the attempts the claim opens. */
  host: string;
  /** Each attempt's scratch directory is made under this one. */
  scratchRoot: string;
  limit: number;
  leaseMs: number;
  jobId?: number;
  /** Only tasks of this pool (default: every pool) and of these types (default: every type). */
  pool?: string;
  types?: string[];
  /**
   * The worker's free cores and memory: the claim takes, oldest first, the tasks that fit in
   * them (core/fit.ts), skipping those that do not. Without it every candidate is taken.
   */
  room?: FreeRoom;
}

export type TaskTarget = { jobId: number } | { taskId: number };

/** How soon a completion must be committed. */
export interface CompletionTiming {
  /**
   * Nothing but its dependents waits for this completion, and the worker could not start
   * them yet (its room is full): the database may hold the commit back briefly to share it
   * with the writes that follow (SQLite's write batch). Default: committed at once.
   */
  deferrable?: boolean;
}

export interface ProductRecord {
  path: string;
  producer: string | null;
  sha256: string;
  size: number;
  versions: number;
  createdAt: number;
}

export interface TaskFilter {
  state?: TaskState;
  type?: string;
  /** Part of the task's name (case-insensitive on SQLite and MySQL). */
  name?: string;
  /** The field path the task came from: the tasks of one loop body share it. */
  source?: string;
  /** Values of loop variables the task must have, e.g. { noise_index: 2 }. */
  loop?: Record<string, JsonValue>;
  limit?: number;
  offset?: number;
}

/** The tasks of a job that came from one place in its document (one loop body) and share a type. */
export interface TaskGroup {
  source: string;
  type: string;
  counts: Record<TaskState, number>;
  total: number;
  /** Names of the loop variables of the group's tasks (from its first task). */
  loopVariables: string[];
  firstTaskId: number;
}

export interface GroupEdge {
  from: { source: string; type: string };
  to: { source: string; type: string };
}

/** Just enough of a task to link to it and colour it. */
export interface TaskLink {
  id: number;
  name: string;
  type: string;
  state: TaskState;
  source: string;
}

/** An attempt with its task's name and type: one bar of a job's timeline. */
export interface JobAttempt {
  id: number;
  taskId: number;
  taskName: string;
  taskType: string;
  number: number;
  state: AttemptState;
  worker: string;
  host: string;
  startedAt: number;
  finishedAt: number | null;
}

/** A worker as the task database knows it: from the tasks it runs and its recent attempts. */
export interface WorkerSummary {
  worker: string;
  host: string;
  running: Array<{ taskId: number; taskName: string; jobId: number; startedAt: number }>;
  /** Among its recent attempts. */
  attempts: number;
  failed: number;
  lastSeen: number;
}

/** A current product with its producing attempt and QC verdict. */
export interface ProductDetail extends ProductRecord {
  producerTaskId: number | null;
  attemptId: number | null;
  /** null when no QC ran (external inputs, cached results) or the version has none. */
  qcPassed: boolean | null;
}

/** What changed since the last look: cheap to read, for live updates. */
export interface Activity {
  maxAttemptId: number;
  jobs: Array<{ id: number; state: JobState; finishedAt: number | null }>;
}

export interface LogQuery {
  /** Only lines after this sequence number (live follow). */
  afterSeq?: number;
  /** Only the last n lines. */
  tail?: number;
  limit?: number;
}

export interface Store {
  close(): Promise<void>;

  submitJob(plan: PlannedJob, options: SubmitOptions): Promise<JobRecord>;
  findResumableJob(name: string, planHash: string): Promise<JobRecord | undefined>;

  claim(request: ClaimRequest): Promise<ClaimedTask[]>;
  findCacheEntry(cacheKey: string): Promise<CacheEntry | undefined>;
  completeFromCache(claim: ClaimedTask, entry: CacheEntry, timing?: CompletionTiming): Promise<boolean>;
  recordProcess(attemptId: number, pid: number, pidStart: number | null): Promise<void>;
  appendLogs(lines: LogLine[]): Promise<void>;
  /** Records a success; tasks the code spawned join the job in the same transaction. */
  succeed(claim: ClaimedTask, success: Success, spawned?: Extension, timing?: CompletionTiming): Promise<boolean>;
  /** Completes a control task with its result and the tasks it adds to the job. */
  completeControl(claim: ClaimedTask, result: JsonObject, extension: Extension): Promise<boolean>;
  /** Every task type of a job, by name. */
  jobTypes(jobId: number): Promise<Record<string, TaskType>>;
  /** Returns what became of the task, or 'fenced' if the lease was no longer ours. */
  fail(claim: ClaimedTask, failure: Failure): Promise<'retrying' | 'failed' | 'fenced'>;
  /** Renews the leases of a worker's running tasks; returns the ids it no longer holds. */
  heartbeat(worker: string, held: Array<{ taskId: number; leaseToken: string }>, leaseMs: number): Promise<number[]>;
  /**
   * Puts a worker's running tasks back in the queue and records their attempts as lost
   * (not counted against retries). Used for a worker known dead and for expired leases.
   */
  requeueLost(where: { worker?: string; expiredBefore?: number; taskId?: number; leaseToken?: string }, reason: string): Promise<LostAttempt[]>;

  registerWorker(worker: WorkerInfo): Promise<void>;
  /** Records a worker's heartbeat; returns whether its pool is paused (`orrery drain`). */
  touchWorker(id: string, state: 'active' | 'draining', pool: string | null): Promise<{ paused: boolean }>;
  stopWorker(id: string, state: 'stopped' | 'lost'): Promise<void>;
  markSilentWorkersLost(before: number): Promise<void>;
  listRegisteredWorkers(): Promise<WorkerRecord[]>;
  /** Pauses or resumes claiming in a pool ('*' = every pool). */
  setPoolPaused(pool: string, paused: boolean): Promise<void>;
  /** Jobs still running, for the server's settling pass. */
  runningJobIds(): Promise<number[]>;
  /** Earliest time a queued task matching the filter becomes claimable (backoff), if any. */
  nextClaimable(filter: { jobId?: number; pool?: string; types?: string[] }): Promise<number | null>;

  cancel(target: TaskTarget): Promise<number>;
  retry(target: TaskTarget): Promise<number>;
  /** Marks the job finished when no task can still run; returns its state. */
  settleJob(jobId: number): Promise<JobState>;
  /** Earliest time a queued task of the job becomes claimable, if any waits for backoff. */
  nextClaimableAt(jobId: number): Promise<number | null>;

  listJobs(): Promise<JobRecord[]>;
  getJob(ref: string | number): Promise<JobRecord>;
  countTasks(jobId: number): Promise<Record<TaskState, number>>;
  countTasksByType(jobId: number): Promise<Record<string, Record<TaskState, number>>>;
  listTasks(jobId: number, filter?: TaskFilter): Promise<TaskRecord[]>;
  getTask(ref: string): Promise<TaskRecord>;
  getTaskById(id: number): Promise<TaskRecord>;
  dependencies(taskId: number): Promise<{ upstream: string[]; downstream: string[] }>;
  listAttempts(taskId: number): Promise<AttemptRecord[]>;
  readLogs(attemptId: number): Promise<LogLine[]>;
  listProducts(jobId: number): Promise<ProductRecord[]>;

  // what the dashboard and the HTTP API read (src/store/sql/overview.ts)
  countMatchingTasks(jobId: number, filter?: TaskFilter): Promise<number>;
  taskGroups(jobId: number): Promise<TaskGroup[]>;
  groupEdges(jobId: number): Promise<GroupEdge[]>;
  /** Tasks directly upstream and downstream of a task, at most `limit` each, with the totals. */
  linkedTasks(taskId: number, limit: number): Promise<{ upstream: TaskLink[]; downstream: TaskLink[]; upstreamTotal: number; downstreamTotal: number }>;
  /** Edges touching any of these tasks, with both ends. */
  edgesOf(taskIds: number[]): Promise<Array<{ from: TaskLink; to: TaskLink }>>;
  /** The job's latest attempts, newest first. */
  jobAttempts(jobId: number, limit: number): Promise<JobAttempt[]>;
  listWorkers(): Promise<WorkerSummary[]>;
  readLogPage(attemptId: number, query: LogQuery): Promise<LogLine[]>;
  productDetails(jobId: number, paths?: string[]): Promise<ProductDetail[]>;
  activity(): Promise<Activity>;
  /** Tasks per state over all jobs, and attempts per state (for /metrics). */
  totals(): Promise<{ tasks: Record<TaskState, number>; attempts: Record<string, number> }>;
}

/** Tasks to add to a running job (see sql/extend.ts). */
export interface Extension {
  groups: Array<{
    /** A group whose key names an existing task is skipped (an explored point). */
    key: string | null;
    fragment: {
      tasks: PlannedTask[];
      edges: Array<[number, number]>;
      unresolvedAfter: string[][];
    };
  }>;
  /** At most `max` tasks named `prefix…` (keys of groups) in the job. */
  budget: { prefix: string; max: number } | null;
}

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  pool: string | null;
  types: string[] | null;
  concurrency: number;
}

export interface WorkerRecord extends WorkerInfo {
  state: 'active' | 'draining' | 'stopped' | 'lost';
  startedAt: number;
  lastHeartbeat: number;
  stoppedAt: number | null;
  tasks: Array<{ id: number; name: string; jobId: number }>;
}

export interface SubmitOptions {
  planHash: string;
  failFast: boolean;
  sourceFile: string | null;
  /** Versions of the external inputs, already in the file repository. */
  externalVersions: Record<string, FileVersion>;
  typeHashes: Record<string, string>;
}

export interface LostAttempt {
  taskId: number;
  attemptId: number | null;
  pid: number | null;
  pidStart: number | null;
  host: string | null;
  scratch: string | null;
}
