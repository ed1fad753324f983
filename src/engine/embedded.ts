/**
 * Embedded mode: `orrery run` on one machine. Takes the state directory's lock, re-queues
 * what a dead earlier run left running (killing its orphaned processes), submits or
 * resumes the job, and runs the local worker pool until the job ends or is interrupted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobState, PlannedJob, TaskState } from '../core/types.js';
import { openFileRepository } from '../files/open.js';
import { openStore } from '../store/open.js';
import type { JobRecord, Store } from '../store/store.js';
import { processStartTime } from '../worker/process-usage.js';
import { ProcessRunner, signalGroup } from '../worker/process-runner.js';
import { scratchLeftovers } from '../worker/scratch-dirs.js';
import { PollDispatch } from '../dispatch/dispatch.js';
import { type Capacity, type PoolEvent, WorkerPool } from '../worker/worker-pool.js';
import { StateLock } from './state-lock.js';
import { submitPlan } from './submit.js';

export interface StatePaths {
  stateDir: string;
  db: string;
  files: string;
}

export function statePaths(options: { stateDir?: string; db?: string; store?: string }): StatePaths {
  const stateDir = path.resolve(options.stateDir ?? process.env.ORRERY_STATE_DIR ?? '.orrery');
  return {
    stateDir,
    db: options.db ?? process.env.ORRERY_DB ?? path.join(stateDir, 'orrery.db'),
    files: resolveUnlessUrl(options.store ?? process.env.ORRERY_STORE ?? path.join(stateDir, 'files')),
  };
}

function resolveUnlessUrl(location: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location : path.resolve(location);
}

export interface EmbeddedRunOptions {
  paths: StatePaths;
  /** A plan to submit (or resume), or an existing job to continue. */
  plan?: PlannedJob;
  jobRef?: string;
  sourceFile: string | null;
  failFast: boolean;
  noCache: boolean;
  keepScratch: boolean;
  capacity?: Partial<Capacity>;
  leaseMs?: number;
  onEvent?(event: PoolEvent): void;
  onJob?(job: JobRecord, resumed: boolean, store: Store): void;
  /** Called when the run is over, while the task database is still open (a last progress frame). */
  onEnd?(): Promise<void>;
  /** Aborting stops the run: running tasks are killed and re-queued, the job stays resumable. */
  interrupt?: AbortSignal;
}

export interface EmbeddedRunResult {
  job: JobRecord;
  state: JobState;
  counts: Record<TaskState, number>;
  interrupted: boolean;
  resumed: boolean;
  requeued: number;
}

export const EMBEDDED_WORKER = `local@${os.hostname()}`;

/**
 * At most this many tasks claimed and staged ahead of free cores: enough that tasks of a
 * millisecond never wait for a claim (claims of several tasks are committed together with the
 * completions before them, store/sqlite/write-batch.ts), and only while tasks end that fast.
 */
const EMBEDDED_LOOKAHEAD = 16;

