/** Turns database rows (JSON as text, flags as integers) into the records of store.ts. */
import type { Selectable } from 'kysely';
import type { AttemptState, JobState, JsonObject, PlannedTask, TaskState, TaskType } from '../../core/types.js';
import type { AttemptTable, JobTable, TaskTable } from '../schema.js';
import type { AttemptRecord, JobRecord, TaskRecord } from '../store.js';

export function toJobRecord(row: Selectable<JobTable>): JobRecord {
  return {
    id: Number(row.id),
    name: row.name,
    workdir: row.workdir,
    state: row.state as JobState,
    planHash: row.plan_hash,
    failFast: Boolean(row.fail_fast),
    report: row.report,
    sourceFile: row.source_file,
    createdAt: Number(row.created_at),
    finishedAt: nullableNumber(row.finished_at),
  };
}

export function toTaskRecord(row: Selectable<TaskTable>): TaskRecord {
  return {
    id: Number(row.id),
    jobId: Number(row.job_id),
    name: row.name,
    type: row.type,
    params: JSON.parse(row.params),
    inputs: JSON.parse(row.inputs),
    outputs: JSON.parse(row.outputs),
    loop: JSON.parse(row.loop),
    source: row.source,
    state: row.state as TaskState,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    cpu: Number(row.cpu),
    memory: Number(row.memory),
    notBefore: Number(row.not_before),
    worker: row.worker,
    cacheKey: row.cache_key,
    result: parseJson(row.result),
    error: row.error,
    createdAt: Number(row.created_at),
    queuedAt: nullableNumber(row.queued_at),
    startedAt: nullableNumber(row.started_at),
    finishedAt: nullableNumber(row.finished_at),
  };
}

export function toAttemptRecord(row: Selectable<AttemptTable>): AttemptRecord {
  return {
    id: Number(row.id),
    taskId: Number(row.task_id),
    number: Number(row.number),
    state: row.state as AttemptState,
    worker: row.worker,
    host: row.host,
    pid: nullableNumber(row.pid),
    scratch: row.scratch,
    startedAt: Number(row.started_at),
    finishedAt: nullableNumber(row.finished_at),
    exitCode: nullableNumber(row.exit_code),
    signal: row.signal,
    wallMs: nullableNumber(row.wall_ms),
    cpuMs: nullableNumber(row.cpu_ms),
    peakRss: nullableNumber(row.peak_rss),
    error: row.error,
    result: parseJson(row.result),
  };
}

export function parseJson(text: string | null): JsonObject | null {
  return text === null ? null : (JSON.parse(text) as JsonObject);
}

export function nullableNumber(value: number | bigint | string | null): number | null {
  return value === null ? null : Number(value);
}

/** The row of a new task: its definition, and the resources and retries of its type. */
export function taskRow(
  jobId: number,
  task: PlannedTask,
  type: Pick<TaskType, 'retries' | 'cpu' | 'memory' | 'pool'>,
  start: { state: 'queued' | 'waiting'; pending: number },
  now: number,
) {
  return {
    job_id: jobId,
    name: task.name,
    type: task.type,
    params: JSON.stringify(task.params),
    inputs: JSON.stringify(task.inputs),
    outputs: JSON.stringify(task.outputs),
    loop: JSON.stringify(task.loop),
    source: task.source,
    state: start.state,
    pending: start.pending,
    attempts: 0,
    max_attempts: type.retries + 1,
    cpu: type.cpu,
    memory: type.memory,
    pool: type.pool ?? 'default',
    not_before: 0,
    created_at: now,
    queued_at: start.state === 'queued' ? now : null,
  };
}

/** Splits rows for multi-row statements so no statement exceeds the parameter limit. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
