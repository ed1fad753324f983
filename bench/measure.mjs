// Shared helpers for the benchmarks: run a command, measure its wall time and the peak
// memory of its process tree, and small formatting/table utilities.
//
// Peak memory comes from GNU time (`/usr/bin/time -v`, "Maximum resident set size") when
// it is installed: that is getrusage's ru_maxrss, the peak resident set of the *largest
// single process* of the tree (the orchestrator itself here; its children are tiny shells).
// Without GNU time we poll /proc every 20 ms and keep the largest *sum* of the tree's
// resident sets (processes shorter than the period may be missed). Without either, memory
// is not measured and a warning is printed once.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(BENCH_DIR, '..');
export const ORRERY = path.join(ROOT, 'bin', 'orrery.js');
export const WORK_ROOT = path.join(BENCH_DIR, '.work');

const GNU_TIME = '/usr/bin/time';
let rssMethod = null;
let warned = false;

/** How peak RSS is measured on this machine: 'gnu-time', 'proc-poll' or null. */
export function memoryMethod() {
  if (rssMethod !== null) return rssMethod || null;
  rssMethod = false;
  if (fs.existsSync(GNU_TIME)) {
    // Debian's GNU time; busybox's `time` has no -v/-o and would fail here
    const probe = spawnSyncQuiet(GNU_TIME, ['-v', '-o', '/dev/null', 'true']);
    if (probe === 0) rssMethod = 'gnu-time';
  }
  if (!rssMethod && fs.existsSync('/proc/self/stat')) rssMethod = 'proc-poll';
  if (!rssMethod && !warned) {
    warned = true;
    process.stderr.write('warning: neither GNU time (/usr/bin/time) nor /proc is available: peak memory will not be measured\n');
  }
  return rssMethod || null;
}

function spawnSyncQuiet(cmd, args) {
  try {
    return spawnSync(cmd, args, { stdio: 'ignore' }).status;
  } catch {
    return null;
  }
}

/** Is an executable on PATH (or at this absolute path)? */
export function which(cmd) {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, cmd);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Runs `cmd args` and resolves to { code, signal, timedOut, wallSeconds, cpuSeconds, peakRssKiB,
 * stdout, stderr }. cpuSeconds is user + system time of the whole tree (GNU time only, else null):
 * on a shared, busy machine it is steadier than wall time.
 * Options: cwd, env, stdinFile (fed as standard input), stdoutFile/stderrFile (written there
 * instead of being kept in memory), timeoutSeconds (the tree is killed; timedOut is set).
 */
export async function measure(cmd, args, options = {}) {
  const method = memoryMethod();
  const timeFile = method === 'gnu-time' ? path.join(os.tmpdir(), `orrery-bench-time-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`) : null;
  const [file, argv] = timeFile ? [GNU_TIME, ['-v', '-o', timeFile, cmd, ...args]] : [cmd, args];

  const stdin = options.stdinFile ? fs.openSync(options.stdinFile, 'r') : 'ignore';
  const stdout = options.stdoutFile ? fs.openSync(options.stdoutFile, 'w') : 'pipe';
  const stderr = options.stderrFile ? fs.openSync(options.stderrFile, 'w') : 'pipe';
  const started = performance.now();
  // a process group of its own, so a timeout (or killRunning) reaches the whole tree
  const child = spawn(file, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: [stdin, stdout, stderr], detached: true });
  if (child.pid) running.add(child.pid);
  for (const fd of [stdin, stdout, stderr]) if (typeof fd === 'number') fs.closeSync(fd);

  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => (out += chunk));
  child.stderr?.on('data', (chunk) => (err += chunk));

  let pollPeak = null;
  let poller = null;
  if (method === 'proc-poll' && child.pid) {
    const sample = () => {
      const kib = treeRssKiB(child.pid);
      if (kib !== null && (pollPeak === null || kib > pollPeak)) pollPeak = kib;
    };
    poller = setInterval(sample, 20);
  }
  let timedOut = false;
  const timer = options.timeoutSeconds
    ? setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, options.timeoutSeconds * 1000)
    : null;

  const { code, signal } = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const wallSeconds = (performance.now() - started) / 1000;
  running.delete(child.pid);
  if (timer) clearTimeout(timer);
  if (poller) clearInterval(poller);

  let peakRssKiB = pollPeak;
  let cpuSeconds = null;
  if (timeFile) {
    try {
      const report = fs.readFileSync(timeFile, 'utf8');
      const match = /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(report);
      if (match) peakRssKiB = Number(match[1]);
      const user = /User time \(seconds\):\s*([\d.]+)/.exec(report);
      const system = /System time \(seconds\):\s*([\d.]+)/.exec(report);
      if (user && system) cpuSeconds = Number(user[1]) + Number(system[1]);
      // GNU time exits with the command's status; a signal shows as "Command terminated by signal"
      if (/Command terminated by signal/.test(report) && !signal) err += `\n${report.split('\n')[0]}`;
    } catch {
      /* time was killed before writing (timeout) */
    }
    fs.rmSync(timeFile, { force: true });
  }
  return { code, signal, timedOut, wallSeconds, cpuSeconds, peakRssKiB, stdout: out, stderr: err };
}

