/**
 * The Inspector over the HTTP API of `orrery server` or `orrery ui` (`--server URL`). It asks
 * the routes the dashboard uses, plus the few that return what the CLI prints whole:
 * `tasks?full=1`, `tasks/ID/dependencies`, `workers/registered`.
 */
import { NotFoundError } from '../core/errors.js';
import type { AttemptState, JobState, TaskState } from '../core/types.js';
import type { AttemptRecord, LogLine, ProductDetail, TaskRecord, WorkerRecord } from '../store/store.js';
import { ApiClient } from './api-client.js';
import type { Inspector, JobDetail, JobSummary, LogView, TaskView } from './inspector.js';

/** Pages of the longest size the API serves. */
const TASK_PAGE = 1000;
const LOG_PAGE = 100_000;

type ApiJob = JobSummary & { total: number };
type ApiJobDetail = ApiJob & {
  types: Array<{ type: string; counts: Record<TaskState, number> }>;
  failures: { total: number; tasks: Array<{ id: number; name: string; errorText: string | null }> };
};
/** /api/tasks/ID: the task's fields, inputs and outputs as product lists, and more beside. */
type ApiTask = Record<string, unknown> & {
  id: number;
  name: string;
  jobId: number;
  job: { id: number; name: string };
  attempts: AttemptRecord[];
  attemptCount: number;
  inputPaths: Record<string, string>;
  outputPaths: Record<string, string>;
};
/** What /api/tasks/ID adds to the task's own fields. */
const TASK_EXTRAS = new Set(['job', 'attemptCount', 'inputPaths', 'outputPaths', 'upstream', 'downstream', 'upstreamTotal', 'downstreamTotal', 'cachedFrom']);
type ApiLogs = {
  attempt: { id: number; number: number; state: AttemptState } | null;
  cachedFrom: { id: number; name: string; jobId: number } | null;
  lines: LogLine[];
};

const segment = (ref: string | number) => encodeURIComponent(String(ref));

export class HttpInspector implements Inspector {
  private readonly api: ApiClient;

  constructor(server: string, token?: string) {
    this.api = new ApiClient(server, token);
  }

  async jobs(): Promise<JobSummary[]> {
    // the API lists newest first; the CLI, like the database, oldest first
    return (await this.api.get<ApiJob[]>('api/jobs')).reverse();
  }

  async job(ref: string): Promise<JobDetail> {
    const job = await this.api.get<ApiJobDetail>(`api/jobs/${segment(ref)}`);
    return {
      ...job,
      types: Object.fromEntries(job.types.map((t) => [t.type, t.counts])),
      failures: job.failures.tasks.slice(0, 10).map((t) => ({ id: t.id, name: t.name, error: t.errorText })),
    };
  }

  async tasks(jobRef: string, filter: { state?: TaskState; type?: string }): Promise<TaskRecord[]> {
    const out: TaskRecord[] = [];
    let job: string | number = jobRef;
    for (;;) {
      const page: { job: number; total: number; tasks: TaskRecord[] } = await this.api.get(`api/jobs/${segment(job)}/tasks`, {
        full: 1,
        ...filter,
        limit: TASK_PAGE,
        offset: out.length,
      });
      // later pages by id: a name could come to mean a newer job meanwhile
      job = page.job;
      out.push(...page.tasks);
      if (page.tasks.length < TASK_PAGE || out.length >= page.total) return out;
    }
  }

  async task(ref: string): Promise<TaskView> {
    const detail = await this.taskDetail(ref);
    const deps = await this.api.get<{ upstream: string[]; downstream: string[] }>(`api/tasks/${detail.id}/dependencies`);
    return { task: taskRecord(detail), job: { id: detail.job.id, name: detail.job.name }, attempts: detail.attempts, upstream: deps.upstream, downstream: deps.downstream };
  }

  async logs(taskRef: string, wanted?: number): Promise<LogView> {
    const task = await this.taskDetail(taskRef);
    const first = await this.api.get<ApiLogs>(`api/tasks/${task.id}/logs`, { attempt: wanted, limit: LOG_PAGE });
    const attempt = first.attempt;
    if (!attempt) throw new NotFoundError(`task ${task.name} has no attempts yet (it never started, or its result came from the cache)`);
    const lines = first.lines;
    for (let page: LogLine[] = first.lines; page.length === LOG_PAGE; ) {
      const next: ApiLogs = await this.api.get<ApiLogs>(`api/tasks/${task.id}/logs`, { attempt: attempt.number, after: lines[lines.length - 1].seq, limit: LOG_PAGE });
      page = next.lines;
      lines.push(...page);
    }
    return { task: { id: task.id, name: task.name }, attempt: { number: attempt.number, state: attempt.state }, origin: first.cachedFrom, lines };
  }

  async products(jobRef: string) {
    const job = await this.api.get<ApiJob>(`api/jobs/${segment(jobRef)}`);
    const products = await this.api.get<ProductDetail[]>(`api/jobs/${job.id}/products`);
    return {
      job,
      products: products.map((p) => ({ path: p.path, producer: p.producer, sha256: p.sha256, size: p.size, versions: p.versions, createdAt: p.createdAt })),
    };
  }

  async retry(ref: string) {
    const { route, jobId, label } = await this.resolveTarget(ref);
    const done = await this.api.post<{ requeued: number; hint: string | null }>(`${route}/retry`);
    return { jobId, target: label, count: done.requeued, hint: done.hint };
  }

  async cancel(ref: string) {
    const { route, jobId, label } = await this.resolveTarget(ref);
    const done = await this.api.post<{ cancelled: number; state?: JobState; jobState?: JobState }>(`${route}/cancel`);
    return { jobId, target: label, count: done.cancelled, state: (done.state ?? done.jobState)! };
  }

  workers(): Promise<WorkerRecord[]> {
    return this.api.get<WorkerRecord[]>('api/workers/registered');
  }

  /** A task by id or as JOB/TASK, as the store's getTask reads references. */
  private async taskDetail(ref: string): Promise<ApiTask> {
    if (/^\d+$/.test(ref)) return this.api.get<ApiTask>(`api/tasks/${ref}`);
    const slash = ref.indexOf('/');
    if (slash <= 0) {
      throw new NotFoundError(`task ${JSON.stringify(ref)}: name a task by its id or as JOB/TASK (e.g. transit/search_0); \`orrery tasks JOB\` lists them`);
    }
    const name = ref.slice(slash + 1).split('/').map(segment).join('/');
    return this.api.get<ApiTask>(`api/jobs/${segment(ref.slice(0, slash))}/task/${name}`);
  }

  /** JOB (id or name), or JOB/TASK: a task and its downstream. */
  private async resolveTarget(ref: string): Promise<{ route: string; jobId: number; label: string }> {
    if (ref.includes('/')) {
      const task = await this.taskDetail(ref);
      return { route: `api/tasks/${task.id}`, jobId: task.jobId, label: `task ${task.name} and its downstream` };
    }
    const job = await this.api.get<ApiJob>(`api/jobs/${segment(ref)}`);
    return { route: `api/jobs/${job.id}`, jobId: job.id, label: `job ${job.id} (${job.name})` };
  }
}

/** The task's own record out of /api/tasks/ID, in the same field order as the database gives it. */
function taskRecord(detail: ApiTask): TaskRecord {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(detail)) {
    if (key === 'attempts') record.attempts = detail.attemptCount;
    else if (key === 'inputs') record.inputs = detail.inputPaths;
    else if (key === 'outputs') record.outputs = detail.outputPaths;
    else if (!TASK_EXTRAS.has(key)) record[key] = value;
  }
  return record as unknown as TaskRecord;
}
