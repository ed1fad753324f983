/** `orrery run JOB`: plan, submit (or resume) and run a job on this machine, and wait. */
import fs from 'node:fs';
import path from 'node:path';
import type { TaskState } from '../../core/types.js';
import { runEmbedded } from '../../engine/embedded.js';
import { openFileRepository } from '../../files/open.js';
import { loadJob } from '../../spec/load.js';
import type { Store } from '../../store/store.js';
import { type GlobalOptions, pathsOf, printJson, withStore } from '../context.js';
import { countsLine, seconds } from '../format.js';
import { memoryFlag } from '../flags.js';
import { createProgress, type Progress } from '../progress.js';
import { parseInputFlags } from './validate.js';

export interface RunOptions extends GlobalOptions {
  config?: string;
  input: string[];
  maxTasks?: string;
  failFast?: boolean;
  cache: boolean;
  keepScratch?: boolean;
  cores?: string;
  memory?: string;
  quiet?: boolean;
}

export async function runCommand(jobArg: string, options: RunOptions): Promise<number> {
  const started = performance.now();
  const paths = pathsOf(options);
  const isFile = fs.existsSync(jobArg) && fs.statSync(jobArg).isFile();
  const plan = isFile
    ? loadJob({
        jobFile: jobArg,
        configFile: options.config ?? null,
        externalInputs: parseInputFlags(options.input),
        maxTasks: options.maxTasks ? Number(options.maxTasks) : undefined,
      })
    : undefined;

  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let progress: Progress | null = null;
  try {
    const result = await runEmbedded({
      paths,
      plan,
      jobRef: isFile ? undefined : jobArg,
      sourceFile: isFile ? path.resolve(jobArg) : null,
      failFast: Boolean(options.failFast),
      noCache: !options.cache,
      keepScratch: Boolean(options.keepScratch),
      capacity: {
        cpu: options.cores ? Number(options.cores) : undefined,
        memory: options.memory ? memoryFlag(options.memory) : undefined,
      },
      interrupt: interrupt.signal,
      onJob: (job, resumed, store) => {
        if (!options.json && !options.quiet) {
          process.stdout.write(`${resumed ? 'resuming' : 'running'} job ${job.id} (${job.name})\n`);
        }
        progress = createProgress(store, job, process.stdout, Boolean(options.json || options.quiet));
      },
      onEvent: (event) => progress?.event(event),
      onEnd: async () => {
        await progress?.stop();
      },
    });
    const wall = (performance.now() - started) / 1000;
    const total = Object.values(result.counts).reduce((a, b) => a + b, 0);
    if (options.json) {
      printJson({ job: result.job.id, name: result.job.name, state: result.interrupted ? 'interrupted' : result.state, counts: result.counts, total, wall_seconds: Number(wall.toFixed(3)) });
    } else {
      process.stdout.write(`job ${result.job.id} (${result.job.name}) ${result.interrupted ? 'interrupted, resumable' : result.state}: ${countsLine(result.counts)} in ${seconds(Math.round(wall * 1000))}\n`);
      if (result.requeued > 0) process.stdout.write(`(${result.requeued} task(s) left running by an earlier run were queued again)\n`);
      await withStore(options, async (store) => {
        await printFailures(store, result.job.id, result.counts);
        if (!result.interrupted) await printReport(store, paths.files, result.job.id, result.job.report);
      });
    }
    if (result.interrupted) return 130;
    return result.state === 'succeeded' ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function printFailures(store: Store, jobId: number, counts: Record<TaskState, number>): Promise<void> {
  if (counts.failed === 0) return;
  const failed = await store.listTasks(jobId, { state: 'failed', limit: 5 });
  for (const task of failed) {
    process.stdout.write(`\nfailed: ${task.name} (orrery logs ${jobId}/${task.name})\n${indent(task.error ?? '')}\n`);
  }
  if (counts.failed > failed.length) process.stdout.write(`… and ${counts.failed - failed.length} more: orrery tasks ${jobId} --state failed\n`);
}

/** Prints the job's `report` product, if the job declared one and it was produced. */
async function printReport(store: Store, filesDir: string, jobId: number, report: string | null): Promise<void> {
  if (!report) return;
  const product = (await store.listProducts(jobId)).find((p) => p.path === report);
  if (!product) return;
  const files = await openFileRepository(filesDir);
  try {
    const bytes = await files.open(product.sha256);
    if (!bytes) return;
    process.stdout.write('\n');
    for await (const chunk of bytes) process.stdout.write(chunk as Buffer);
  } finally {
    files.close?.();
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

