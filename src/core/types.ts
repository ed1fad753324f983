/**
 * Orrery's domain types.
 *
 * Glossary
 * - job:       one submitted pipeline document and everything it expands into.
 * - task:      one node of a job: run task type T with these params on these inputs.
 * - task type: a named science code: command, resources, timeout, retries, QC.
 * - attempt:   one execution of a task; a task has 1..max_attempts counted attempts
 *              (attempts `lost` with their worker are recorded but not counted).
 * - lease:     an attempt's claim on a worker: expiry renewed by heartbeats and a
 *              fencing token; complete/fail/heartbeat act only with the current token.
 * - product:   a named file a task produces inside the job's working directory,
 *              addressed by its path relative to that directory ("evs_3.lc").
 * - product version: the bytes one attempt produced for a product (sha256, size, QC).
 * - cache key: hash of the task type definition, resolved params, output paths and
 *              the content hashes of the inputs.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A task type as declared in orrery.yaml or a job's inline `types:`, with defaults applied. */
export interface TaskType {
  name: string;
  /** Shell command; may hold {params.x} {inputs.x} {outputs.x} placeholders. */
  command: string;
  /** Cores the task needs; the local pool never runs more than the machine has. */
  cpu: number;
  /** Bytes of memory the task needs. */
  memory: number;
  /** Milliseconds before the process tree is killed; null = no limit. */
  timeoutMs: number | null;
  /** Retries after the first attempt for failures of the code. */
  retries: number;
  /** Base of the exponential retry backoff, in milliseconds. */
  backoffMs: number;
  /** Optional QC command run after success; non-zero exit = outputs fail QC. */
  qc: string | null;
  /** Extra environment variables for the command. */
  env: Record<string, string>;
  /** Pool and image, recorded for distributed and Kubernetes modes. */
  pool: string | null;
  image: string | null;
}

/** One concrete task after loops are expanded and expressions evaluated. */
export interface PlannedTask {
  /** Unique within the job. */
  name: string;
  type: string;
  params: JsonObject;
  /** Semantic input name -> product path (relative to the job's workdir). */
  inputs: Record<string, string>;
  /** Semantic output name -> product path (relative to the job's workdir). */
  outputs: Record<string, string>;
  /** Names of tasks this one must wait for besides its producers. */
  after: string[];
  /** Values of the enclosing loop variables, e.g. { nsr: 14.6, nsr_index: 0 }. */
  loop: JsonObject;
  /** Field path in the job document this task came from, e.g. "tasks[0].tasks[1]". */
  source: string;
}

export interface PlannedJob {
  name: string;
  workdir: string;
  /** Product printed by `orrery run` when the job ends (e.g. a summary table). */
  report: string | null;
  types: Record<string, TaskType>;
  tasks: PlannedTask[];
  /** [upstream index, downstream index] pairs into `tasks`, without duplicates. */
  edges: Array<[number, number]>;
  /** Product path -> file on the submitting machine, imported at submission. */
  externalInputs: Record<string, string>;
}

/** States of a task. Transitions live in core/states.ts. */
export const TaskState = {
  waiting: 'waiting',
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  cached: 'cached',
  upstreamFailed: 'upstream_failed',
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

export const JobState = {
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

export const AttemptState = {
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  /** The worker went away (killed, node lost); not a failure of the code. */
  lost: 'lost',
  cancelled: 'cancelled',
} as const;
export type AttemptState = (typeof AttemptState)[keyof typeof AttemptState];
