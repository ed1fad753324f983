/**
 * Distributed mode: `orrery server` (the engine), `orrery worker` (runs tasks of any job
 * in its pool), `orrery submit` (returns at once with the job id), and fleet control:
 * `orrery workers`, `orrery drain`, `orrery resume`.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { openDispatch } from '../../dispatch/open.js';
import { runEngine } from '../../engine/server.js';
import { submitPlan } from '../../engine/submit.js';
import { openFileRepository } from '../../files/open.js';
import type { FileRepository } from '../../files/repository.js';
import { loadJob } from '../../spec/load.js';
import { openStore, redact as redactUrl } from '../../store/open.js';
import { WorkerPool } from '../../worker/worker-pool.js';
import { ProcessRunner } from '../../worker/process-runner.js';
import { type GlobalOptions, pathsOf, printJson, withStore } from '../context.js';
import { type Dashboard, type DashboardFlags, dashboardSettings, startDashboard } from '../dashboard.js';
import { durationFlag, memoryFlag, positiveInt } from '../flags.js';
import { type RemoteOptions, withInspector } from '../inspector.js';
import { table, time } from '../format.js';
import { describeEvent } from '../progress.js';
import { parseInputFlags } from './validate.js';

const log = (who: string) => (message: string) => process.stderr.write(`${new Date().toISOString()} ${who}: ${message}\n`);

export interface ServerOptions extends GlobalOptions, DashboardFlags {
  lease: string;
  /** False with --no-api: the engine alone. */
  api: boolean;
}

/** The engine loop and, unless --no-api, the HTTP API and dashboard; both stop on SIGINT/SIGTERM. */
export async function serverCommand(options: ServerOptions): Promise<number> {
  const paths = pathsOf(options);
  const leaseMs = durationFlag(options.lease, '--lease');
  const settings = options.api === false ? null : dashboardSettings(options);
  const say = log('server');
  const store = await openStore(paths.db);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let files: FileRepository | null = null;
  let dashboard: Dashboard | null = null;
  try {
    if (settings) {
      // downloads come from the jobs' file repository: the same --store / ORRERY_STORE the workers use
      files = await openFileRepository(paths.files);
      dashboard = await startDashboard(settings, {
        store,
        products: files,
        mode: 'server',
        retryHint: () => 'workers will run them',
        onError: (error) => say(`API: ${error.stack ?? error.message}`),
      });
      for (const line of [`dashboard and HTTP API: ${dashboard.url}`, ...dashboard.banner]) say(line);
    }
    say(`engine running on ${redactUrl(paths.db)} (lease ${leaseMs} ms)`);
    await runEngine({ store, leaseMs, signal: stop.signal, log: say });
    say('stopped');
  } finally {
    await dashboard?.server.close();
    await store.close();
    files?.close?.();
  }
  return 0;
}

export interface WorkerOptions extends GlobalOptions {
  pool?: string;
  types?: string;
  concurrency?: string;
  cores?: string;
  memory?: string;
  exitWhenIdle?: string;
  lease: string;
  grace: string;
  poll: string;
}

