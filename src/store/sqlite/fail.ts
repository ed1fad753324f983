/**
 * A failed attempt on SQLite, as one write of the batch (write-batch.ts): the task is queued
 * again after its backoff, or fails for good with every task downstream of it that has not
 * started marked upstream_failed. Fenced by the lease token, and done only while the task's
 * attempt count is the one its claim read, from which the caller decided the outcome and the
 * backoff (sql/fail.ts, failureOutcome); otherwise nothing changes and the caller decides in a
 * transaction.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { FailureRecord } from '../sql/fail.js';

const FENCE = `WHERE id = :task AND lease_token = :token AND state = 'running'
  AND attempts = :attempts_before AND max_attempts = :max_attempts`;

const RETRY = `UPDATE tasks
SET state = 'queued', attempts = attempts + 1, error = :error, lease_token = NULL, lease_expires_at = NULL,
    worker = NULL, not_before = :not_before, queued_at = :now, finished_at = NULL
${FENCE}`;

const FAIL = `UPDATE tasks
SET state = 'failed', attempts = attempts + 1, error = :error, lease_token = NULL, lease_expires_at = NULL,
    worker = NULL, not_before = 0, queued_at = NULL, finished_at = :now
${FENCE}`;

const CLOSE_ATTEMPT = `UPDATE attempts
SET state = 'failed', finished_at = :now, exit_code = :exit_code, signal = :signal,
    wall_ms = :wall_ms, cpu_ms = :cpu_ms, peak_rss = :peak_rss, error = :error, result = NULL
WHERE id = :attempt AND state = 'running'`;

const MARK_DOWNSTREAM = `WITH RECURSIVE downstream (id) AS (
  SELECT task_id FROM task_deps WHERE depends_on = :task
  UNION
  SELECT d.task_id FROM task_deps d JOIN downstream ON d.depends_on = downstream.id
)
UPDATE tasks SET state = 'upstream_failed', finished_at = :now
WHERE id IN (SELECT id FROM downstream) AND state IN ('waiting', 'queued')`;

export function fail(database: BetterSqlite3.Database, failure: FailureRecord, now: number): 'retrying' | 'failed' | null {
  const { retrying, notBefore } = failure.outcome;
  const fence = { task: failure.taskId, token: failure.leaseToken, attempts_before: failure.attemptsBefore, max_attempts: failure.maxAttempts };
  const changed = retrying
    ? database.prepare(RETRY).run({ ...fence, error: failure.error, not_before: notBefore, now })
    : database.prepare(FAIL).run({ ...fence, error: failure.error, now });
  if (changed.changes !== 1) return null;
  database.prepare(CLOSE_ATTEMPT).run({
    now,
    exit_code: failure.exitCode,
    signal: failure.signal,
    wall_ms: failure.usage?.wallMs ?? null,
    cpu_ms: failure.usage?.cpuMs ?? null,
    peak_rss: failure.usage?.peakRss ?? null,
    error: failure.error,
    attempt: failure.attemptId,
  });
  if (!retrying) database.prepare(MARK_DOWNSTREAM).run({ task: failure.taskId, now });
  return retrying ? 'retrying' : 'failed';
}
