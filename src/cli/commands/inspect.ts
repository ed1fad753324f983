/** Reading commands: status, tasks, show, logs, files. All take --json, and --server to ask a server's API. */
import { InvalidInputError } from '../../core/errors.js';
import { allTaskStates } from '../../core/states.js';
import type { TaskState } from '../../core/types.js';
import { printJson } from '../context.js';
import { positiveInt } from '../flags.js';
import { bytes, countsLine, errorSummary, seconds, table, time } from '../format.js';
import { type JobSummary, type RemoteOptions, withInspector } from '../inspector.js';

export function statusCommand(jobRef: string | undefined, options: RemoteOptions): Promise<number> {
  return withInspector(options, async (inspector) => {
    if (jobRef === undefined) {
      const jobs = await inspector.jobs();
      if (options.json) printJson(jobs.map(jobJson));
      else if (jobs.length === 0) process.stdout.write('no jobs yet\n');
      else {
        process.stdout.write(
          `${table(
            ['JOB', 'NAME', 'STATE', 'CREATED', 'TASKS'],
            jobs.map((r) => [r.id, r.name, r.state, time(r.createdAt), countsLine(r.counts)]),
          )}\n`,
        );
      }
      return 0;
    }
    const job = await inspector.job(jobRef);
    if (options.json) {
      printJson({ ...jobJson(job), types: job.types, failures: job.failures.map((t) => ({ task: t.name, id: t.id, error: t.error })) });
      return 0;
    }
    process.stdout.write(`job ${job.id} ${job.name}: ${job.state}  (created ${time(job.createdAt)}${job.finishedAt ? `, finished ${time(job.finishedAt)}` : ''})\n`);
    process.stdout.write(`tasks: ${countsLine(job.counts)}\n\n`);
    const states = allTaskStates.filter((s) => Object.values(job.types).some((c) => c[s] > 0));
    process.stdout.write(`${table(['TYPE', ...states.map((s) => s.toUpperCase())], Object.entries(job.types).map(([type, c]) => [type, ...states.map((s) => c[s])]))}\n`);
    for (const task of job.failures) process.stdout.write(`\nfailed: ${task.name}\n  ${(task.error ?? '').split('\n').join('\n  ')}\n`);
    return 0;
  });
}

export interface TasksOptions extends RemoteOptions {
  state?: string;
  type?: string;
}

export function tasksCommand(jobRef: string, options: TasksOptions): Promise<number> {
  if (options.state && !allTaskStates.includes(options.state as TaskState)) {
    throw new InvalidInputError('', '--state', `expected one of ${allTaskStates.join(', ')}, got ${JSON.stringify(options.state)}`);
  }
  return withInspector(options, async (inspector) => {
    const tasks = await inspector.tasks(jobRef, { state: options.state as TaskState | undefined, type: options.type });
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

export function showCommand(taskRef: string, options: RemoteOptions): Promise<number> {
  return withInspector(options, async (inspector) => {
    const { task, job, attempts, upstream, downstream } = await inspector.task(taskRef);
    if (options.json) {
      printJson({ ...task, attempts, upstream, downstream });
      return 0;
    }
    const lines = [
      `task ${task.id} ${task.name} (job ${job.id} ${job.name})`,
      `type:      ${task.type}`,
      `state:     ${task.state}`,
      `params:    ${JSON.stringify(task.params)}`,
      `inputs:    ${JSON.stringify(task.inputs)}`,
      `outputs:   ${JSON.stringify(task.outputs)}`,
      `result:    ${task.result ? JSON.stringify(task.result) : ''}`,
      `upstream:  ${upstream.join(', ')}`,
      `downstream: ${downstream.join(', ')}`,
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

export function logsCommand(taskRef: string, options: RemoteOptions & { attempt?: string }): Promise<number> {
  const wanted = options.attempt === undefined ? undefined : positiveInt(options.attempt, '--attempt');
  return withInspector(options, async (inspector) => {
    const { task, attempt, origin, lines } = await inspector.logs(taskRef, wanted);
    if (options.json) {
      printJson({ task: task.name, attempt: attempt.number, state: attempt.state, cached_from: origin ? origin.id : null, lines });
      return 0;
    }
    if (origin) process.stdout.write(`[orrery] ${task.name} reused the result of task ${origin.id} (${origin.name}, job ${origin.jobId}); its log:\n`);
    for (const line of lines) process.stdout.write(`${line.stream === 'orrery' ? '[orrery] ' : ''}${line.line}\n`);
    return 0;
  });
}

export function filesCommand(jobRef: string, options: RemoteOptions): Promise<number> {
  return withInspector(options, async (inspector) => {
    const { job, products } = await inspector.products(jobRef);
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

function jobJson(job: JobSummary) {
  const total = Object.values(job.counts).reduce((a, b) => a + b, 0);
  return { job: job.id, name: job.name, state: job.state, workdir: job.workdir, created_at: job.createdAt, finished_at: job.finishedAt, counts: job.counts, total };
}
