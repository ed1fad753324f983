/** `orrery retry` and `orrery cancel`: JOB (id or name) or JOB/TASK (a task and its downstream). */
import { printJson } from '../context.js';
import { type RemoteOptions, withInspector } from '../inspector.js';

export function retryCommand(ref: string, options: RemoteOptions): Promise<number> {
  return withInspector(options, async (inspector) => {
    const { jobId, target, count, hint } = await inspector.retry(ref);
    if (options.json) printJson({ job: jobId, requeued: count });
    else process.stdout.write(`${target}: ${count} task(s) queued again${hint ? `; ${hint}` : ''}\n`);
    return 0;
  });
}

export function cancelCommand(ref: string, options: RemoteOptions): Promise<number> {
  return withInspector(options, async (inspector) => {
    const { jobId, target, count, state } = await inspector.cancel(ref);
    if (options.json) printJson({ job: jobId, cancelled: count, state });
    else process.stdout.write(`${target}: ${count} task(s) cancelled; job is ${state}\n`);
    return 0;
  });
}
