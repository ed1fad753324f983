/** Read-only queries behind `orrery status/tasks/show/logs/files`. */
import type { Kysely } from 'kysely';
import { NotFoundError } from '../../core/errors.js';
import { emptyCounts } from '../../core/states.js';
import type { TaskState } from '../../core/types.js';
import type { Database } from '../schema.js';
import type { AttemptRecord, JobRecord, LogLine, LogQuery, ProductRecord, TaskFilter, TaskRecord } from '../store.js';
import * as overview from './overview.js';
import { whereTaskFilter } from './overview.js';
import { toAttemptRecord, toJobRecord, toTaskRecord } from './rows.js';

export class StoreReader {
  constructor(protected readonly db: Kysely<Database>) {}

  async listJobs(): Promise<JobRecord[]> {
    const rows = await this.db.selectFrom('jobs').selectAll().orderBy('id').execute();
    return rows.map(toJobRecord);
  }

  /** A job by id, or the latest job with that name. */
  async getJob(ref: string | number): Promise<JobRecord> {
    const asId = typeof ref === 'number' ? ref : /^\d+$/.test(ref) ? Number(ref) : null;
    let query = this.db.selectFrom('jobs').selectAll();
    query = asId !== null ? query.where('id', '=', asId) : query.where('name', '=', String(ref)).orderBy('id', 'desc').limit(1);
    const row = await query.executeTakeFirst();
    if (!row) throw new NotFoundError(`no job ${JSON.stringify(String(ref))} in this task database; \`orrery status\` lists the jobs`);
    return toJobRecord(row);
  }

  async countTasksByType(jobId: number): Promise<Record<string, Record<TaskState, number>>> {
    const rows = await this.db
      .selectFrom('tasks')
      .select(['type', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('job_id', '=', jobId)
      .groupBy(['type', 'state'])
      .execute();
    const out: Record<string, Record<TaskState, number>> = {};
    for (const row of rows) {
      out[row.type] ??= emptyCounts();
      out[row.type][row.state as TaskState] = Number(row.n);
    }
    return out;
  }

  async listTasks(jobId: number, filter: TaskFilter = {}): Promise<TaskRecord[]> {
    let query = whereTaskFilter(this.db.selectFrom('tasks').selectAll().where('job_id', '=', jobId), filter).orderBy('id');
    if (filter.limit !== undefined) query = query.limit(filter.limit).offset(filter.offset ?? 0);
    return (await query.execute()).map(toTaskRecord);
  }

  /** A task by id, or by `JOB/NAME` where JOB is a job id or name. */
  async getTask(ref: string): Promise<TaskRecord> {
    if (/^\d+$/.test(ref)) return this.getTaskById(Number(ref));
    const slash = ref.indexOf('/');
    if (slash <= 0) {
      throw new NotFoundError(`task ${JSON.stringify(ref)}: name a task by its id or as JOB/TASK (e.g. transit/search_0); \`orrery tasks JOB\` lists them`);
    }
    const job = await this.getJob(ref.slice(0, slash));
    const name = ref.slice(slash + 1);
    const row = await this.db.selectFrom('tasks').selectAll().where('job_id', '=', job.id).where('name', '=', name).executeTakeFirst();
    if (!row) throw new NotFoundError(`job ${job.id} (${job.name}) has no task ${JSON.stringify(name)}; \`orrery tasks ${job.id}\` lists them`);
    return toTaskRecord(row);
  }

  async getTaskById(id: number): Promise<TaskRecord> {
    const row = await this.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError(`no task with id ${id}; \`orrery tasks JOB\` lists a job's tasks`);
    return toTaskRecord(row);
  }

  async dependencies(taskId: number): Promise<{ upstream: string[]; downstream: string[] }> {
    const upstream = await this.db
      .selectFrom('task_deps as d')
      .innerJoin('tasks as t', 't.id', 'd.depends_on')
      .select('t.name')
      .where('d.task_id', '=', taskId)
      .orderBy('t.id')
      .execute();
    const downstream = await this.db
      .selectFrom('task_deps as d')
      .innerJoin('tasks as t', 't.id', 'd.task_id')
      .select('t.name')
      .where('d.depends_on', '=', taskId)
      .orderBy('t.id')
      .execute();
    return { upstream: upstream.map((r) => r.name), downstream: downstream.map((r) => r.name) };
  }

  async listAttempts(taskId: number): Promise<AttemptRecord[]> {
    const rows = await this.db.selectFrom('attempts').selectAll().where('task_id', '=', taskId).orderBy('number').execute();
    return rows.map(toAttemptRecord);
  }

  async readLogs(attemptId: number): Promise<LogLine[]> {
    const rows = await this.db.selectFrom('attempt_logs').selectAll().where('attempt_id', '=', attemptId).orderBy('seq').execute();
    return rows.map((r) => ({ attemptId: Number(r.attempt_id), seq: Number(r.seq), stream: r.stream as LogLine['stream'], at: Number(r.at), line: r.line }));
  }

  async listProducts(jobId: number): Promise<ProductRecord[]> {
    const rows = await this.db
      .selectFrom('products as p')
      .innerJoin('product_versions as v', 'v.id', 'p.current_version_id')
      .leftJoin('tasks as t', 't.id', 'p.producer_task_id')
      .select((eb) => [
        'p.path',
        't.name as producer',
        'v.sha256',
        'v.size',
        'v.created_at',
        eb.selectFrom('product_versions as pv').select(eb.fn.countAll<number>().as('n')).whereRef('pv.product_id', '=', 'p.id').as('versions'),
      ])
      .where('p.job_id', '=', jobId)
      .orderBy('p.path')
      .execute();
    return rows.map((r) => ({
      path: r.path,
      producer: r.producer ?? null,
      sha256: r.sha256,
      size: Number(r.size),
      versions: Number(r.versions),
      createdAt: Number(r.created_at),
    }));
  }

  // the dashboard and the HTTP API: queries in ./overview.ts
  countMatchingTasks(jobId: number, filter: TaskFilter = {}) {
    return overview.countMatchingTasks(this.db, jobId, filter);
  }
  taskGroups(jobId: number) {
    return overview.taskGroups(this.db, jobId);
  }
  groupEdges(jobId: number) {
    return overview.groupEdges(this.db, jobId);
  }
  linkedTasks(taskId: number, limit: number) {
    return overview.linkedTasks(this.db, taskId, limit);
  }
  edgesOf(taskIds: number[]) {
    return overview.edgesOf(this.db, taskIds);
  }
  jobAttempts(jobId: number, limit: number) {
    return overview.jobAttempts(this.db, jobId, limit);
  }
  listWorkers() {
    return overview.listWorkers(this.db);
  }
  readLogPage(attemptId: number, query: LogQuery) {
    return overview.readLogPage(this.db, attemptId, query);
  }
  productDetails(jobId: number, paths?: string[]) {
    return overview.productDetails(this.db, jobId, paths);
  }
  activity() {
    return overview.activity(this.db);
  }
  totals() {
    return overview.totals(this.db);
  }
}