const running = new Set();

/** Kills the process groups of the commands being measured (on Ctrl-C: they run detached). */
export function killRunning() {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Sum of VmRSS (KiB) of `root` and all its descendants, or null if it is gone. */
function treeRssKiB(root) {
  const children = new Map();
  let entries;
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return null;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* ended meanwhile */
    }
  }
  let total = 0;
  let found = false;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const match = /VmRSS:\s*(\d+) kB/.exec(status);
      if (match) total += Number(match[1]);
      found = true;
    } catch {
      /* ended meanwhile */
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return found ? total : null;
}

/** Throws a readable error when a measured command failed. */
export function check(result, what) {
  if (result.timedOut) throw new ToolError(`${what} timed out after ${result.wallSeconds.toFixed(0)} s`);
  if (result.code !== 0) {
    const tail = (result.stderr || result.stdout || '').trim().split('\n').slice(-15).join('\n');
    throw new ToolError(`${what} failed (exit code ${result.code}${result.signal ? `, signal ${result.signal}` : ''})${tail ? `:\n${tail}` : ''}`);
  }
  return result;
}

export class ToolError extends Error {
  name = 'ToolError';
}

/** A fresh, empty directory under bench/.work/. */
export function freshDir(name) {
  const dir = path.join(WORK_ROOT, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs each of `runners` (functions resolving to a measurement) `repeat` times, round
 * robin (A B C A B C …) so that a burst of load from elsewhere hits every tool alike,
 * and keeps each runner's median run (by wall time). `onResult(index, result)` is
 * called after every run.
 */
export async function interleaved(repeat, runners, onResult = () => {}) {
  const runs = runners.map(() => []);
  for (let r = 0; r < repeat; r++) {
    for (let i = 0; i < runners.length; i++) {
      const result = await runners[i](r);
      runs[i].push(result);
      onResult(i, result);
    }
  }
  return runs.map(medianRun);
}

function medianRun(runs) {
  const sorted = [...runs].sort((a, b) => a.wallSeconds - b.wallSeconds);
  const chosen = sorted[Math.floor((sorted.length - 1) / 2)];
  return { ...chosen, runs: runs.map((r) => r.wallSeconds) };
}

export const fmt = {
  cpuPerTask: (cpu, n) => (cpu === null || cpu === undefined ? '—' : `${((cpu * 1000) / n).toFixed(2)} ms`),
  seconds: (s) => (s === null || s === undefined ? '—' : s >= 100 ? `${s.toFixed(0)} s` : s >= 10 ? `${s.toFixed(1)} s` : `${s.toFixed(2)} s`),
  rate: (r) => (r >= 100 ? `${r.toFixed(0)}/s` : `${r.toFixed(1)}/s`),
  ratio: (x) => (x === null || !Number.isFinite(x) ? '—' : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`),
  mib: (kib) => (kib === null || kib === undefined ? '—' : `${(kib / 1024).toFixed(0)} MiB`),
  int: (n) => n.toLocaleString('en-US'),
};

/**
 * Prints a plain text table: rows are arrays of cells, the first row is the header.
 * `align` has one letter per column, l or r (default: first column left, the rest right).
 */
export function table(rows, title, align = null) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const left = (c) => (align ? align[c] === 'l' : c === 0);
  const line = (r) => r.map((cell, c) => (left(c) ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ').trimEnd();
  const out = [];
  if (title) out.push('', title);
  out.push(line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line));
  process.stdout.write(`${out.join('\n')}\n`);
}

/** A temporary file holding `lines`, one per line (arguments for parallel/xargs). */
export function writeLines(file, count, make = (i) => String(i)) {
  const parts = new Array(count);
  for (let i = 0; i < count; i++) parts[i] = make(i);
  fs.writeFileSync(file, `${parts.join('\n')}\n`);
  return file;
}

export const SKIPPED = 'skipped: install with apt-get install parallel snakemake';
