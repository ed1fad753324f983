/**
 * Failure of an attempt, fenced by the lease token: the task is queued again after an
 * exponential backoff with jitter while it has retries left, otherwise it fails for good
 * and every task downstream of it becomes upstream_failed (never runs).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { Usage } from '../store.js';
import { downstreamOf, forChunks } from './downstream.js';

const MAX_BACKOFF_MS = 10 * 60_000;

/** Delay before retry n (1-based): base·2^(n-1), capped, with "equal jitter" (half fixed, half random). */
export function retryDelay(baseMs: number, retryNumber: number, random = Math.random): number {
  const full = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** (retryNumber - 1));
  return Math.round(full / 2 + random() * (full / 2));
}

/** What a failure makes of a task that had `attemptsBefore` counted attempts. */
export function failureOutcome(
  task: { attemptsBefore: number; maxAttempts: number; backoffMs: number },
  retryable: boolean,
  now: number,
): { attempts: number; retrying: boolean; notBefore: number } {
  const attempts = task.attemptsBefore + 1;
  const retrying = retryable && attempts < task.maxAttempts;
  return { attempts, retrying, notBefore: retrying ? now + retryDelay(task.backoffMs, attempts) : 0 };
}

/**
 * A failed attempt as the single-statement form records it (Dialect.taskStatements): the
 * outcome is decided from the attempt count the claim read, and the statement changes the
 * task only while that count still holds.
 */
export interface FailureRecord {
  taskId: number;
  leaseToken: string;
  attemptId: number;
  attemptsBefore: number;
  maxAttempts: number;
  outcome: ReturnType<typeof failureOutcome>;
  error: string;
  exitCode: number | null;
  signal: string | null;
  usage: Usage | null;
}

export async function failTask(
  trx: Kysely<Database>,
  task: { id: number; leaseToken: string; backoffMs: number },
  failure: { error: string; retryable: boolean },
  now: number,
): Promise<'retrying' | 'failed' | 'fenced'> {
  const row = await trx
    .selectFrom('tasks')
    .select(['attempts', 'max_attempts'])
    .where('id', '=', task.id)
    .where('lease_token', '=', task.leaseToken)
    .where('state', '=', 'running')
    .executeTakeFirst();
  if (!row) return 'fenced';
  const { attempts, retrying, notBefore } = failureOutcome(
    { attemptsBefore: Number(row.attempts), maxAttempts: Number(row.max_attempts), backoffMs: task.backoffMs },
    failure.retryable,
    now,
  );
  await trx
    .updateTable('tasks')
    .set({
      state: retrying ? 'queued' : 'failed',
      attempts,
      error: failure.error,
      lease_token: null,
      lease_expires_at: null,
      worker: null,
      not_before: notBefore,
      queued_at: retrying ? now : null,
      finished_at: retrying ? null : now,
    })
    .where('id', '=', task.id)
    .execute();
  if (!retrying) await markDownstream(trx, task.id, 'upstream_failed', now);
  return retrying ? 'retrying' : 'failed';
}

/** Marks every task downstream of taskId that has not started yet. */
export async function markDownstream(
  trx: Kysely<Database>,
  taskId: number,
  state: 'upstream_failed' | 'cancelled',
  now: number,
): Promise<void> {
  await forChunks(await downstreamOf(trx, [taskId]), (ids) =>
    trx
      .updateTable('tasks')
      .set({ state, finished_at: now })
      .where('id', 'in', ids)
      .where('state', 'in', ['waiting', 'queued'])
      .execute(),
  );
}
