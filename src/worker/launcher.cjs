'use strict';
/**
 * The Node process launcher: the fallback for launcher.c, used where no C compiler built
 * that one (or with ORRERY_LAUNCHER=node). It speaks the same protocol — described at the
 * top of launcher.c — with Node built-ins only, to stay small: requests B (base
 * environment), R (run), W (wait, then run) and C (cancel a waiting command) on stdin;
 * events S, O, E, X, F, D on stdout.
 *
 * Two things it does differently, because child_process gives no resource usage of a
 * child: the command runs in a subshell of a wrapping shell script that writes the `times`
 * builtin's output on file descriptor 3 (the CPU time of the shell's waited-for children),
 * and the X frame reports the peak memory as unknown (-1), leaving it to the orrery
 * process's /proc sampler. The pid in the S frame is the wrapping shell's.
 *
 * End of stdin means the orrery process is done with us — it closed the pipe, or it died,
 * even by SIGKILL: every command still running gets SIGTERM on its process group, then
 * SIGKILL after the grace period (argv[2], in milliseconds), and the launcher exits.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');

const graceMs = Number(process.argv[2]) >= 0 ? Number(process.argv[2]) : 5000;
const HEADER_BYTES = 9;

/** Commands started and not yet reported as exited, by task id. */
const running = new Map();
/** Commands waiting for another task's last frame (request W), in request order. */
const waiting = [];
/** Commands that could not start, whose F frame waits for the reason (see launch). */
const failing = new Set();
/** Output is paused while the orrery process is slower to read than the commands write. */
let outputPaused = false;
let ending = false;
/** The base environment of every command (request B). */
let baseEnv = {};

process.stdout.on('drain', () => {
  outputPaused = false;
  for (const child of running.values()) resumeOutput(child);
});
// EPIPE: the orrery process is gone; end of stdin follows, but do not wait for it
process.stdout.on('error', () => shutdown());

let buffered = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
  while (buffered.length >= HEADER_BYTES && !ending) {
    const end = HEADER_BYTES + buffered.readUInt32BE(5);
    if (end > buffered.length) return;
    const frame = buffered;
    buffered = frame.subarray(end);
    request(String.fromCharCode(frame[0]), frame.readUInt32BE(1), frame.subarray(HEADER_BYTES, end));
  }
});
process.stdin.on('end', () => shutdown());

/** A request's payload: NUL-terminated strings. */
function strings(payload) {
  const text = payload.toString('utf8');
  return text === '' ? [] : text.slice(0, -1).split('\0');
}

function request(kind, id, payload) {
  const parts = strings(payload);
  if (kind === 'B') {
    baseEnv = environment({}, parts);
  } else if (kind === 'R') {
    launch(id, parts);
  } else if (kind === 'W') {
    const [after, ...run] = parts;
    if (known(Number(after))) waiting.push({ id, after: Number(after), run });
    else launch(id, run);
  } else if (kind === 'C') {
    const at = waiting.findIndex((w) => w.id === id);
    if (at === -1) return;
    waiting.splice(at, 1);
    send('D', id, Buffer.alloc(0));
    ended(id);
  } else {
    process.stderr.write(`orrery launcher: a request of unknown kind ${kind} arrived; the launcher and the orrery process are out of step — rebuild orrery\n`);
    process.exitCode = 2;
    shutdown();
  }
}

function environment(env, entries) {
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    if (equals !== -1) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return env;
}

/** The task has not sent its last frame yet. */
function known(id) {
  return running.has(id) || failing.has(id) || waiting.some((w) => w.id === id);
}

/** Task `id` has sent its last frame: the commands waiting for it start now, in request order. */
function ended(id) {
  // while ending, commands still waiting never start
  if (ending) return;
  for (let at = waiting.findIndex((w) => w.after === id); at !== -1; at = waiting.findIndex((w) => w.after === id)) {
    const [next] = waiting.splice(at, 1);
    launch(next.id, next.run);
  }
}

