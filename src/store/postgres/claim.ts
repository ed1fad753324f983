/**
 * Claiming on PostgreSQL in one statement: lock the oldest claimable tasks with
 * FOR UPDATE SKIP LOCKED (concurrent claimers skip each other's rows), mark them running
 * under a fresh lease token, open their attempts, and return each with the results of its
 * upstream tasks and the current versions of its inputs. One round trip, no BEGIN/COMMIT.
 * Claims with one filter that a process makes while another of its claims runs go together as
 * one (batch.ts): each keeps a lease token of its own and gets the tasks of its slots. A claim
 * with a room (a worker's free cores and memory) fits its candidates into it in the same
 * statement, and goes alone.
 *
 * Parameters: :now, the lease of each slot (:tokens, :expires: slot n is the n-th task
 * locked, in id order, and belongs to the claim whose token it carries), :worker, the
 * attempts' :host and :scratch prefix (sql/attempts.ts, scratchPrefix), the filters :job,
 * :pool, :types when the claims have them, :limit (the number of slots) when it is not
 * written into the text, and for a room :slots, :free_cpu, :free_memory, :capacity_cpu and
 * :capacity_memory. Invariants, as in sql/claim.ts: only `queued` tasks whose backoff
 * has passed, none from a paused pool (or while '*' is paused), each claimed once (the
 * UPDATE re-checks the state), attempts numbered after every earlier one, lost ones included.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { scratchPrefix } from '../sql/attempts.js';
import { CPU_EPSILON } from '../../core/fit.js';
import { type ClaimedRow, type ClaimFilter, candidatesToLock, type LeaseGrant } from '../sql/claim.js';
import type { ClaimedTask, FileVersion } from '../store.js';
import { Batcher, Batchers } from './batch.js';
import { retry } from './retry.js';
import { type Statement, statement } from './statement.js';

type ClaimParam = 'now' | 'tokens' | 'expires' | 'worker' | 'host' | 'scratch';

/**
 * From `picked` (id and ctid of rows this statement has locked) to the claimed rows: the
 * n-th in id order gets the lease of slot n.
 *
 * By ctid (a TID scan, whatever the planner thinks of `picked`), and so only if the version
 * of the row this statement's snapshot reads is the one that was locked. A task claimed and
 * handed back (lost, re-queued) after the snapshot was taken is locked in its newest version
 * but seen in its old one; the attempts opened in between are not in the snapshot, so the
 * number given to the new attempt could repeat one. Such a task is left to the next claim (its
 * slot stays empty).
 */
const CLAIMED = `
slots AS (
  SELECT ctid, row_number() OVER (ORDER BY id) AS slot FROM picked
),
claimed AS (
  UPDATE tasks t
  SET state = 'running', lease_token = (:tokens::text[])[s.slot], lease_expires_at = (:expires::bigint[])[s.slot],
      worker = :worker::text, started_at = :now::bigint
  FROM slots s
  WHERE t.ctid = s.ctid AND t.state = 'queued'
  RETURNING t.*
),
opened AS (
  INSERT INTO attempts (task_id, number, state, lease_token, worker, host, pid, pid_start, scratch, started_at)
  SELECT c.id, coalesce((SELECT max(a.number) FROM attempts a WHERE a.task_id = c.id), 0) + 1, 'running',
         c.lease_token, :worker, :host::text, NULL, NULL, :scratch::text || c.id || '-' || c.lease_token, :now
  FROM claimed c
  RETURNING id, task_id, number, scratch
)
SELECT c.*, o.id AS attempt_id, o.number AS attempt_number, o.scratch AS attempt_scratch,
  (SELECT json_agg(json_build_array(u.name, u.result, u.cache_key))
     FROM task_deps d JOIN tasks u ON u.id = d.depends_on
    WHERE d.task_id = c.id) AS upstream,
  -- (a task without inputs, '{}', skips the lookup)
  CASE WHEN c.inputs <> '{}' THEN
    (SELECT json_agg(json_build_array(p.path, v.sha256, v.size))
       FROM products p JOIN product_versions v ON v.id = p.current_version_id
      WHERE p.job_id = c.job_id AND p.path IN (SELECT value FROM json_each_text(c.inputs::json)))
  END AS input_versions
FROM claimed c JOIN opened o ON o.task_id = c.id
ORDER BY c.id`;

