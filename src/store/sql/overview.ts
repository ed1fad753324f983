/**
 * Read-only queries behind the dashboard and the HTTP API. They must stay fast on a job of
 * 100,000 tasks: counts read indexes of the job's tasks by state and by type and state alone
 * (migrations 2 and 4 to 6), groups read the job's tasks once; lists are paginated; nothing
 * scans the attempts or logs of a whole job.
 */
import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import { allTaskStates, emptyCounts } from '../../core/states.js';
import type { AttemptState, JobState, TaskState } from '../../core/types.js';
import type { Database } from '../schema.js';
import type { Activity, GroupEdge, JobAttempt, LogLine, LogQuery, ProductDetail, TaskFilter, TaskGroup, TaskLink, WorkerSummary } from '../store.js';
import { chunks } from './rows.js';

/** LIKE patterns escape their wildcards with '!', which needs no quoting in any dialect. */
function likeEscape(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

/** Applies a TaskFilter's conditions (not its limit/offset) to a query over `tasks`. */
export function whereTaskFilter<O>(query: SelectQueryBuilder<Database, 'tasks', O>, filter: TaskFilter): SelectQueryBuilder<Database, 'tasks', O> {
  let q = query;
  if (filter.state) q = q.where('state', '=', filter.state);
  if (filter.type) q = q.where('type', '=', filter.type);
  if (filter.source) q = q.where('source', '=', filter.source);
  if (filter.name) q = q.where(sql<boolean>`${sql.ref('name')} LIKE ${`%${likeEscape(filter.name)}%`} ESCAPE '!'`);
  for (const [key, value] of Object.entries(filter.loop ?? {})) {
    // `loop` is JSON.stringify output: `"key":value` ends with ',' or '}'
    // (the first, looser pattern rejects most rows with one comparison; `loop` is a reserved
    // word in MySQL, so it is always a quoted reference)
    const pair = likeEscape(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
    const loop = sql.ref('loop');
    q = q.where(sql<boolean>`${loop} LIKE ${`%${pair}%`} ESCAPE '!' AND (${loop} LIKE ${`%${pair},%`} ESCAPE '!' OR ${loop} LIKE ${`%${pair}}%`} ESCAPE '!')`);
  }
  return q;
}

export async function countMatchingTasks(db: Kysely<Database>, jobId: number, filter: TaskFilter): Promise<number> {
  const query = db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).where('job_id', '=', jobId);
  const row = await whereTaskFilter(query, filter).executeTakeFirst();
  return Number(row?.n ?? 0);
}

export async function taskGroups(db: Kysely<Database>, jobId: number): Promise<TaskGroup[]> {
  const rows = await db
    .selectFrom('tasks')
    .select(['source', 'type', 'state', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.min('id').as('first')])
    .where('job_id', '=', jobId)
    .groupBy(['source', 'type', 'state'])
    .execute();
  const groups = new Map<string, TaskGroup>();
  for (const row of rows) {
    const key = `${row.type}\u0000${row.source}`;
    let group = groups.get(key);
    if (!group) {
      group = { source: row.source, type: row.type, counts: emptyCounts(), total: 0, loopVariables: [], firstTaskId: Number(row.first) };
      groups.set(key, group);
    }
    group.counts[row.state as TaskState] = Number(row.n);
    group.total += Number(row.n);
    group.firstTaskId = Math.min(group.firstTaskId, Number(row.first));
  }
  const list = [...groups.values()].sort((a, b) => a.firstTaskId - b.firstTaskId);
  for (const batch of chunks(list, 500)) {
    const firsts = await db.selectFrom('tasks').select(['id', 'loop']).where('id', 'in', batch.map((g) => g.firstTaskId)).execute();
    const loops = new Map(firsts.map((r) => [Number(r.id), Object.keys(JSON.parse(r.loop) as object).filter((k) => !k.endsWith('_index'))]));
    for (const group of batch) group.loopVariables = loops.get(group.firstTaskId) ?? [];
  }
  return list;
}

/** Which groups feed which: one pass over the job's edges (the server caches the answer). */
export async function groupEdges(db: Kysely<Database>, jobId: number): Promise<GroupEdge[]> {
  const rows = await db
    .selectFrom('tasks as t')
    .innerJoin('task_deps as d', 'd.task_id', 't.id')
    .innerJoin('tasks as u', 'u.id', 'd.depends_on')
    .select(['u.source as from_source', 'u.type as from_type', 't.source as to_source', 't.type as to_type'])
    .where('t.job_id', '=', jobId)
    .distinct()
    .execute();
  return rows.map((r) => ({ from: { source: r.from_source, type: r.from_type }, to: { source: r.to_source, type: r.to_type } }));
}

