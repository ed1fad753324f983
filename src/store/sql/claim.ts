/**
 * Claiming: hands queued tasks whose backoff has passed to a worker, oldest first.
 * Runs inside a write transaction. On PostgreSQL/MySQL the candidate rows are locked
 * with FOR UPDATE SKIP LOCKED so concurrent claimers skip each other's rows; on SQLite
 * the transaction already holds the only write lock. The UPDATE re-checks
 * `state = 'queued'`, so a row is never claimed twice, and stamps a fresh lease token
 * (the fencing token every later write of this attempt must present).
 */
import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';
import type { ClaimRequest } from '../store.js';

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
): Promise<{ ids: number[]; leaseToken: string }> {
  let query = trx
    .selectFrom('tasks')
    .select(['id', 'cpu', 'memory'])
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

  const ids: number[] = [];
  for (const row of candidates) {
    if (ids.length >= options.limit) break;
    const candidate = { id: Number(row.id), cpu: Number(row.cpu), memory: Number(row.memory) };
    if (options.accept(candidate)) ids.push(candidate.id);
  }
  const leaseToken = randomBytes(12).toString('hex');
  if (ids.length === 0) return { ids, leaseToken };

  await trx
    .updateTable('tasks')
    .set({
      state: 'running',
      lease_token: leaseToken,
      lease_expires_at: now + options.leaseMs,
      worker: options.worker,
      started_at: now,
    })
    .where('id', 'in', ids)
    .where('state', '=', 'queued')
    .execute();
  return { ids, leaseToken };
}