/**
 * One text per combination of filters, number of slots and whether the claim fits a room,
 * made when first needed. The limit is written into the text (up to INLINE_LIMIT; above, a
 * parameter): a prepared statement soon runs a generic plan, and with an unknown LIMIT that
 * plan is made for many rows — the queue walked in primary-key order past every finished
 * task, the claimed rows found by a scan of the table.
 */
const claimStatements = new Map<string, Statement<string>>();
const INLINE_LIMIT = 64;

const limitInText = (limit: number) => Number.isSafeInteger(limit) && limit > 0 && limit <= INLINE_LIMIT;

/** The oldest claimable tasks of a filter, locked (SKIP LOCKED): a SELECT of `columns`, at most `limit`. */
function claimable(filter: ClaimFilter, columns: string, limit: string): string {
  return `SELECT ${columns} FROM tasks
  -- the queue in id order by tasks_queue (state, id), stopping at the limit: a range on state
  -- rather than \`=\`, so that \`ORDER BY state, id\` is an order only that index gives (the
  -- primary key would walk every finished task first, and the plan this prepared statement
  -- keeps, made without statistics or without knowing the time, might choose it)
  WHERE state BETWEEN 'queued' AND 'queued' AND not_before <= :now::bigint
    ${filter.jobId !== undefined ? 'AND job_id = :job::integer' : ''}
    ${filter.pool !== undefined ? 'AND pool = :pool::text' : ''}
    ${filter.types !== undefined ? 'AND type = ANY (:types::text[])' : ''}
    -- (as an anti-join: \`pool <> ALL (paused pools)\`, read once, looks to the planner as if
    -- it matched nothing when every task is of one pool, and the queue is then sorted whole)
    AND NOT EXISTS (SELECT 1 FROM pool_controls pc WHERE pc.paused = 1 AND (pc.pool = tasks.pool OR pc.pool = '*'))
  ORDER BY state, id
  LIMIT ${limit}
  FOR UPDATE SKIP LOCKED`;
}

/**
 * `picked` for a claim with a room: core/fit.ts's fitter in SQL. A few more candidates than
 * slots are locked (the worker may skip some that do not fit); walked oldest first, each takes
 * its share (cores capped at the room's :capacity_cpu, nothing if it needs more memory than
 * :capacity_memory) from what the ones before it left of :free_cpu and :free_memory, if it
 * fits, until :slots are taken. The locks of those not taken end with the statement.
 */
function fittingPicked(filter: ClaimFilter, candidates: string): string {
  return `candidates AS MATERIALIZED (
  SELECT id, ctid, row_number() OVER (ORDER BY id) AS n,
         CASE WHEN memory > :capacity_memory::float8 THEN 0 ELSE least(cpu, :capacity_cpu::float8) END AS cpu,
         CASE WHEN memory > :capacity_memory::float8 THEN 0 ELSE memory END AS memory
  FROM (${claimable(filter, 'id, ctid, cpu, memory', candidates)}) locked
),
fitting (n, cpu_left, memory_left, slots_left, taken) AS (
  SELECT 0::bigint, :free_cpu::float8, :free_memory::float8, :slots::integer, false
  UNION ALL
  SELECT c.n,
         f.cpu_left - CASE WHEN fit.fits THEN c.cpu ELSE 0 END,
         f.memory_left - CASE WHEN fit.fits THEN c.memory ELSE 0 END,
         f.slots_left - CASE WHEN fit.fits THEN 1 ELSE 0 END,
         fit.fits
  FROM fitting f
  JOIN candidates c ON c.n = f.n + 1
  CROSS JOIN LATERAL (SELECT c.cpu <= f.cpu_left + ${CPU_EPSILON} AND c.memory <= f.memory_left AS fits) fit
  WHERE f.slots_left > 0
),
picked AS (
  SELECT c.id, c.ctid FROM fitting f JOIN candidates c ON c.n = f.n WHERE f.taken
),`;
}

function claimStatement(filter: ClaimFilter): Statement<string> {
  const fits = filter.room !== undefined;
  const limit = fits ? String(candidatesToLock(filter)) : limitInText(filter.limit) ? String(filter.limit) : ':limit::integer';
  const key = `${filter.jobId !== undefined ? 'j' : ''}${filter.pool !== undefined ? 'p' : ''}${filter.types !== undefined ? 't' : ''}${fits ? 'room' : ''}${limit}`;
  let found = claimStatements.get(key);
  if (!found) {
    const picked = fits ? fittingPicked(filter, limit) : `picked AS (\n  ${claimable(filter, 'id, ctid', limit)}\n),`;
    found = statement(fits ? 'claim_fitting' : 'claim', `WITH RECURSIVE ${picked}${CLAIMED}`);
    claimStatements.set(key, found);
  }
  return found;
}

