/** `orrery retry` and `orrery cancel`: JOB (id or name) or JOB/TASK (a task and its downstream). */
import type { Store, TaskTarget } from '../../store/store.js';
import { type GlobalOptions, printJson, withStore } from '../context.js';

async function resolveTarget(store: Store, ref: string): Promise<{ target: TaskTarget; jobId: number; label: string }> {
  if (ref.includes('/')) {
    const task = await store.getTask(ref);
    return { target: { taskId: task.id }, jobId: task.jobId, label: `task ${task.name} and its downstream` };
  }
  const job = await store.getJob(ref);
  return { target: { jobId: job.id }, jobId: job.id, label: `job ${job.id} (${job.name})` };
}

export function retryCommand(ref: string, options: GlobalOptions): Promise<number> {
  return withStore(options, async (store) => {
    const { target, jobId, label } = await resolveTarget(store, ref);
    const count = await store.retry(target);
    if (options.json) printJson({ job: jobId, requeued: count });
    else process.stdout.write(`${label}: ${count} task(s) queued again; run \`orrery run ${jobId}\` to execute them\n`);
    return 0;
  });
}

export function cancelCommand(ref: string, options: GlobalOptions): Promise<number> {
  return withStore(options, async (store) => {
    const { target, jobId, label } = await resolveTarget(store, ref);
    const count = await store.cancel(target);
    const state = await store.settleJob(jobId);
    if (options.json) printJson({ job: jobId, cancelled: count, state });
    else process.stdout.write(`${label}: ${count} task(s) cancelled; job is ${state}\n`);
    return 0;
  });
}
