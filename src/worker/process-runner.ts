/**
 * Runs a command as a local subprocess tree: `/bin/sh -c command`, in a process group of
 * its own, so a timeout or cancellation kills every process it started (SIGTERM, then
 * SIGKILL after a grace period).
 *
 * The shells are started by a small launcher process (launcher.c, or launcher.cjs where
 * that was not built) rather than by this large one, which also reports each command's CPU
 * time and peak memory when it ends. Everything else — timeouts, kills, sampling the memory
 * of long-running trees, splitting output into lines — happens here, with as little work
 * per command as possible: most commands of a big fan-out run for a few milliseconds.
 */
import os from 'node:os';
import { chooseLauncher, Launcher, LauncherExitedError, type LaunchHandlers, type LauncherProgram } from './launcher-client.js';
import { LineSplitter } from './line-splitter.js';
import { TreeMemorySampler, type WatchedTree } from './process-usage.js';
import type { CommandHandle, RunOutcome, Runner, RunSpec } from './runner.js';

const signalNumbers = os.constants.signals as Record<string, number>;
const signalNames = new Map(Object.entries(signalNumbers).map(([name, number]) => [number, name]));

export class ProcessRunner implements Runner {
  /** Started on the first run and shared by every run after it. */
  private readonly launcher: Launcher;
  readonly memory = new TreeMemorySampler();

  /** Throws when ORRERY_LAUNCHER asks for a launcher that is not there. */
  constructor(
    readonly killGraceMs = 5000,
    program: LauncherProgram = chooseLauncher(),
  ) {
    this.launcher = new Launcher(killGraceMs, program);
  }

  run(spec: RunSpec): Promise<RunOutcome> {
    return new Promise((resolve, reject) => {
      const command = new RunningCommand(spec, this, resolve, reject);
      // taken back before it was given to the launcher: the command it was to follow may have
      // ended already, and it would start at once
      if (spec.withdraw?.aborted) {
        command.dropped();
        return;
      }
      try {
        command.id = this.launcher.launch(spec, command, spec.after);
      } catch (error) {
        command.failed(error as Error);
        return;
      }
      spec.onLaunch?.(command.id as CommandHandle);
      command.watchAbort();
    });
  }

  /** A command that waits for another never starts (see Launcher.cancel). */
  cancel(id: number): void {
    this.launcher.cancel(id);
  }

  /** Stops the launcher; a later run starts a new one. */
  close(): Promise<void> {
    return this.launcher.close();
  }
}

/** One run: the launcher's events for it, its timers, and what it ended with. */
class RunningCommand implements LaunchHandlers {
  /** The launcher's id for it, once launched. */
  id = 0;
  private startedAt = 0;
  private begunYet = false;
  private pid: number | null = null;
  private timedOut = false;
  private aborted = false;
  private killRequested = false;
  private timeout: NodeJS.Timeout | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private tree: WatchedTree | null = null;
  // made on the first output: most short commands write none
  private stdout: LineSplitter | null = null;
  private stderr: LineSplitter | null = null;

  constructor(
    private readonly spec: RunSpec,
    private readonly runner: ProcessRunner,
    private readonly resolve: (outcome: RunOutcome) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  /**
   * Once launched: an abort of the spec's signal stops the command, or cancels its wait; a
   * withdrawal cancels its wait only.
   */
  watchAbort(): void {
    this.spec.withdraw?.addEventListener('abort', this.withdraw, { once: true });
    if (this.spec.signal.aborted) this.handleEvent();
    else this.spec.signal.addEventListener('abort', this, { once: true });
  }

  /** The spec's signal was aborted (this object is its listener). */
  handleEvent(): void {
    this.aborted = true;
    if (!this.begunYet) this.runner.cancel(this.id);
    this.kill();
  }

  private readonly withdraw = (): void => {
    if (!this.begunYet) this.runner.cancel(this.id);
  };

  begun(): void {
    this.begunYet = true;
    this.startedAt = performance.now();
    if (this.spec.timeoutMs !== null) this.timeout = setTimeout(timeUp, this.spec.timeoutMs, this);
    this.spec.onBegin?.();
  }

  /** It never started: aborted, or withdrawn, while it waited. */
  dropped(): void {
    this.settle();
    const aborted = this.aborted || this.spec.signal.aborted;
    this.resolve({ exitCode: null, signal: null, timedOut: false, aborted, withdrawn: !aborted, wallMs: 0, cpuMs: null, peakRss: null });
  }

  timeUp(): void {
    this.timedOut = true;
    this.kill();
  }

  started(pid: number): void {
    this.pid = pid;
    this.tree = this.runner.memory.watch(pid);
    this.spec.onSpawn?.(pid);
    // a kill asked for before the pid was known happens now
    if (this.killRequested) this.kill();
  }

  output(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const onLine = this.spec.onLine;
    if (stream === 'stdout') (this.stdout ??= new LineSplitter((line) => onLine('stdout', line))).push(chunk);
    else (this.stderr ??= new LineSplitter((line) => onLine('stderr', line))).push(chunk);
  }

  exited(code: number | null, signal: number, cpuMicros: number | null, maxRssKiB: number | null): void {
    const sampled = this.settle();
    // make sure nothing the command started outlives it
    if (this.pid !== null && (this.timedOut || this.aborted)) signalGroup(this.pid, 'SIGKILL');
    this.stdout?.end();
    this.stderr?.end();
    // a shell reports a command killed by signal N as exit code 128 + N; a shell killed
    // itself is reported the same way, so both read alike
    const exitCode = code ?? 128 + signal;
    const exitSignal = signal ? (signalNames.get(signal) ?? `signal ${signal}`) : exitCode > 128 && exitCode < 128 + 65 ? (signalNames.get(exitCode - 128) ?? null) : null;
    const measured = maxRssKiB === null ? null : maxRssKiB * 1024;
    this.resolve({
      exitCode,
      signal: exitSignal,
      timedOut: this.timedOut,
      aborted: this.aborted,
      withdrawn: false,
      wallMs: Math.round(performance.now() - this.startedAt),
      cpuMs: cpuMicros === null ? null : Math.round(cpuMicros / 1000),
      peakRss: measured === null || sampled === null ? (measured ?? sampled) : Math.max(measured, sampled),
    });
  }

  failed(error: Error): void {
    this.settle();
    if (!(error instanceof LauncherExitedError)) return this.reject(new Error(`could not start the command: ${error.message}`));
    // the launcher died under the command: nothing else would stop its tree now
    if (this.pid !== null) signalGroup(this.pid, 'SIGKILL');
    this.reject(error);
  }

  private kill(): void {
    this.killRequested = true;
    // before the launcher reports the pid, the kill waits for it (see started)
    if (this.pid === null || this.killTimer) return;
    signalGroup(this.pid, 'SIGTERM');
    this.killTimer = setTimeout(signalGroup, this.runner.killGraceMs, this.pid, 'SIGKILL');
  }

  /** Clears the timers and the listener; returns the sampled peak memory. */
  private settle(): number | null {
    if (this.timeout) clearTimeout(this.timeout);
    if (this.killTimer) clearTimeout(this.killTimer);
    this.spec.signal.removeEventListener('abort', this);
    this.spec.withdraw?.removeEventListener('abort', this.withdraw);
    return this.tree === null ? null : this.runner.memory.unwatch(this.tree);
  }
}

function timeUp(command: RunningCommand): void {
  command.timeUp();
}

/** Sends a signal to a whole process group; a group that is already gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already ended
  }
}