/** One claim as the batch of its filter holds it. */
interface Claim {
  filter: ClaimFilter;
  grant: LeaseGrant;
  now: number;
}

/**
 * Claims of one filter, worker, host and scratch root go together, up to INLINE_LIMIT slots;
 * a claim that fits a room goes alone (its room is its own).
 */
const claimBatchers = new Batchers<Kysely<Database>, Claim, ClaimedRow[]>(
  (db, line) =>
    new Batcher(line, (claims) => claimTogether(db, claims), {
      lane: 'claims',
      joins: (batch, next) =>
        next.filter.room === undefined && batch[0].filter.room === undefined && batch.reduce((slots, c) => slots + c.filter.limit, 0) + next.filter.limit <= INLINE_LIMIT,
    }),
);

export function claim(db: Kysely<Database>, filter: ClaimFilter, grant: LeaseGrant, now: number): Promise<ClaimedRow[]> {
  const key = JSON.stringify([filter.jobId ?? null, filter.pool ?? null, filter.types ?? null, grant.worker, grant.host, grant.scratchRoot]);
  return claimBatchers.of(db, key).submit({ filter, grant, now });
}

/** One statement for claims of one filter: each gets the tasks locked in its slots. */
async function claimTogether(db: Kysely<Database>, claims: Claim[]): Promise<ClaimedRow[][]> {
  const { filter, grant } = claims[0];
  const slots = claims.flatMap((c) => Array.from({ length: c.filter.limit }, () => c.grant));
  // the latest clock of the batch: every claim in it is made now
  const now = Math.max(...claims.map((c) => c.now));
  const params: Record<string, unknown> = leaseParams(slots, grant, now);
  if (filter.room) {
    // alone in its batch (claimBatchers)
    Object.assign(params, {
      slots: slots.length,
      free_cpu: filter.room.free.cpu,
      free_memory: filter.room.free.memory,
      capacity_cpu: filter.room.capacity.cpu,
      capacity_memory: filter.room.capacity.memory,
    });
  } else if (!limitInText(slots.length)) params.limit = slots.length;
  if (filter.jobId !== undefined) params.job = filter.jobId;
  if (filter.pool !== undefined) params.pool = filter.pool;
  if (filter.types !== undefined) params.types = filter.types;
  const rows = await retry(() => claimStatement({ ...filter, limit: slots.length }).run<ReturnedRow>(db, params));
  const byToken = new Map(claims.map((c) => [c.grant.leaseToken, [] as ClaimedRow[]]));
  for (const row of rows) byToken.get(row.lease_token!)!.push(toClaimedRow(row));
  return claims.map((c) => byToken.get(c.grant.leaseToken)!);
}

/** The lease of each slot; worker, host and scratch root are the same for the whole statement. */
function leaseParams(slots: LeaseGrant[], grant: LeaseGrant, now: number): Record<ClaimParam, unknown> {
  return {
    now,
    tokens: slots.map((s) => s.leaseToken),
    expires: slots.map((s) => s.leaseExpiresAt),
    worker: grant.worker,
    host: grant.host,
    scratch: scratchPrefix(grant.scratchRoot),
  };
}

type ReturnedRow = Omit<ClaimedRow, 'attempt' | 'upstream' | 'inputVersions'> & {
  attempt_id: number;
  attempt_number: number;
  attempt_scratch: string;
  /** [name, result JSON text, cache key] of each upstream task. */
  upstream: Array<[string, string | null, string | null]> | null;
  /** [path, sha256, size] of each input's current version. */
  input_versions: Array<[string, string, number]> | null;
};

function toClaimedRow(returned: ReturnedRow): ClaimedRow {
  const { attempt_id, attempt_number, attempt_scratch, upstream, input_versions, ...row } = returned;
  const resultsOf: ClaimedTask['resultsOf'] = {};
  const upstreamKeys: Record<string, string> = {};
  for (const [name, result, cacheKey] of upstream ?? []) {
    if (result !== null) resultsOf[name] = JSON.parse(result);
    if (cacheKey !== null) upstreamKeys[name] = cacheKey;
  }
  const inputVersions = new Map<string, FileVersion>((input_versions ?? []).map(([path, sha256, size]) => [path, { sha256, size: Number(size) }]));
  return { ...row, attempt: { id: attempt_id, number: attempt_number, scratch: attempt_scratch }, upstream: { resultsOf, upstreamKeys }, inputVersions };
}
