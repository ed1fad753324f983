/**
 * Claiming: hands queued tasks whose backoff has passed to a worker, oldest first, and
 * opens their attempts. Runs inside a write transaction. On PostgreSQL/MySQL the candidate
 * rows are locked with FOR UPDATE SKIP LOCKED so concurrent claimers skip each other's
 * rows; on SQLite the transaction already holds the only write lock. The UPDATE re-checks
 * `state = 'queued'`, so a row is never claimed twice, and stamps a fresh lease token
 * (the fencing token every later write of this attempt must present).
 */
import { randomBytes } from 'node:crypto';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database, TaskTable } from '../schema.js';
import type { ClaimedAttempt, ClaimRequest } from '../store.js';
import { openAttempts } from './attempts.js';

export interface ClaimCandidate {
  id: number;
  cpu: number;
  memory: number;
}

/** What a worker asks for (see ClaimRequest in store.ts). */
export type ClaimOptions = ClaimRequest;

export async function claimTasks(
  trx: Kysely<Database>,
  dialect: Dialect,
  options: ClaimOptions,
  now: number,
): Promise<{ rows: Array<Selectable<TaskTable> & { attempt: ClaimedAttempt }>; leaseToken: string }> {
  let query = trx
    .selectFrom('tasks')
    .selectAll('tasks')
    .where('state', '=', 'queued')
    // `+not_before`: not an index column here, so the planner walks (job_id, state, id) in
    // id order and stops at the limit instead of sorting every queued task
    .where(sql<number>`+not_before`, '<=', now)
    .orderBy('id')
    .limit(Math.max(options.limit * 4, 16));
  if (options.jobId !== undefined) query = query.where('job_id', '=', options.jobId);
  if (options.pool !== undefined) query = query.where('pool', '=', options.pool);
  if (options.types !== undefined) query = query.where('type', 'in', options.types.length > 0 ? options.types : ['']);
  // `orrery drain`: nothing is claimed from a paused pool (or from any pool while '*' is paused)
  query = query.where(({ not, exists, selectFrom }) =>
    not(
      exists(
        selectFrom('pool_controls as pc')
          .select('pc.pool')
          .where('pc.paused', '=', 1)
          .where(({ eb, or, ref }) => or([eb('pc.pool', '=', ref('tasks.pool')), eb('pc.pool', '=', '*')])),
      ),
    ),
  );
  if (dialect.supportsSkipLocked) query = query.forUpdate().skipLocked();
  const candidates = await query.execute();

  const taken: Array<Selectable<TaskTable>> = [];
  for (const row of candidates) {
    if (taken.length >= options.limit) break;
    if (options.accept({ id: Number(row.id), cpu: Number(row.cpu), memory: Number(row.memory) })) taken.push(row);
  }
  const leaseToken = randomBytes(12).toString('hex');
  if (taken.length === 0) return { rows: [], leaseToken };

  const running = { state: 'running', lease_token: leaseToken, lease_expires_at: now + options.leaseMs, worker: options.worker, started_at: now };
  const ids = taken.map((row) => Number(row.id));
  await trx.updateTable('tasks').set(running).where('id', 'in', ids).where('state', '=', 'queued').execute();
  const attempts = await openAttempts(trx, dialect, ids, { leaseToken, worker: options.worker, host: options.host, scratchRoot: options.scratchRoot }, now);
  return { rows: taken.map((row, i) => ({ ...row, ...running, attempt: attempts[i] })), leaseToken };
}
