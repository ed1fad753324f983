/** Reading commands: status, tasks, show, logs, files. All take --json. */
import { InvalidInputError, NotFoundError } from '../../core/errors.js';
import { allTaskStates } from '../../core/states.js';
import type { TaskState } from '../../core/types.js';
import type { Store, TaskRecord } from '../../store/store.js';
import { type GlobalOptions, printJson, withStore } from '../context.js';
import { bytes, countsLine, errorSummary, seconds, table, time } from '../format.js';

export function statusCommand(jobRef: string | undefined, options: GlobalOptions): Promise<number> {
  return withStore(options, async (store) => {
    if (jobRef === undefined) {
      const jobs = await store.listJobs();
      const rows = [];
      for (const job of jobs) rows.push({ ...job, counts: await store.countTasks(job.id) });
      if (options.json) printJson(rows.map(jobJson));
      else if (rows.length === 0) process.stdout.write('no jobs yet\n');
      else {
        process.stdout.write(
          `${table(
            ['JOB', 'NAME', 'STATE', 'CREATED', 'TASKS'],
            rows.map((r) => [r.id, r.name, r.state, time(r.createdAt), countsLine(r.counts)]),
          )}\n`,
        );
      }
      return 0;
    }
    const job = await store.getJob(jobRef);
    const counts = await store.countTasks(job.id);
    const byType = await store.countTasksByType(job.id);
    const failed = await store.listTasks(job.id, { state: 'failed', limit: 10 });
    if (options.json) {
      printJson({ ...jobJson({ ...job, counts }), types: byType, failures: failed.map((t) => ({ task: t.name, id: t.id, error: t.error })) });
      return 0;
    }
    process.stdout.write(`job ${job.id} ${job.name}: ${job.state}  (created ${time(job.createdAt)}${job.finishedAt ? `, finished ${time(job.finishedAt)}` : ''})\n`);
    process.stdout.write(`tasks: ${countsLine(counts)}\n\n`);
    const states = allTaskStates.filter((s) => Object.values(byType).some((c) => c[s] > 0));
    process.stdout.write(`${table(['TYPE', ...states.map((s) => s.toUpperCase())], Object.entries(byType).map(([type, c]) => [type, ...states.map((s) => c[s])]))}\n`);
    for (const task of failed) process.stdout.write(`\nfailed: ${task.name}\n  ${(task.error ?? '').split('\n').join('\n  ')}\n`);
    return 0;
  });
}

export interface TasksOptions extends GlobalOptions {
  state?: string;
  type?: string;
}

export function tasksCommand(jobRef: string, options: TasksOptions): Promise<number> {
  if (options.state && !allTaskStates.includes(options.state as TaskState)) {
    throw new InvalidInputError('', '--state', `expected one of ${allTaskStates.join(', ')}, got ${JSON.stringify(options.state)}`);
  }
  return withStore(options, async (store) => {
    const job = await store.getJob(jobRef);
    const tasks = await store.listTasks(job.id, { state: options.state as TaskState | undefined, type: options.type });
    if (options.json) {
      printJson(tasks);
      return 0;
    }
    process.stdout.write(
      `${table(
        ['ID', 'NAME', 'TYPE', 'STATE', 'ATTEMPTS', 'ERROR'],
        tasks.map((t) => [t.id, t.name, t.type, t.state, t.attempts, errorSummary(t.error)]),
      )}\n`,
    );
    return 0;
  });
}

