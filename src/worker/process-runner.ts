/**
 * Runs a command as a local subprocess tree. The command runs under `/bin/sh` in a
 * subshell, in a process group of its own, so a timeout or cancellation kills every
 * process it started (SIGTERM, then SIGKILL after a grace period). The wrapping shell
 * reports the tree's CPU time with the POSIX `times` builtin on file descriptor 3.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { LineSplitter } from './line-splitter.js';
import { parseShellTimes, TreeMemorySampler } from './process-usage.js';
import type { RunOutcome, Runner, RunSpec } from './runner.js';

const signalNumbers = os.constants.signals as Record<string, number>;
const signalNames = new Map(Object.entries(signalNumbers).map(([name, number]) => [number, name]));

export class ProcessRunner implements Runner {
  constructor(private readonly killGraceMs = 5000) {}

  run(spec: RunSpec): Promise<RunOutcome> {
    const started = performance.now();
    const script = `(\n${spec.command}\n)\n__orrery_status=$?\ntimes >&3\nexit $__orrery_status\n`;
    const child = spawn('/bin/sh', ['-c', script], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    const sampler = pid ? new TreeMemorySampler(pid) : null;
    sampler?.start();
    if (pid) spec.onSpawn?.(pid);

    const out = new LineSplitter((line) => spec.onLine('stdout', line));
    const err = new LineSplitter((line) => spec.onLine('stderr', line));
    let times = '';
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => (times += chunk.toString()));

    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | null = null;
    const killTree = () => {
      if (!pid || killTimer) return;
      signalGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.killGraceMs);
    };
    const timeout = spec.timeoutMs === null ? null : setTimeout(() => ((timedOut = true), killTree()), spec.timeoutMs);
    const onAbort = () => ((aborted = true), killTree());
    if (spec.signal.aborted) onAbort();
    else spec.signal.addEventListener('abort', onAbort, { once: true });

    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (timeout) clearTimeout(timeout);
        if (killTimer) clearTimeout(killTimer);
        spec.signal.removeEventListener('abort', onAbort);
        // make sure nothing the command started outlives it
        if (pid && (timedOut || aborted)) signalGroup(pid, 'SIGKILL');
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
          peakRss: sampler?.stop() ?? null,
        });
      });
    });
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
