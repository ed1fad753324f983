'use strict';
/**
 * The process launcher: a small, long-lived Node process that starts a worker's commands
 * on its behalf. fork() costs grow with the resident memory of the process that calls it;
 * the orrery process holds the task database, plans and logs, this one holds almost nothing,
 * so starting commands from here is several times cheaper. It uses Node built-ins only, to
 * stay small. Its counterpart in the orrery process is launcher-client.ts.
 *
 * Protocol. Requests arrive on stdin, one JSON object per line:
 *
 *   {"id": 7, "script": "<shell script>", "cwd": "/path", "env": {"NAME": "value"}}
 *
 * The script runs as `/bin/sh -c script` with that cwd and env, in a process group of its
 * own, stdin closed, stdout and stderr piped back, and file descriptor 3 piped back too
 * (the runner's wrapper writes the `times` builtin's output there). Events go out on stdout
 * as frames: a 9-byte header — kind (one ASCII byte), task id (uint32, big-endian), payload
 * length (uint32, big-endian) — then the payload:
 *
 *   S  started  the pid of the command's shell, in decimal (also its process group id)
 *   O  stdout   bytes exactly as the command wrote them
 *   E  stderr   bytes exactly as the command wrote them
 *   X  exit     JSON {"code": number|null, "signal": string|null, "times": string}; last frame
 *   F  failed   JSON {"message": string}: the command could not be started; last frame
 *
 * Every output frame of a task precedes its X frame. Stopping a command is not part of the
 * protocol: the orrery process knows the pid and signals the process group itself.
 *
 * End of stdin means the orrery process is done with us — it closed the pipe, or it died,
 * even by SIGKILL: every command still running gets SIGTERM on its process group, then
 * SIGKILL after the grace period (argv[2], in milliseconds), and the launcher exits. So a
 * killed worker leaves no processes behind.
 */
const { spawn } = require('node:child_process');

const graceMs = Number(process.argv[2]) >= 0 ? Number(process.argv[2]) : 5000;
const HEADER_BYTES = 9;

/** Commands started and not yet reported as exited, by task id. */
const running = new Map();
/** Output is paused while the orrery process is slower to read than the commands write. */
let outputPaused = false;
let ending = false;

process.stdout.on('drain', () => {
  outputPaused = false;
  for (const child of running.values()) resumeOutput(child);
});
// EPIPE: the orrery process is gone; end of stdin follows, but do not wait for it
process.stdout.on('error', () => shutdown());

let partial = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  const lines = (partial + text).split('\n');
  partial = lines.pop();
  for (const line of lines) if (line !== '') launch(JSON.parse(line));
});
process.stdin.on('end', () => shutdown());

function launch(request) {
  const id = request.id;
  let child;
  try {
    child = spawn('/bin/sh', ['-c', request.script], {
      cwd: request.cwd,
      env: request.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    send('F', id, Buffer.from(JSON.stringify({ message: error.message })));
    return;
  }
  if (child.pid === undefined) {
    // spawn failed (a missing cwd, too many processes): the reason arrives as 'error'
    child.once('error', (error) => send('F', id, Buffer.from(JSON.stringify({ message: error.message }))));
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
    send('X', id, Buffer.from(JSON.stringify({ code, signal, times })));
    if (ending && running.size === 0) exit();
  });
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
  process.exit(0);
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group has already ended
  }
}