export async function runEmbedded(options: EmbeddedRunOptions): Promise<EmbeddedRunResult> {
  // first: it refuses an ORRERY_LAUNCHER it cannot honour before anything is opened
  const runner = new ProcessRunner();
  const lock = StateLock.acquire(options.paths.stateDir);
  const scratchRoot = path.join(options.paths.stateDir, 'scratch');
  const store = await openStore(options.paths.db).catch((error) => {
    lock.release();
    throw error;
  });
  const files = await openFileRepository(options.paths.files).catch(async (error) => {
    await store.close();
    lock.release();
    throw error;
  });
  try {
    const requeued = await requeueOrphans(store, scratchRoot, options.keepScratch);
    const { job, resumed } = options.plan
      ? await submitPlan(store, files, options.plan, { failFast: options.failFast, sourceFile: options.sourceFile, resume: !options.noCache })
      : { job: await store.getJob(options.jobRef!), resumed: true };
    options.onJob?.(job, resumed, store);

    const leaseMs = options.leaseMs ?? 30_000;
    const pool = new WorkerPool({
      store,
      worker: EMBEDDED_WORKER,
      jobId: job.id,
      leaseMs,
      // the next tasks are staged while the cores are busy, and start when one frees
      lookahead: EMBEDDED_LOOKAHEAD,
      dispatch: new PollDispatch(1000),
      capacity: {
        cpu: options.capacity?.cpu ?? os.availableParallelism(),
        memory: options.capacity?.memory ?? Math.floor(os.totalmem() * 0.9),
      },
      context: {
        files,
        runner,
        host: os.hostname(),
        scratchRoot,
        noCache: options.noCache,
        keepScratch: options.keepScratch,
      },
      onEvent: (event) => options.onEvent?.(event),
      onFailed: async () => {
        if (job.failFast || options.failFast) {
          await store.cancel({ jobId: job.id });
          pool.abort(pool.runningClaims.map((c) => c.task.id));
        }
      },
    });

    let interrupted = false;
    let stopping: Promise<unknown> | null = null;
    const onInterrupt = () => {
      interrupted = true;
      stopping = pool.stop();
    };
    options.interrupt?.addEventListener('abort', onInterrupt, { once: true });
    try {
      await pool.run();
      if (stopping) await stopping;
    } finally {
      options.interrupt?.removeEventListener('abort', onInterrupt);
    }
    if (interrupted) {
      await store.requeueLost({ worker: EMBEDDED_WORKER }, 'orrery run was interrupted; the task is queued again');
    }
    const state = interrupted ? 'running' : await store.settleJob(job.id);
    return { job: await store.getJob(job.id), state, counts: await store.countTasks(job.id), interrupted, resumed, requeued: requeued.length };
  } finally {
    await runner.close();
    await options.onEnd?.().catch(() => {});
    await store.close();
    files.close?.();
    lock.release();
  }
}

/**
 * With the lock held, nothing else runs the embedded worker: tasks it still holds were
 * left by a run that died. Their attempts are recorded as lost (not failures) and any
 * process of theirs still alive is killed, so two copies never write the same outputs:
 * by recorded pid, and — for a process started just before the kill, whose pid was not yet
 * recorded — by its working directory, the attempt's scratch directory.
 */
/**
 * Re-queues the tasks a dead run left running, kills the processes it left behind, and
 * removes the scratch directories it left (half-written outputs of attempts now recorded as
 * lost, and those of attempts recorded as done just before it died, before it emptied them),
 * unless the scratch directories are being kept.
 */
async function requeueOrphans(store: Store, scratchRoot: string, keepScratch: boolean) {
  const lost = await store.requeueLost({ worker: EMBEDDED_WORKER }, 'the orrery run holding this task ended without finishing it (killed or crashed)');
  const local = lost.filter((attempt) => attempt.host === os.hostname());
  for (const attempt of local) {
    if (attempt.pid && attempt.pidStart !== null && processStartTime(attempt.pid) === attempt.pidStart) signalGroup(attempt.pid, 'SIGKILL');
  }
  const scratches = [...new Set([...local.map((a) => a.scratch).filter((s): s is string => s !== null), ...scratchLeftovers(scratchRoot)])];
  for (const pid of processesInside(scratches)) signalGroup(pid, 'SIGKILL');
  if (!keepScratch && scratches.length > 0) {
    // SIGKILL takes effect at once, but a process is gone only when the kernel has reaped it:
    // wait for that (briefly), so none of them writes into a directory after its removal
    for (let waited = 0; waited < 2000 && processesInside(scratches).length > 0; waited += 20) await sleep(20);
    for (const scratch of scratches) fs.rmSync(scratch, { recursive: true, force: true });
  }
  return lost;
}

/** Pids of processes whose working directory is inside one of the directories (Linux /proc). */
function processesInside(directories: string[]): number[] {
  if (directories.length === 0 || process.platform !== 'linux') return [];
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      if (directories.some((dir) => cwd === dir || cwd.startsWith(`${dir}/`))) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