const linkColumns = ['t.id', 't.name', 't.type', 't.state', 't.source'] as const;

function toLink(row: { id: number; name: string; type: string; state: string; source: string }): TaskLink {
  return { id: Number(row.id), name: row.name, type: row.type, state: row.state as TaskState, source: row.source };
}

export async function linkedTasks(db: Kysely<Database>, taskId: number, limit: number) {
  const side = async (mine: 'd.task_id' | 'd.depends_on', theirs: 'd.task_id' | 'd.depends_on') => {
    const rows = await db.selectFrom('task_deps as d').innerJoin('tasks as t', 't.id', theirs).select(linkColumns).where(mine, '=', taskId).orderBy('t.id').limit(limit).execute();
    const total =
      rows.length < limit
        ? rows.length
        : Number((await db.selectFrom('task_deps as d').select((eb) => eb.fn.countAll<number>().as('n')).where(mine, '=', taskId).executeTakeFirst())?.n ?? 0);
    return { tasks: rows.map(toLink), total };
  };
  const up = await side('d.task_id', 'd.depends_on');
  const down = await side('d.depends_on', 'd.task_id');
  return { upstream: up.tasks, downstream: down.tasks, upstreamTotal: up.total, downstreamTotal: down.total };
}

export async function edgesOf(db: Kysely<Database>, taskIds: number[]): Promise<Array<{ from: TaskLink; to: TaskLink }>> {
  const out = new Map<string, { from: TaskLink; to: TaskLink }>();
  for (const ids of chunks(taskIds, 500)) {
    for (const column of ['d.task_id', 'd.depends_on'] as const) {
      const rows = await db
        .selectFrom('task_deps as d')
        .innerJoin('tasks as u', 'u.id', 'd.depends_on')
        .innerJoin('tasks as t', 't.id', 'd.task_id')
        .select(['u.id as uid', 'u.name as uname', 'u.type as utype', 'u.state as ustate', 'u.source as usource', ...linkColumns])
        .where(column, 'in', ids)
        .limit(5000)
        .execute();
      for (const r of rows) {
        out.set(`${r.uid}>${r.id}`, { from: toLink({ id: r.uid, name: r.uname, type: r.utype, state: r.ustate, source: r.usource }), to: toLink(r) });
      }
    }
  }
  return [...out.values()];
}

/** Newest first; walks attempts backwards by id and stops after `limit` of this job's. */
export async function jobAttempts(db: Kysely<Database>, jobId: number, limit: number): Promise<JobAttempt[]> {
  const rows = await db
    .selectFrom('attempts as a')
    .innerJoin('tasks as t', 't.id', 'a.task_id')
    .select(['a.id', 'a.task_id', 't.name', 't.type', 'a.number', 'a.state', 'a.worker', 'a.host', 'a.started_at', 'a.finished_at'])
    .where('t.job_id', '=', jobId)
    .orderBy('a.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    taskId: Number(r.task_id),
    taskName: r.name,
    taskType: r.type,
    number: Number(r.number),
    state: r.state as AttemptState,
    worker: r.worker,
    host: r.host,
    startedAt: Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  }));
}

/** How many of the latest attempts `listWorkers` looks at for workers that run nothing now. */
const RECENT_ATTEMPTS = 10_000;

/**
 * Workers as the tasks table knows them (there is no workers table yet): those running
 * tasks now, and those seen in the latest attempts.
 */
