/**
 * Runs one claimed task from start to end: reuse a cached result if an identical task
 * already produced it, otherwise open an attempt, stage the scratch directory, run the
 * command (and its QC), take the outputs into the file repository and report success or
 * failure. Every report is fenced by the lease: a worker that lost the task changes nothing.
 */
import fs from 'node:fs';
import { cacheKey } from '../core/hashing.js';
import { CONTROL_TYPE } from '../spec/control-spec.js';
import { InvalidExtensionError } from '../store/sql/extend.js';
import type { FileRepository } from '../files/repository.js';
import { isConnectionError } from '../store/outage.js';
import type { ClaimedTask, FileVersion, Store, Usage } from '../store/store.js';
import { AttemptLog } from './attempt-log.js';
import { retryThroughOutage } from './outage.js';
import { processStartTime } from './process-usage.js';
import { executeControl } from './control.js';
import { collectOutputs, prepareScratch, readResult, TaskProtocolError } from './protocol.js';
import type { ScratchDirectories } from './scratch-dirs.js';
import { readSpawn } from './spawn.js';
import type { CommandHandle, RunOutcome, Runner } from './runner.js';

/** How long a command runs before its pid is recorded (see run() in executeTask). */
const PID_RECORD_DELAY_MS = 200;

export interface ExecuteContext {
  store: Store;
  files: FileRepository;
  runner: Runner;
  host: string;
  scratchRoot: string;
  /** Where the scratch directories under scratchRoot are made and, once done with, recycled. */
  scratchDirs: ScratchDirectories;
  noCache: boolean;
  keepScratch: boolean;
  /** Set when the task needs more than this machine can ever give. */
  impossible?: string;
  onStart?(claim: ClaimedTask, attempt: number): void;
  /**
   * Resolves when the task may start its processes: at once, or, for a task claimed ahead
   * while the worker was full, when room frees (or the task is aborted) — or with another
   * task's last command to follow, to start the moment that one ends, in the room it frees,
   * and a signal that takes the task back from behind it. Asked again, `withdrawn`, by a task
   * so taken back before its command started.
   */
  waitForRoom?(withdrawn?: boolean): Promise<Place | undefined>;
  /**
   * The task's last command (its command, or its QC when it has one) has been given to the
   * runner: a task waiting for room may follow it (see waitForRoom).
   */
  onLastCommand?(handle: CommandHandle): void;
  /**
   * The task's processes have ended: its cores and memory are free for the next task while
   * its outputs and outcome are still being recorded.
   */
  onProcessesEnded?(): void;
  /**
   * True while the worker could not start another task (its room is full): then a completion
   * need not be committed at once (store.ts, CompletionTiming).
   */
  busy?(): boolean;
}

/** Where a task waits to start: behind another task's last command (see waitForRoom). */
export interface Place {
  follows: CommandHandle;
  withdraw: AbortSignal;
}

export type ExecuteResult =
  | { outcome: 'cached' | 'succeeded'; wallMs: number }
  | { outcome: 'retrying' | 'failed'; error: string }
  | { outcome: 'fenced' };