/** Starts the command of an R request: `cwd`, `command`, then `NAME=value` overrides. */
function launch(id, [cwd, command, ...overrides]) {
  const env = environment({ ...baseEnv }, overrides);
  let child;
  try {
    child = spawn('/bin/sh', ['-c', `(\n${command}\n)\n__orrery_status=$?\ntimes >&3\nexit $__orrery_status\n`], {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    send('F', id, Buffer.from(error.message));
    ended(id);
    return;
  }
  if (child.pid === undefined) {
    // spawn failed (a missing cwd, too many processes): the reason arrives as 'error'
    failing.add(id);
    child.once('error', (error) => {
      failing.delete(id);
      send('F', id, Buffer.from(spawnError(cwd, error)));
      ended(id);
    });
    return;
  }
  running.set(id, child);
  send('S', id, Buffer.from(String(child.pid)));
  let times = '';
  child.stdout.on('data', (chunk) => send('O', id, chunk));
  child.stderr.on('data', (chunk) => send('E', id, chunk));
  child.stdio[3].on('data', (chunk) => (times += chunk.toString()));
  if (outputPaused) pauseOutput(child);
  // 'close' (not 'exit'): every byte of output has been read by then
  child.on('close', (code, signal) => {
    running.delete(id);
    const signalNumber = signal ? (os.constants.signals[signal] ?? 0) : 0;
    send('X', id, Buffer.from(`${code ?? -1} ${signalNumber} ${childrenCpuMicros(times)} -1`));
    if (ending && running.size === 0) exit();
    ended(id);
  });
}

/** The same words as launcher.c: a working directory that cannot be entered is the usual reason. */
function spawnError(cwd, error) {
  const why = { ENOENT: 'No such file or directory', ENOTDIR: 'Not a directory', EACCES: 'Permission denied' };
  try {
    if (!fs.statSync(cwd).isDirectory()) return `cannot change to the working directory ${cwd}: ${why.ENOTDIR}`;
    fs.accessSync(cwd, fs.constants.X_OK);
  } catch (problem) {
    return `cannot change to the working directory ${cwd}: ${why[problem.code] ?? problem.message}`;
  }
  return `cannot run /bin/sh: ${error.message}`;
}

/**
 * Parses the output of the POSIX shell builtin `times`: two lines of "user system", the
 * second for waited-for children, e.g. "0m0.010000s 0m0.004000s". Returns the children's
 * CPU time in microseconds, or -1 when the wrapper did not get to write it.
 */
function childrenCpuMicros(text) {
  const lines = text.trim().split('\n');
  if (lines.length < 2) return -1;
  let total = 0;
  for (const part of lines[1].trim().split(/\s+/)) {
    const match = /^(\d+)m([\d.]+)s$/.exec(part);
    if (!match) return -1;
    total += Number(match[1]) * 60_000_000 + Number(match[2]) * 1_000_000;
  }
  return Math.round(total);
}

function send(kind, id, payload) {
  // after end of stdin nobody reads our events any more
  if (ending) return;
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame[0] = kind.charCodeAt(0);
  frame.writeUInt32BE(id, 1);
  frame.writeUInt32BE(payload.length, 5);
  payload.copy(frame, HEADER_BYTES);
  if (!process.stdout.write(frame) && !outputPaused) {
    // the pipe to the orrery process is full: stop reading the commands' output until it
    // drains, so they block on their own writes instead of our memory growing
    outputPaused = true;
    for (const child of running.values()) pauseOutput(child);
  }
}

function pauseOutput(child) {
  child.stdout.pause();
  child.stderr.pause();
}

function resumeOutput(child) {
  child.stdout.resume();
  child.stderr.resume();
}

/** Process groups told to stop at shutdown; each gets SIGKILL before the launcher exits. */
const stopping = new Set();
let graceTimer = null;

function shutdown() {
  if (ending) return;
  ending = true;
  for (const child of running.values()) {
    stopping.add(child.pid);
    signalGroup(child.pid, 'SIGTERM');
    // their output goes nowhere now; keep draining it so they never block on a write
    resumeOutput(child);
  }
  // with nothing running there is nothing to wait for; otherwise the last command to end
  // (or the grace period) ends the launcher
  if (running.size === 0) return exit();
  graceTimer = setTimeout(exit, graceMs);
}

function exit() {
  if (graceTimer) clearTimeout(graceTimer);
  // whatever a command left in its group (a background job that ignored SIGTERM) goes too
  for (const pgid of stopping) signalGroup(pgid, 'SIGKILL');
  for (const child of running.values()) signalGroup(child.pid, 'SIGKILL');
  process.exit();
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group has already ended
  }
}
