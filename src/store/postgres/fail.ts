/**
 * A failed attempt on PostgreSQL, in one statement: the task is queued again after its
 * backoff (retrying: workers are told) or fails for good, with every task downstream of it
 * that has not started marked upstream_failed (found by a recursive query, changed by primary
 * key). Fenced by the lease token, and done only while the task's attempt count is the one
 * its claim read, from which the caller decided the outcome and the backoff (sql/fail.ts,
 * failureOutcome); otherwise nothing changes and the caller decides in a transaction.
 *
 * Parameters: the task (:task, :token, :attempts_before, :max_attempts), :now, :error, the
 * attempt (:attempt, :exit_code, :signal, :wall_ms, :cpu_ms, :peak_rss); retrying also :not_before.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { FailureRecord } from '../sql/fail.js';
import { NOTIFY_QUEUED } from './notify.js';
import { statement } from './statement.js';

const FENCE = `WHERE id = :task::integer AND lease_token = :token::text AND state = 'running'
    AND attempts = :attempts_before::integer AND max_attempts = :max_attempts::integer
  RETURNING id`;

const CLOSE_ATTEMPT = `closed AS (
  UPDATE attempts
  SET state = 'failed', finished_at = :now, exit_code = :exit_code::integer, signal = :signal::text,
      wall_ms = :wall_ms::bigint, cpu_ms = :cpu_ms::bigint, peak_rss = :peak_rss::bigint, error = :error, result = NULL
  WHERE id = :attempt::integer AND state = 'running' AND EXISTS (SELECT 1 FROM failed)
)`;

const RETRY = statement<string>(
  'fail_retry',
  `WITH failed AS (
  UPDATE tasks
  SET state = 'queued', attempts = attempts + 1, error = :error::text, lease_token = NULL, lease_expires_at = NULL,
      worker = NULL, not_before = :not_before::bigint, queued_at = :now::bigint, finished_at = NULL
  ${FENCE}
),
${CLOSE_ATTEMPT}
SELECT EXISTS (SELECT 1 FROM failed) AS done,
       CASE WHEN EXISTS (SELECT 1 FROM failed) THEN ${NOTIFY_QUEUED} END AS notified`,
);

const FAIL = statement<string>(
  'fail',
  `WITH RECURSIVE failed AS (
  UPDATE tasks
  SET state = 'failed', attempts = attempts + 1, error = :error::text, lease_token = NULL, lease_expires_at = NULL,
      worker = NULL, not_before = 0, queued_at = NULL, finished_at = :now::bigint
  ${FENCE}
),
${CLOSE_ATTEMPT},
downstream (id) AS (
  SELECT d.task_id FROM task_deps d WHERE d.depends_on = :task AND EXISTS (SELECT 1 FROM failed)
  UNION
  SELECT d.task_id FROM task_deps d JOIN downstream ON d.depends_on = downstream.id
),
marked AS (
  UPDATE tasks SET state = 'upstream_failed', finished_at = :now
  WHERE id = ANY (ARRAY(SELECT id FROM downstream)) AND state IN ('waiting', 'queued')
)
SELECT EXISTS (SELECT 1 FROM failed) AS done`,
);

export async function fail(db: Kysely<Database>, failure: FailureRecord, now: number): Promise<'retrying' | 'failed' | null> {
  const { retrying, notBefore } = failure.outcome;
  const params: Record<string, unknown> = {
    task: failure.taskId,
    token: failure.leaseToken,
    attempts_before: failure.attemptsBefore,
    max_attempts: failure.maxAttempts,
    now,
    error: failure.error,
    attempt: failure.attemptId,
    exit_code: failure.exitCode,
    signal: failure.signal,
    wall_ms: failure.usage?.wallMs ?? null,
    cpu_ms: failure.usage?.cpuMs ?? null,
    peak_rss: failure.usage?.peakRss ?? null,
  };
  if (retrying) params.not_before = notBefore;
  const [row] = await (retrying ? RETRY : FAIL).run<{ done: boolean }>(db, params);
  if (!row.done) return null;
  return retrying ? 'retrying' : 'failed';
}
