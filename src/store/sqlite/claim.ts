/**
 * Claiming on SQLite, as one write of the batch (write-batch.ts), which runs under the
 * database's only write lock: read the oldest claimable tasks, fit them into the worker's
 * free cores and memory (`room`, core/fit.ts) oldest first, mark the ones taken running
 * under the claim's lease token, open their attempts, and read what each needs to run — the
 * results and cache keys of its upstream tasks, the current versions of its inputs.
 *
 * Invariants, as in sql/claim.ts: only `queued` tasks whose backoff has passed, none from a
 * paused pool (or while '*' is paused), each claimed once (the UPDATE re-checks the state),
 * attempts numbered after every earlier one, lost ones included.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Selectable } from 'kysely';
import type { TaskTable } from '../schema.js';
import { scratchPath } from '../sql/attempts.js';
import { type ClaimedRow, type ClaimFilter, fitted, type LeaseGrant } from '../sql/claim.js';
import type { ClaimedTask, ClaimRequest, FileVersion } from '../store.js';

/**
 * The candidates' query for a filter and the pools paused (`orrery drain`): one text per
 * shape, prepared once (open.ts keeps them). The paused pools are read once per claim rather
 * than looked up for every candidate row, which cost more than the rest of the query.
 */
function candidatesQuery(filter: ClaimFilter, paused: string[]): string {
  const list = (prefix: string, values: unknown[]) => values.map((_, i) => `:${prefix}${i}`).join(', ') || "''";
  // `+not_before`: not an index column here, so the planner walks a queue index in id order
  // and stops at the limit instead of sorting every queued task
  return `SELECT id, cpu, memory FROM tasks
WHERE state = 'queued' AND +not_before <= :now
  ${filter.jobId !== undefined ? 'AND job_id = :job' : ''}
  ${filter.pool !== undefined ? 'AND pool = :pool' : ''}
  ${filter.types !== undefined ? `AND type IN (${list('type', filter.types)})` : ''}
  ${paused.length > 0 ? `AND pool NOT IN (${list('paused', paused)})` : ''}
ORDER BY id
LIMIT :limit`;
}

const PAUSED_POOLS = `SELECT pool FROM pool_controls WHERE paused = 1`;

// (no RETURNING in these: on SQLite it costs several times the statement itself)
const MARK_RUNNING = `UPDATE tasks
SET state = 'running', lease_token = ?, lease_expires_at = ?, worker = ?, started_at = ?
WHERE id = ? AND state = 'queued'`;

const TASK = `SELECT * FROM tasks WHERE id = ?`;

const LAST_ATTEMPT = `SELECT coalesce(max(number), 0) FROM attempts WHERE task_id = ?`;

const OPEN_ATTEMPT = `INSERT INTO attempts (task_id, number, state, lease_token, worker, host, pid, pid_start, scratch, started_at)
VALUES (?, ?, 'running', ?, ?, ?, NULL, NULL, ?, ?)`;

const UPSTREAM = `SELECT u.name, u.result, u.cache_key FROM task_deps d JOIN tasks u ON u.id = d.depends_on WHERE d.task_id = ?`;

const INPUT_VERSION = `SELECT v.sha256, v.size FROM products p JOIN product_versions v ON v.id = p.current_version_id
WHERE p.job_id = ? AND p.path = ?`;

export function claim(
  database: BetterSqlite3.Database,
  request: ClaimFilter,
  grant: LeaseGrant,
  now: number,
): ClaimedRow[] {
  const paused = database.prepare(PAUSED_POOLS).pluck().all() as string[];
  // `orrery drain` without --pool pauses every pool
  if (paused.includes('*')) return [];
  // with `room`, a few more than the limit: the worker may skip some that do not fit
  const params: Record<string, unknown> = { now, limit: request.room ? Math.max(request.limit * 2, 8) : request.limit };
  if (request.jobId !== undefined) params.job = request.jobId;
  if (request.pool !== undefined) params.pool = request.pool;
  request.types?.forEach((type, i) => (params[`type${i}`] = type));
  paused.forEach((pool, i) => (params[`paused${i}`] = pool));
  const candidates = database.prepare(candidatesQuery(request, paused)).all(params) as Array<{ id: number; cpu: number; memory: number }>;
  const taken = fitted(candidates, request).map((candidate) => candidate.id);
  return claimLocked(database, taken, grant, now);
}

/** Claims these tasks (queued, read under this same write lock) and opens their attempts. */
export function claimLocked(database: BetterSqlite3.Database, taskIds: number[], grant: LeaseGrant, now: number): ClaimedRow[] {
  const { leaseToken: token, worker } = grant;
  const markRunning = database.prepare(MARK_RUNNING);
  const claimed: ClaimedRow[] = [];
  for (const id of taskIds) {
    if (markRunning.run(token, grant.leaseExpiresAt, worker, now, id).changes !== 1) continue;
    const row = database.prepare(TASK).get(id) as Selectable<TaskTable>;
    const scratch = scratchPath(grant.scratchRoot, id, token);
    const number = (database.prepare(LAST_ATTEMPT).pluck().get(id) as number) + 1;
    const opened = database.prepare(OPEN_ATTEMPT).run(id, number, token, worker, grant.host, scratch, now);
    claimed.push({
      ...row,
      attempt: { id: Number(opened.lastInsertRowid), number, scratch },
      upstream: upstreamOf(database, id),
      inputVersions: inputVersionsOf(database, row),
    });
  }
  return claimed;
}

function upstreamOf(database: BetterSqlite3.Database, taskId: number): NonNullable<ClaimedRow['upstream']> {
  const resultsOf: ClaimedTask['resultsOf'] = {};
  const upstreamKeys: Record<string, string> = {};
  const rows = database.prepare(UPSTREAM).all(taskId) as Array<{ name: string; result: string | null; cache_key: string | null }>;
  for (const { name, result, cache_key } of rows) {
    if (result !== null) resultsOf[name] = JSON.parse(result);
    if (cache_key !== null) upstreamKeys[name] = cache_key;
  }
  return { resultsOf, upstreamKeys };
}

function inputVersionsOf(database: BetterSqlite3.Database, row: Selectable<TaskTable>): Map<string, FileVersion> {
  const versions = new Map<string, FileVersion>();
  // most tasks of a fan-out read nothing: '{}' needs no parsing and no lookup
  if (row.inputs === '{}') return versions;
  const lookup = database.prepare(INPUT_VERSION);
  for (const path of Object.values(JSON.parse(row.inputs) as Record<string, string>)) {
    const version = lookup.get(row.job_id, path) as { sha256: string; size: number } | undefined;
    if (version) versions.set(path, { sha256: version.sha256, size: Number(version.size) });
  }
  return versions;
}