export function showCommand(taskRef: string, options: GlobalOptions): Promise<number> {
  return withStore(options, async (store) => {
    const task = await store.getTask(taskRef);
    const attempts = await store.listAttempts(task.id);
    const deps = await store.dependencies(task.id);
    if (options.json) {
      printJson({ ...task, attempts, upstream: deps.upstream, downstream: deps.downstream });
      return 0;
    }
    const job = await store.getJob(task.jobId);
    const lines = [
      `task ${task.id} ${task.name} (job ${job.id} ${job.name})`,
      `type:      ${task.type}`,
      `state:     ${task.state}`,
      `params:    ${JSON.stringify(task.params)}`,
      `inputs:    ${JSON.stringify(task.inputs)}`,
      `outputs:   ${JSON.stringify(task.outputs)}`,
      `result:    ${task.result ? JSON.stringify(task.result) : ''}`,
      `upstream:  ${deps.upstream.join(', ')}`,
      `downstream: ${deps.downstream.join(', ')}`,
      `defined at: ${task.source}`,
    ];
    if (task.error) lines.push(`error:\n  ${task.error.split('\n').join('\n  ')}`);
    process.stdout.write(`${lines.join('\n')}\n\n`);
    if (attempts.length > 0) {
      process.stdout.write(
        `${table(
          ['ATTEMPT', 'STATE', 'HOST', 'STARTED', 'WALL', 'CPU', 'PEAK MEM', 'EXIT', 'ERROR'],
          attempts.map((a) => [a.number, a.state, a.host, time(a.startedAt), seconds(a.wallMs), seconds(a.cpuMs), bytes(a.peakRss), a.exitCode, errorSummary(a.error)]),
        )}\n`,
      );
    }
    return 0;
  });
}

export function logsCommand(taskRef: string, options: GlobalOptions & { attempt?: string }): Promise<number> {
  return withStore(options, async (store) => {
    const task = await store.getTask(taskRef);
    const origin = await cacheOrigin(store, task);
    const attempt = await pickAttempt(store, origin?.id ?? task.id, task.name, options.attempt);
    const lines = await store.readLogs(attempt.id);
    if (options.json) {
      printJson({ task: task.name, attempt: attempt.number, state: attempt.state, cached_from: origin ? origin.id : null, lines });
      return 0;
    }
    if (origin) process.stdout.write(`[orrery] ${task.name} reused the result of task ${origin.id} (${origin.name}, job ${origin.jobId}); its log:\n`);
    for (const line of lines) process.stdout.write(`${line.stream === 'orrery' ? '[orrery] ' : ''}${line.line}\n`);
    return 0;
  });
}

/** For a cached task, the task whose attempt produced the reused result. */
async function cacheOrigin(store: Store, task: TaskRecord): Promise<TaskRecord | null> {
  if (task.state !== 'cached' || !task.cacheKey) return null;
  const entry = await store.findCacheEntry(task.cacheKey);
  return entry && entry.taskId !== task.id ? store.getTaskById(entry.taskId).catch(() => null) : null;
}

async function pickAttempt(store: Store, taskId: number, name: string, wanted: string | undefined) {
  const attempts = await store.listAttempts(taskId);
  if (attempts.length === 0) throw new NotFoundError(`task ${name} has no attempts yet (it never started, or its result came from the cache)`);
  if (wanted === undefined) return attempts[attempts.length - 1];
  const found = attempts.find((a) => a.number === Number(wanted));
  if (!found) throw new NotFoundError(`task ${name} has no attempt ${wanted}; it has attempts 1..${attempts.length}`);
  return found;
}

export function filesCommand(jobRef: string, options: GlobalOptions): Promise<number> {
  return withStore(options, async (store) => {
    const job = await store.getJob(jobRef);
    const products = await store.listProducts(job.id);
    if (options.json) printJson(products);
    else {
      process.stdout.write(
        `${table(
          ['PATH', 'SIZE', 'SHA256', 'PRODUCER', 'VERSIONS'],
          products.map((p) => [`${job.workdir}/${p.path}`, bytes(p.size), p.sha256.slice(0, 12), p.producer ?? '(input)', p.versions]),
        )}\n`,
      );
    }
    return 0;
  });
}

function jobJson(job: { id: number; name: string; state: string; workdir: string; createdAt: number; finishedAt: number | null; counts: Record<TaskState, number> }) {
  const total = Object.values(job.counts).reduce((a, b) => a + b, 0);
  return { job: job.id, name: job.name, state: job.state, workdir: job.workdir, created_at: job.createdAt, finished_at: job.finishedAt, counts: job.counts, total };
}
