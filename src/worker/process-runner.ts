/**
 * Runs a command as a local subprocess tree: `/bin/sh -c command`, in a process group of
 * its own, so a timeout or cancellation kills every process it started (SIGTERM, then
 * SIGKILL after a grace period).
 *
 * The shells are started by a small launcher process (launcher.c, or launcher.cjs where
 * that was not built) rather than by this large one, which also reports each command's CPU
 * time and peak memory when it ends. Everything else — timeouts, kills, sampling the memory
 * of long-running trees, splitting output into lines — happens here.
 */
import os from 'node:os';
import { chooseLauncher, Launcher, LauncherExitedError, type LaunchHandlers, type LauncherProgram } from './launcher-client.js';
import { LineSplitter } from './line-splitter.js';
import { TreeMemorySampler } from './process-usage.js';
import type { RunOutcome, Runner, RunSpec } from './runner.js';

const signalNumbers = os.constants.signals as Record<string, number>;
const signalNames = new Map(Object.entries(signalNumbers).map(([name, number]) => [number, name]));

export class ProcessRunner implements Runner {
  /** Started on the first run and shared by every run after it. */
  private readonly launcher: Launcher;

  /** Throws when ORRERY_LAUNCHER asks for a launcher that is not there. */
  constructor(
    private readonly killGraceMs = 5000,
    program: LauncherProgram = chooseLauncher(),
  ) {
    this.launcher = new Launcher(killGraceMs, program);
  }

  run(spec: RunSpec): Promise<RunOutcome> {
    const started = performance.now();
    const out = new LineSplitter((line) => spec.onLine('stdout', line));
    const err = new LineSplitter((line) => spec.onLine('stderr', line));

    let pid: number | null = null;
    let sampler: TreeMemorySampler | null = null;
    let timedOut = false;
    let aborted = false;
    let killRequested = false;
    let killTimer: NodeJS.Timeout | null = null;
    const killTree = () => {
      killRequested = true;
      // before the launcher reports the pid, the kill waits for it (see started below)
      if (pid === null || killTimer) return;
      const group = pid;
      signalGroup(group, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(group, 'SIGKILL'), this.killGraceMs);
    };
    const timeout = spec.timeoutMs === null ? null : setTimeout(() => ((timedOut = true), killTree()), spec.timeoutMs);
    const onAbort = () => ((aborted = true), killTree());
    if (spec.signal.aborted) onAbort();
    else spec.signal.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      if (timeout) clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      spec.signal.removeEventListener('abort', onAbort);
      return sampler?.stop() ?? null;
    };

    return new Promise((resolve, reject) => {
      const handlers: LaunchHandlers = {
        started: (shellPid) => {
          pid = shellPid;
          sampler = new TreeMemorySampler(shellPid);
          sampler.start();
          spec.onSpawn?.(shellPid);
          if (killRequested) killTree();
        },
        output: (stream, chunk) => (stream === 'stdout' ? out : err).push(chunk),
        exited: (code, signal, cpuMicros, maxRssKiB) => {
          const sampled = settle();
          // make sure nothing the command started outlives it
          if (pid !== null && (timedOut || aborted)) signalGroup(pid, 'SIGKILL');
          out.end();
          err.end();
          // a shell reports a command killed by signal N as exit code 128 + N; a shell killed
          // itself is reported the same way, so both read alike
          const exitCode = code ?? 128 + signal;
          const exitSignal = signal ? (signalNames.get(signal) ?? `signal ${signal}`) : exitCode > 128 && exitCode < 128 + 65 ? (signalNames.get(exitCode - 128) ?? null) : null;
          const measured = maxRssKiB === null ? null : maxRssKiB * 1024;
          resolve({
            exitCode,
            signal: exitSignal,
            timedOut,
            aborted,
            wallMs: Math.round(performance.now() - started),
            cpuMs: cpuMicros === null ? null : Math.round(cpuMicros / 1000),
            peakRss: measured === null || sampled === null ? (measured ?? sampled) : Math.max(measured, sampled),
          });
        },
        failed: (error) => {
          settle();
          if (!(error instanceof LauncherExitedError)) return reject(new Error(`could not start the command: ${error.message}`));
          // the launcher died under the command: nothing else would stop its tree now
          if (pid !== null) signalGroup(pid, 'SIGKILL');
          reject(error);
        },
      };
      try {
        this.launcher.launch(spec, handlers);
      } catch (error) {
        handlers.failed(error as Error);
      }
    });
  }

  /** Stops the launcher; a later run starts a new one. */
  close(): Promise<void> {
    return this.launcher.close();
  }
}

/** Sends a signal to a whole process group; a group that is already gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already ended
  }
}
