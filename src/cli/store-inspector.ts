/** The Inspector over the task database itself: what the commands do without --server. */
import { NotFoundError } from '../core/errors.js';
import type { TaskState } from '../core/types.js';
import type { Store, TaskRecord, TaskTarget } from '../store/store.js';
import type { Inspector, JobDetail, JobSummary, LogView, TaskView } from './inspector.js';

export class StoreInspector implements Inspector {
  constructor(private readonly store: Store) {}

  async jobs(): Promise<JobSummary[]> {
    const out = [];
    for (const job of await this.store.listJobs()) out.push({ ...job, counts: await this.store.countTasks(job.id) });
    return out;
  }

  async job(ref: string): Promise<JobDetail> {
    const job = await this.store.getJob(ref);
    const counts = await this.store.countTasks(job.id);
    const types = await this.store.countTasksByType(job.id);
    const failed = await this.store.listTasks(job.id, { state: 'failed', limit: 10 });
    return { ...job, counts, types, failures: failed.map((t) => ({ id: t.id, name: t.name, error: t.error })) };
  }

  async tasks(jobRef: string, filter: { state?: TaskState; type?: string }): Promise<TaskRecord[]> {
    const job = await this.store.getJob(jobRef);
    return this.store.listTasks(job.id, filter);
  }

  async task(ref: string): Promise<TaskView> {
    const task = await this.store.getTask(ref);
    const attempts = await this.store.listAttempts(task.id);
    const deps = await this.store.dependencies(task.id);
    const job = await this.store.getJob(task.jobId);
    return { task, job: { id: job.id, name: job.name }, attempts, upstream: deps.upstream, downstream: deps.downstream };
  }

  async logs(taskRef: string, wanted?: number): Promise<LogView> {
    const task = await this.store.getTask(taskRef);
    const origin = await this.cacheOrigin(task);
    const attempts = await this.store.listAttempts(origin?.id ?? task.id);
    if (attempts.length === 0) throw new NotFoundError(`task ${task.name} has no attempts yet (it never started, or its result came from the cache)`);
    const attempt = wanted === undefined ? attempts[attempts.length - 1] : attempts.find((a) => a.number === wanted);
    if (!attempt) throw new NotFoundError(`task ${task.name} has no attempt ${wanted}; it has attempts 1..${attempts.length}`);
    return {
      task: { id: task.id, name: task.name },
      attempt: { number: attempt.number, state: attempt.state },
      origin: origin && { id: origin.id, name: origin.name, jobId: origin.jobId },
      lines: await this.store.readLogs(attempt.id),
    };
  }

  async products(jobRef: string) {
    const job = await this.store.getJob(jobRef);
    return { job, products: await this.store.listProducts(job.id) };
  }

  async retry(ref: string) {
    const { target, jobId, label } = await this.resolveTarget(ref);
    const count = await this.store.retry(target);
    return { jobId, target: label, count, hint: `run \`orrery run ${jobId}\` to execute them` };
  }

  async cancel(ref: string) {
    const { target, jobId, label } = await this.resolveTarget(ref);
    const count = await this.store.cancel(target);
    return { jobId, target: label, count, state: await this.store.settleJob(jobId) };
  }

  workers() {
    return this.store.listRegisteredWorkers();
  }

  /** For a cached task, the task whose attempt produced the reused result. */
  private async cacheOrigin(task: TaskRecord): Promise<TaskRecord | null> {
    if (task.state !== 'cached' || !task.cacheKey) return null;
    const entry = await this.store.findCacheEntry(task.cacheKey);
    return entry && entry.taskId !== task.id ? this.store.getTaskById(entry.taskId).catch(() => null) : null;
  }

  /** JOB (id or name), or JOB/TASK: a task and its downstream. */
  private async resolveTarget(ref: string): Promise<{ target: TaskTarget; jobId: number; label: string }> {
    if (ref.includes('/')) {
      const task = await this.store.getTask(ref);
      return { target: { taskId: task.id }, jobId: task.jobId, label: `task ${task.name} and its downstream` };
    }
    const job = await this.store.getJob(ref);
    return { target: { jobId: job.id }, jobId: job.id, label: `job ${job.id} (${job.name})` };
  }
}
