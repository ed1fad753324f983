/**
 * Claiming: hands queued tasks whose backoff has passed to a worker, oldest first, and
 * opens their attempts. Runs inside a write transaction, where the dialect has no single
 * statement for it (Dialect.taskStatements). On MySQL the candidate rows are locked with
 * FOR UPDATE SKIP LOCKED so concurrent claimers skip each other's rows. The UPDATE re-checks
 * `state = 'queued'`, so a row is never claimed twice, and stamps a fresh lease token (the
 * fencing token every later write of this attempt must present).
 *
 * With `room`, the candidates are fitted into the worker's free cores and memory (core/fit.ts)
 * between reading and claiming them, and they must already be locked by this claimer then
 * (read unlocked, two workers would fit the same oldest task and one would go away
 * empty-handed while the queue is full).
 */
import { randomBytes } from 'node:crypto';
import { type Kysely, type Selectable, sql } from 'kysely';
import { fitter } from '../../core/fit.js';
import type { Dialect } from '../dialect.js';
import type { Database, TaskTable } from '../schema.js';
import type { ClaimedAttempt, ClaimedTask, ClaimRequest, FileVersion, TaskRecord } from '../store.js';
import { openAttempts } from './attempts.js';

/** Which tasks a claim may take, and how many. */
export type ClaimFilter = Pick<ClaimRequest, 'limit' | 'jobId' | 'pool' | 'types' | 'room'>;

/** What a claim gives the tasks it takes: their lease, and where their attempts run. */
export interface LeaseGrant {
  leaseToken: string;
  leaseExpiresAt: number;
  worker: string;
  host: string;
  scratchRoot: string;
}

/** A claimed task's row (already `running`) with the attempt the claim opened. */
export type ClaimedRow = Selectable<TaskTable> & {
  attempt: ClaimedAttempt;
  /** Read by the claiming statement where the dialect has one; otherwise read after it. */
  upstream?: Pick<ClaimedTask, 'resultsOf' | 'upstreamKeys'>;
  /** Current versions of the task's input products by path (likewise). */
  inputVersions?: Map<string, FileVersion>;
};

export function leaseGrant(request: ClaimRequest, now: number): LeaseGrant {
  return {
    leaseToken: randomBytes(12).toString('hex'),
    leaseExpiresAt: now + request.leaseMs,
    worker: request.worker,
    host: request.host,
    scratchRoot: request.scratchRoot,
  };
}

export async function claimTasks(trx: Kysely<Database>, dialect: Dialect, request: ClaimRequest, grant: LeaseGrant, now: number): Promise<ClaimedRow[]> {
  let query = trx
    .selectFrom('tasks')
    .selectAll('tasks')
    .where('state', '=', 'queued')
    // `+not_before`: not an index column here, so the planner walks (job_id, state, id) in
    // id order and stops at the limit instead of sorting every queued task
    .where(sql<number>`+not_before`, '<=', now)
    .orderBy('id')
    .limit(candidatesToLock(request));
  if (request.jobId !== undefined) query = query.where('job_id', '=', request.jobId);
  if (request.pool !== undefined) query = query.where('pool', '=', request.pool);
  if (request.types !== undefined) query = query.where('type', 'in', request.types.length > 0 ? request.types : ['']);
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

  const taken = fitted(candidates, request);
  if (taken.length === 0) return [];
  const ids = taken.map((row) => Number(row.id));

  const running = { state: 'running', lease_token: grant.leaseToken, lease_expires_at: grant.leaseExpiresAt, worker: grant.worker, started_at: now };
  await trx.updateTable('tasks').set(running).where('id', 'in', ids).where('state', '=', 'queued').execute();
  const attempts = await openAttempts(trx, dialect, ids, grant, now);
  return taken.map((row) => ({ ...row, ...running, attempt: attempts.get(Number(row.id))! }));
}

/**
 * How many candidates a claim locks: with a room a few more than its limit, since the worker
 * may skip some that do not fit; without one, its limit.
 */
export function candidatesToLock(filter: ClaimFilter): number {
  return filter.room ? Math.max(filter.limit * 4, 16) : filter.limit;
}

/**
 * The candidates a claim takes, oldest first, up to its limit: those that fit in its room, or
 * every one without a room.
 */
export function fitted<T extends { cpu: number; memory: number }>(candidates: T[], filter: ClaimFilter): T[] {
  const fits = filter.room ? fitter(filter.room) : () => true;
  const taken: T[] = [];
  for (const candidate of candidates) {
    if (taken.length >= filter.limit) break;
    if (fits({ cpu: Number(candidate.cpu), memory: Number(candidate.memory) })) taken.push(candidate);
  }
  return taken;
}

/**
 * What a claim in a transaction leaves to read after it (a single-statement claim returns it
 * with the rows): the results and cache keys of each task's upstream tasks, by task name, and
 * the current versions of its inputs.
 */
export async function readClaimContext(db: Kysely<Database>, rows: ClaimedRow[]): Promise<Array<Required<ClaimedRow>>> {
  const unread = rows.filter((row) => row.upstream === undefined).map((row) => Number(row.id));
  const upstream = new Map<number, NonNullable<ClaimedRow['upstream']>>();
  if (unread.length > 0) {
    const deps = await db
      .selectFrom('task_deps as d')
      .innerJoin('tasks as t', 't.id', 'd.depends_on')
      .select(['d.task_id', 't.name', 't.result', 't.cache_key'])
      .where('d.task_id', 'in', unread)
      .execute();
    for (const dep of deps) {
      const taskId = Number(dep.task_id);
      let of = upstream.get(taskId);
      if (!of) upstream.set(taskId, (of = { resultsOf: {}, upstreamKeys: {} }));
      if (dep.result !== null) of.resultsOf[dep.name] = JSON.parse(dep.result);
      if (dep.cache_key !== null) of.upstreamKeys[dep.name] = dep.cache_key;
    }
  }
  const complete: Array<Required<ClaimedRow>> = [];
  for (const row of rows) {
    let inputVersions = row.inputVersions;
    const paths = inputVersions ? [] : Object.values(JSON.parse(row.inputs) as Record<string, string>);
    if (!inputVersions && paths.length > 0) {
      const versions = await db
        .selectFrom('products as p')
        .innerJoin('product_versions as v', 'v.id', 'p.current_version_id')
        .select(['p.path', 'v.sha256', 'v.size'])
        .where('p.job_id', '=', row.job_id)
        .where('p.path', 'in', paths)
        .execute();
      inputVersions = new Map(versions.map((v) => [v.path, { sha256: v.sha256, size: Number(v.size) }]));
    }
    complete.push({
      ...row,
      upstream: row.upstream ?? upstream.get(Number(row.id)) ?? { resultsOf: {}, upstreamKeys: {} },
      inputVersions: inputVersions ?? new Map(),
    });
  }
  return complete;
}

/** A claimed task's inputs: semantic name -> product path and its current version. */
export function inputsOf(task: TaskRecord, versions: Map<string, FileVersion>): ClaimedTask['inputs'] {
  const out: ClaimedTask['inputs'] = {};
  for (const [name, path] of Object.entries(task.inputs)) {
    const version = versions.get(path);
    if (!version) throw new Error(`task input ${name} (${path}) has no current version although its producer finished`);
    out[name] = { path, ...version };
  }
  return out;
}