export async function listWorkers(db: Kysely<Database>): Promise<WorkerSummary[]> {
  const running = await db
    .selectFrom('tasks as t')
    .innerJoin('attempts as a', (join) => join.onRef('a.task_id', '=', 't.id').onRef('a.lease_token', '=', 't.lease_token'))
    .select(['t.worker', 'a.host', 't.id', 't.name', 't.job_id', 'a.started_at'])
    .where('t.state', '=', 'running')
    .orderBy('a.started_at')
    .execute();
  const maxId = Number((await db.selectFrom('attempts').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst())?.m ?? 0);
  const recent = await db
    .selectFrom('attempts')
    .select(['worker', 'host', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('started_at').as('last'), (eb) => eb.fn.max('finished_at').as('last_end')])
    .select(sql<number>`sum(case when ${sql.ref('state')} = 'failed' then 1 else 0 end)`.as('failed'))
    .where('id', '>', maxId - RECENT_ATTEMPTS)
    .groupBy(['worker', 'host'])
    .execute();
  const workers = new Map<string, WorkerSummary>();
  const get = (worker: string, host: string) => {
    const key = `${worker}\u0000${host}`;
    let w = workers.get(key);
    if (!w) workers.set(key, (w = { worker, host, running: [], attempts: 0, failed: 0, lastSeen: 0 }));
    return w;
  };
  for (const r of recent) {
    const w = get(r.worker, r.host);
    w.attempts = Number(r.n);
    w.failed = Number(r.failed);
    w.lastSeen = Math.max(Number(r.last ?? 0), Number(r.last_end ?? 0));
  }
  for (const r of running) {
    const w = get(r.worker ?? '', r.host);
    w.running.push({ taskId: Number(r.id), taskName: r.name, jobId: Number(r.job_id), startedAt: Number(r.started_at) });
    w.lastSeen = Math.max(w.lastSeen, Date.now());
  }
  return [...workers.values()].sort((a, b) => b.running.length - a.running.length || b.lastSeen - a.lastSeen);
}

export async function readLogPage(db: Kysely<Database>, attemptId: number, query: LogQuery): Promise<LogLine[]> {
  let q = db.selectFrom('attempt_logs').selectAll().where('attempt_id', '=', attemptId);
  if (query.afterSeq !== undefined) q = q.where('seq', '>', query.afterSeq);
  const limit = query.tail ?? query.limit;
  q = query.tail !== undefined ? q.orderBy('seq', 'desc') : q.orderBy('seq');
  if (limit !== undefined) q = q.limit(limit);
  const rows = (await q.execute()).map((r) => ({ attemptId: Number(r.attempt_id), seq: Number(r.seq), stream: r.stream as LogLine['stream'], at: Number(r.at), line: r.line }));
  return query.tail !== undefined ? rows.reverse() : rows;
}

export async function productDetails(db: Kysely<Database>, jobId: number, paths?: string[]): Promise<ProductDetail[]> {
  if (paths && paths.length === 0) return [];
  let q = db
    .selectFrom('products as p')
    .innerJoin('product_versions as v', 'v.id', 'p.current_version_id')
    .leftJoin('tasks as t', 't.id', 'p.producer_task_id')
    .select((eb) => [
      'p.path',
      'p.producer_task_id',
      't.name as producer',
      'v.sha256',
      'v.size',
      'v.created_at',
      'v.attempt_id',
      'v.qc_passed',
      eb.selectFrom('product_versions as pv').select(eb.fn.countAll<number>().as('n')).whereRef('pv.product_id', '=', 'p.id').as('versions'),
    ])
    .where('p.job_id', '=', jobId)
    .orderBy('p.path');
  if (paths) q = q.where('p.path', 'in', paths);
  const rows = await q.execute();
  return rows.map((r) => ({
    path: r.path,
    producer: r.producer ?? null,
    producerTaskId: r.producer_task_id === null ? null : Number(r.producer_task_id),
    attemptId: r.attempt_id === null ? null : Number(r.attempt_id),
    sha256: r.sha256,
    size: Number(r.size),
    versions: Number(r.versions),
    createdAt: Number(r.created_at),
    qcPassed: r.qc_passed === null ? null : Boolean(r.qc_passed),
  }));
}

export async function activity(db: Kysely<Database>): Promise<Activity> {
  const max = await db.selectFrom('attempts').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
  const jobs = await db.selectFrom('jobs').select(['id', 'state', 'finished_at']).orderBy('id').execute();
  return {
    maxAttemptId: Number(max?.m ?? 0),
    jobs: jobs.map((j) => ({ id: Number(j.id), state: j.state as JobState, finishedAt: j.finished_at === null ? null : Number(j.finished_at) })),
  };
}

export async function totals(db: Kysely<Database>) {
  const tasks = emptyCounts();
  const taskRows = await db.selectFrom('tasks').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
  for (const r of taskRows) if (allTaskStates.includes(r.state as TaskState)) tasks[r.state as TaskState] = Number(r.n);
  const attemptRows = await db.selectFrom('attempts').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
  const attempts: Record<string, number> = {};
  for (const r of attemptRows) attempts[r.state] = Number(r.n);
  return { tasks, attempts };
}