export async function executeTask(claim: ClaimedTask, ctx: ExecuteContext, signal: AbortSignal): Promise<ExecuteResult> {
  if (claim.type.name === CONTROL_TYPE) return executeControl(claim, ctx.store);
  const key = cacheKey({ typeHash: claim.typeHash, params: claim.task.params, outputs: claim.task.outputs, inputs: claim.inputs, upstreamKeys: claim.upstreamKeys });
  if (!ctx.noCache && (await reuseCached(claim, key, ctx))) return { outcome: 'cached', wallMs: 0 };
  if (ctx.impossible) return report(await ctx.store.fail(claim, { error: ctx.impossible, exitCode: null, signal: null, usage: null, retryable: false }), ctx.impossible);

  const { attempt } = claim;
  const scratch = attempt.scratch;
  const log = new AttemptLog(ctx.store, attempt.id);
  const flusher = setInterval(() => void log.flush().catch(() => {}), 500);
  try {
    const prepared = await prepareScratch(claim, attempt.number, scratch, ctx.files, ctx.scratchDirs);
    let place = await ctx.waitForRoom?.();
    if (signal.aborted) return { outcome: 'fenced' };
    // `last`: no command of this task follows; `place`: the command to start after (waitForRoom)
    const run = async (command: string, last: boolean, place?: Place, onBegin?: () => void) => {
      // the pid serves to find the processes of a worker that died; a command that ends
      // within PID_RECORD_DELAY_MS needs no record (nor does a resumed run need it to find
      // the young ones: it also looks for processes by scratch directory)
      let recording: NodeJS.Timeout | undefined;
      try {
        return await ctx.runner.run({
          command,
          cwd: scratch,
          env: prepared.env,
          timeoutMs: claim.type.timeoutMs,
          signal,
          onLine: (stream, line) => log.add(stream, line),
          onSpawn: (pid) => {
            recording = setTimeout(() => void ctx.store.recordProcess(attempt.id, pid, processStartTime(pid)).catch(() => {}), PID_RECORD_DELAY_MS);
          },
          after: place?.follows,
          withdraw: place?.withdraw,
          onLaunch: last ? ctx.onLastCommand : undefined,
          onBegin,
        });
      } finally {
        clearTimeout(recording);
      }
    };
    const begin = () => ctx.onStart?.(claim, attempt.number);
    let outcome = await run(prepared.command, !prepared.qc, place, begin);
    // taken back from behind a command that runs long: it waits for room again
    while (outcome.withdrawn) {
      place = await ctx.waitForRoom?.(true);
      if (signal.aborted) return { outcome: 'fenced' };
      outcome = await run(prepared.command, !prepared.qc, place, begin);
    }
    if (outcome.exitCode !== 0 || !prepared.qc) ctx.onProcessesEnded?.();
    const usage: Usage = { wallMs: outcome.wallMs, cpuMs: outcome.cpuMs, peakRss: outcome.peakRss };
    if (outcome.aborted) return { outcome: 'fenced' };
    if (outcome.exitCode !== 0) {
      const error = describeFailure(outcome, claim, log.tail());
      await retryThroughOutage(() => log.flush());
      return report(await retryThroughOutage(() => ctx.store.fail(claim, { error, exitCode: outcome.exitCode, signal: outcome.signal, usage, retryable: true })), error);
    }
    const found = collectOutputs(claim, scratch);
    const result = readResult(prepared.resultFile);
    const spawned = await readSpawn(prepared.spawnFile, claim, ctx.store);
    if (prepared.qc) {
      log.add('orrery', `running QC: ${prepared.qc}`);
      const qc = await run(prepared.qc, true);
      ctx.onProcessesEnded?.();
      if (qc.aborted) return { outcome: 'fenced' };
      if (qc.exitCode !== 0) throw new TaskProtocolError(`QC failed (exit code ${qc.exitCode}): ${log.tail() || 'no output'}`);
    }
    const outputs: Record<string, FileVersion> = {};
    for (const [product, file] of Object.entries(found)) {
      const isLink = fs.lstatSync(file).isSymbolicLink();
      outputs[product] = isLink ? await ctx.files.putCopy(file) : await ctx.files.putMove(file);
    }
    await retryThroughOutage(() => log.flush());
    const done = await retryThroughOutage(() => ctx.store.succeed(claim, { cacheKey: key, outputs, result, exitCode: 0, usage }, spawned ?? undefined, { deferrable: ctx.busy?.() })).catch(
      (error: unknown) => {
        // spawned tasks that contradict the job (two writers, a missing input) fail the attempt
        if (error instanceof InvalidExtensionError) throw new TaskProtocolError(`ORRERY_SPAWN: ${error.message}`);
        throw error;
      },
    );
    return done ? { outcome: 'succeeded', wallMs: outcome.wallMs } : { outcome: 'fenced' };
  } catch (error) {
    // the database is unreachable: nothing can be recorded now; the lease expires and the
    // task is re-queued as lost
    if (isConnectionError(error)) throw error;
    // the code broke the protocol, or staging/storing files failed (disk full, a missing or
    // corrupt object): a failed attempt, so retries apply and a persistent problem ends
    const message = error instanceof TaskProtocolError ? error.message : `orrery could not run the task: ${(error as Error).message}`;
    log.add('orrery', message);
    await log.flush();
    return report(await ctx.store.fail(claim, { error: message, exitCode: null, signal: null, usage: null, retryable: true }), message);
  } finally {
    clearInterval(flusher);
    await log.flush().catch(() => {});
    if (!ctx.keepScratch) ctx.scratchDirs.discard(scratch);
  }
}

/** A cache entry is usable only when every output it names is still in the repository. */
async function reuseCached(claim: ClaimedTask, key: string, ctx: ExecuteContext): Promise<boolean> {
  const entry = await ctx.store.findCacheEntry(key);
  if (!entry) return false;
  for (const version of Object.values(entry.outputs)) if (!(await ctx.files.has(version.sha256))) return false;
  return ctx.store.completeFromCache(claim, entry, { deferrable: ctx.busy?.() });
}

function describeFailure(outcome: RunOutcome, claim: ClaimedTask, tail: string): string {
  const head = outcome.timedOut
    ? `timed out after ${claim.type.timeoutMs} ms (timeout of task type ${claim.type.name}); the process tree was killed`
    : outcome.signal
      ? `killed by ${outcome.signal} (exit code ${outcome.exitCode})`
      : `exit code ${outcome.exitCode}`;
  return tail ? `${head}\n${tail}` : head;
}

function report(outcome: 'retrying' | 'failed' | 'fenced', error: string): ExecuteResult {
  return outcome === 'fenced' ? { outcome } : { outcome, error };
}
