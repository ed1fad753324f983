/**
 * Runs a command as a local subprocess tree. The command runs under `/bin/sh` in a
 * subshell, in a process group of its own, so a timeout or cancellation kills every
 * process it started (SIGTERM, then SIGKILL after a grace period). The wrapping shell
 * reports the tree's CPU time with the POSIX `times` builtin on file descriptor 3.
 *
 * The shells are started by a small launcher process (launcher.cjs) rather than by this
 * large one, because fork() gets slower as the forking process's memory grows. Everything
 * else — timeouts, kills, memory sampling, splitting output into lines — happens here.
 */
import os from 'node:os';
import { Launcher, LauncherExitedError } from './launcher-client.js';
import { LineSplitter } from './line-splitter.js';
import { parseShellTimes, TreeMemorySampler } from './process-usage.js';
import type { RunOutcome, Runner, RunSpec } from './runner.js';

const signalNumbers = os.constants.signals as Record<string, number>;
const signalNames = new Map(Object.entries(signalNumbers).map(([name, number]) => [number, name]));

export class ProcessRunner implements Runner {
  /** Started on the first run and shared by every run after it. */
  private readonly launcher: Launcher;

  constructor(private readonly killGraceMs = 5000) {
    this.launcher = new Launcher(killGraceMs);
  }

  run(spec: RunSpec): Promise<RunOutcome> {
    const started = performance.now();
    const script = `(\n${spec.command}\n)\n__orrery_status=$?\ntimes >&3\nexit $__orrery_status\n`;
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
      this.launcher.launch(
        { script, cwd: spec.cwd, env: spec.env },
        {
          started: (shellPid) => {
            pid = shellPid;
            sampler = new TreeMemorySampler(shellPid);
            sampler.start();
            spec.onSpawn?.(shellPid);
            if (killRequested) killTree();
          },
          output: (stream, chunk) => (stream === 'stdout' ? out : err).push(chunk),
          exited: (code, signal, times) => {
            const peakRss = settle();
            // make sure nothing the command started outlives it
            if (pid !== null && (timedOut || aborted)) signalGroup(pid, 'SIGKILL');
            out.end();
            err.end();
            const exitSignal = signal ?? (code !== null && code > 128 && code < 128 + 65 ? (signalNames.get(code - 128) ?? null) : null);
            resolve({
              exitCode: code,
              signal: exitSignal,
              timedOut,
              aborted,
              wallMs: Math.round(performance.now() - started),
              cpuMs: parseShellTimes(times),
              peakRss,
            });
          },
          failed: (error) => {
            settle();
            if (!(error instanceof LauncherExitedError)) return reject(new Error(`could not start the command in ${spec.cwd}: ${error.message}`));
            // the launcher died under the command: nothing else would stop its tree now
            if (pid !== null) signalGroup(pid, 'SIGKILL');
            reject(error);
          },
        },
      );
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