export async function workerCommand(options: WorkerOptions): Promise<number> {
  const paths = pathsOf(options);
  const leaseMs = durationFlag(options.lease, '--lease');
  // before anything is opened: it refuses an ORRERY_LAUNCHER it cannot honour
  const runner = new ProcessRunner();
  const files = await openFileRepository(options.store ?? paths.files);
  const store = await openStore(paths.db);
  const id = `${os.hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
  const say = log(`worker ${id}`);
  const dispatch = await openDispatch(paths.db, durationFlag(options.poll, '--poll'), (error) => say(`notifications unavailable (${error.message}); polling until they are back`));
  const types = options.types ? options.types.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
  const concurrency = options.concurrency ? positiveInt(options.concurrency, '--concurrency') : undefined;
  const pool = new WorkerPool({
    store,
    worker: id,
    leaseMs,
    pool: options.pool,
    types,
    concurrency,
    dispatch,
    idlePollMs: durationFlag(options.poll, '--poll'),
    exitWhenIdleMs: options.exitWhenIdle ? durationFlag(options.exitWhenIdle, '--exit-when-idle') : undefined,
    registration: { pool: options.pool ?? null },
    capacity: {
      cpu: options.cores ? Number(options.cores) : (concurrency ?? os.availableParallelism()),
      memory: options.memory ? memoryFlag(options.memory) : Math.floor(os.totalmem() * 0.9),
    },
    context: {
      files,
      runner,
      host: os.hostname(),
      scratchRoot: path.join(paths.stateDir, 'scratch', id.replace(/:/g, '-')),
      noCache: false,
      keepScratch: false,
    },
    onEvent: (event) => {
      const line = describeEvent(event);
      if (line) say(line);
    },
  });
  await store.registerWorker({ id, host: os.hostname(), pid: process.pid, pool: options.pool ?? null, types: types ?? null, concurrency: concurrency ?? 0 });
  const graceMs = durationFlag(options.grace, '--grace');
  let draining: Promise<void> | null = null;
  const onSignal = (signal: string) => {
    if (draining) return;
    say(`${signal}: draining (no new tasks; running ones get ${graceMs} ms to finish, then go back to the queue)`);
    draining = pool.drain(graceMs, `worker ${id} was stopped (${signal}) before the task finished; queued again`);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  say(`claiming ${types ? `types ${types.join(', ')}` : 'every type'} of ${options.pool ? `pool ${options.pool}` : 'every pool'} from ${redactUrl(paths.db)}`);
  try {
    const end = await pool.run();
    if (draining) await draining;
    say(end === 'idle' ? 'idle long enough: exiting' : 'stopped');
    await store.stopWorker(id, 'stopped');
  } finally {
    await runner.close();
    await dispatch.close();
    await store.close();
    files.close?.();
  }
  return 0;
}

export interface SubmitOptions extends GlobalOptions {
  config?: string;
  input: string[];
  maxTasks?: string;
  failFast?: boolean;
}

export async function submitCommand(jobFile: string, options: SubmitOptions): Promise<number> {
  const paths = pathsOf(options);
  const plan = loadJob({
    jobFile,
    configFile: options.config ?? null,
    externalInputs: parseInputFlags(options.input),
    maxTasks: options.maxTasks ? Number(options.maxTasks) : undefined,
  });
  const files = await openFileRepository(options.store ?? paths.files);
  const store = await openStore(paths.db);
  try {
    const { job, resumed } = await submitPlan(store, files, plan, { failFast: Boolean(options.failFast), sourceFile: path.resolve(jobFile), resume: true });
    if (options.json) printJson({ job: job.id, name: job.name, tasks: plan.tasks.length, resumed });
    else process.stdout.write(`${resumed ? 'already submitted, unfinished' : 'submitted'}: job ${job.id} (${job.name}), ${plan.tasks.length} task(s)\n`);
  } finally {
    await store.close();
    files.close?.();
  }
  return 0;
}

export function workersCommand(options: RemoteOptions & { all?: boolean }): Promise<number> {
  return withInspector(options, async (inspector) => {
    const workers = (await inspector.workers()).filter((w) => options.all || w.state === 'active' || w.state === 'draining');
    if (options.json) printJson(workers);
    else if (workers.length === 0) process.stdout.write('no workers\n');
    else {
      process.stdout.write(
        `${table(
          ['WORKER', 'HOST', 'POOL', 'STATE', 'LAST HEARTBEAT', 'TASKS'],
          workers.map((w) => [w.id, w.host, w.pool ?? '(all)', w.state, time(w.lastHeartbeat), w.tasks.map((t) => `${t.jobId}/${t.name}`).join(', ')]),
        )}\n`,
      );
    }
    return 0;
  });
}

export function drainCommand(options: GlobalOptions & { pool?: string }, paused = true): Promise<number> {
  return withStore(options, async (store) => {
    const pool = options.pool ?? '*';
    await store.setPoolPaused(pool, paused);
    const what = pool === '*' ? 'every pool' : `pool ${pool}`;
    if (options.json) printJson({ pool, paused });
    else process.stdout.write(paused ? `${what}: workers stop claiming new tasks (running ones finish); \`orrery resume\` undoes it\n` : `${what}: workers claim again\n`);
    return 0;
  });
}
