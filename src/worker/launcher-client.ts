/**
 * The orrery side of the process launcher (launcher.c, where the protocol is described, or
 * its Node fallback launcher.cjs): picks which one to use, starts it on first use, asks it
 * to start commands, and routes what it reports back to each command's handlers. The
 * launcher holds the event loop only while commands run, so an idle worker can still exit;
 * if it dies, the commands it was running are reported as failed and the next command
 * starts a new one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import { InvalidInputError } from '../core/errors.js';
import { packageFile } from '../core/package-root.js';

/** Both launchers are in dist/worker/ (`npm run build` compiles the native one). */
const NATIVE_LAUNCHER = packageFile('dist/worker/launcher');
const NODE_LAUNCHER = packageFile('dist/worker/launcher.cjs');
const HEADER_BYTES = 9;
const STDERR_TAIL_BYTES = 2048;
const BASE_ENV = 0x42; // 'B'
const RUN = 0x52; // 'R'
const WAIT_THEN_RUN = 0x57; // 'W'
const CANCEL = 0x43; // 'C'

export type LauncherKind = 'native' | 'node';

/** Which launcher to run: the compiled launcher.c, or launcher.cjs under this Node. */
export interface LauncherProgram {
  kind: LauncherKind;
  path: string;
}

/**
 * The native launcher when it was built, the Node one otherwise; ORRERY_LAUNCHER=node or
 * =native forces one.
 */
export function chooseLauncher(setting = process.env.ORRERY_LAUNCHER, nativePath = NATIVE_LAUNCHER): LauncherProgram {
  const built = fs.existsSync(nativePath);
  if (setting === 'node' || ((setting === undefined || setting === '') && !built)) return { kind: 'node', path: NODE_LAUNCHER };
  if (setting === 'native' && !built) {
    throw new InvalidInputError('', 'ORRERY_LAUNCHER', `is native, but the native launcher was not built (${nativePath} is missing): install a C compiler (cc) and run \`npm run build\`, or unset ORRERY_LAUNCHER to use the Node launcher`);
  }
  if (setting === 'native' || setting === undefined || setting === '') return { kind: 'native', path: nativePath };
  throw new InvalidInputError('', 'ORRERY_LAUNCHER', `must be node or native (or unset: native when built), not "${setting}"`);
}

export interface LaunchRequest {
  command: string;
  cwd: string;
  /** Variables set on top of the orrery process's own environment. */
  env: Record<string, string>;
}

export interface LaunchHandlers {
  /**
   * The command is starting: called within launch(), or — for a command launched after
   * another — when that one has ended, before any other event of this command.
   */
  begun(): void;
  started(pid: number): void;
  output(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  /**
   * The command's shell ended: its exit code (null when a signal ended it), the signal's
   * number (0 when it exited), the CPU time of it and its waited-for descendants, and the
   * largest resident set among them; null where the launcher could not tell.
   */
  exited(code: number | null, signal: number, cpuMicros: number | null, maxRssKiB: number | null): void;
  /** The command could not be started, or the launcher died while it ran. */
  failed(error: Error): void;
  /** The command was cancelled while it waited for another, and never started. */
  dropped(): void;
}

/** The launcher process ended while commands were running through it. */
export class LauncherExitedError extends Error {
  override name = 'LauncherExitedError';
}

export class Launcher {
  private child: ChildProcess | null = null;
  private tasks = new Map<number, LaunchHandlers>();
  /** Commands launched after another, by that other's id; they begin when it ends. */
  private successors = new Map<number, number[]>();
  /** Commands launched after another that have not begun. */
  private waiting = new Set<number>();
  private nextId = 1;
  private stderrTail = '';
  private closing = false;
  /** Frames for the launcher not yet written: see send(). */
  private outbox: Buffer[] = [];

  constructor(
    private readonly killGraceMs: number,
    readonly program: LauncherProgram,
  ) {}

  /**
   * Starts a command and returns its id. With `after` (the id of a command still running
   * through this launcher), the launcher starts it the moment that one ends, with no round
   * trip through this process: so a worker hands the cores a short command frees straight
   * to the next. Throws, starting nothing, when the request holds a NUL byte (no command
   * line or environment can).
   */
  launch(request: LaunchRequest, handlers: LaunchHandlers, after?: number): number {
    const child = this.child ?? this.start();
    const id = this.nextId;
    const waits = after !== undefined && this.tasks.has(after);
    const frame = waits ? runFrame(WAIT_THEN_RUN, id, request, `${after}\0`) : runFrame(RUN, id, request);
    this.nextId = this.nextId === 0xffff_ffff ? 1 : this.nextId + 1;
    this.tasks.set(id, handlers);
    if (this.tasks.size === 1) this.hold(child, true);
    if (waits) {
      this.waiting.add(id);
      const queue = this.successors.get(after);
      if (queue) queue.push(id);
      else this.successors.set(after, [id]);
    }
    this.send(frame);
    if (!waits) handlers.begun();
    return id;
  }

  /**
   * Cancels a command launched after another that has not begun: it never starts, and its
   * handlers hear dropped(). Does nothing to a command that has begun: stop that by its pid.
   */
  cancel(id: number): void {
    if (this.waiting.has(id)) this.send(frame(CANCEL, id, ''));
  }

  /** Ends the launcher (it stops any command still running) and waits until it has exited. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.closing = true;
    // hold the event loop until the exit is seen, so close() always settles
    this.hold(child, true);
    await new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      this.flush();
      child.stdin!.end();
    });
  }

  /**
   * Queues a request for the launcher. The requests of one turn of the event loop — a claim
   * of several tasks launches them one after another, each from its own promise
   * continuation — go out as one write once those continuations have run (a tick queued
   * from them runs after them), since every write wakes the launcher: a 10,000-task
   * fan-out made 0.32 writes a task instead of 1.16. The order of the requests is kept.
   */
  private send(bytes: Buffer): void {
    if (this.outbox.push(bytes) === 1) process.nextTick(() => this.flush());
  }

  private flush(): void {
    const frames = this.outbox;
    if (frames.length === 0) return;
    this.outbox = [];
    this.child?.stdin!.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
  }

  private start(): ChildProcess {
    // NODE_OPTIONS is meant for orrery itself (preloads, heap sizes): the launcher runs
    // without it, and hands the full environment on to the commands (request B)
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const grace = String(this.killGraceMs);
    const [file, args] = this.program.kind === 'native' ? [this.program.path, [grace]] : [process.execPath, [this.program.path, grace]];
    const child = spawn(file, args, {
      env,
      // a session of its own: a Ctrl-C meant for orrery must not kill the launcher under the
      // commands; orrery decides what happens to them
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.nextId = 1;
    this.stderrTail = '';
    this.closing = false;
    const frames = new FrameReader((kind, id, payload) => this.dispatch(kind, id, payload));
    child.stdout!.on('data', (chunk: Buffer) => frames.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString()).slice(-STDERR_TAIL_BYTES)));
    // a broken pipe means the launcher died; 'close' below reports that to the commands
    child.stdin!.on('error', () => {});
    let ended = false;
    const end = (reason: string) => {
      if (ended) return;
      ended = true;
      this.lost(child, reason);
    };
    child.on('error', (error) => end(error.message));
    child.on('close', (code, signal) => end(signal ? `killed by ${signal}` : `exit code ${code}`));
    // the environment every command starts from, read now: the worker's does not change
    let base = '';
    for (const [name, value] of Object.entries(process.env)) if (value !== undefined) base += `${name}=${value}\0`;
    child.stdin!.write(frame(BASE_ENV, 0, base));
    return child;
  }

  private dispatch(kind: number, id: number, payload: Buffer): void {
    const handlers = this.tasks.get(id);
    if (!handlers) return;
    switch (kind) {
      case 0x53: // S
        handlers.started(Number(payload.toString('latin1')));
        break;
      case 0x4f: // O
        handlers.output('stdout', payload);
        break;
      case 0x45: // E
        handlers.output('stderr', payload);
        break;
      case 0x58: {
        // X: "code signal cpu_us maxrss_kb", -1 for unknown
        this.finish(id);
        const [code, signal, cpu, rss] = payload.toString('latin1').split(' ').map(Number);
        handlers.exited(code < 0 ? null : code, signal, cpu < 0 ? null : cpu, rss < 0 ? null : rss);
        break;
      }
      case 0x46: // F
        this.finish(id);
        handlers.failed(new Error(payload.toString()));
        break;
      case 0x44: // D
        this.finish(id);
        handlers.dropped();
        break;
      default:
        throw new Error(`the process launcher sent a frame of unknown kind ${kind}; ${this.program.path} and launcher-client.ts are out of step — rebuild orrery`);
    }
  }

  /** Task `id` sent its last frame: the commands launched after it begin (see launch). */
  private finish(id: number): void {
    this.tasks.delete(id);
    const next = this.successors.get(id);
    if (next) {
      this.successors.delete(id);
      for (const successor of next) {
        this.waiting.delete(successor);
        this.tasks.get(successor)?.begun();
      }
    }
    if (this.tasks.size === 0 && this.child && !this.closing) this.hold(this.child, false);
  }

  /** The launcher ended: whatever still ran through it fails, and the next launch starts a new one. */
  private lost(child: ChildProcess, reason: string): void {
    if (this.child !== child) return;
    this.child = null;
    // requests for the launcher that ended: their commands fail below
    this.outbox = [];
    const pending = [...this.tasks.values()];
    this.tasks = new Map();
    this.successors = new Map();
    this.waiting = new Set();
    if (pending.length === 0) return;
    const detail = this.stderrTail.trim() ? `: ${this.stderrTail.trim()}` : '';
    const error = this.closing
      ? new LauncherExitedError('the runner was closed while the command was running; its processes were stopped')
      : new LauncherExitedError(
          `the process launcher (${this.program.kind}, pid ${child.pid ?? 'none'}) ended unexpectedly (${reason})${detail}; the command's processes were stopped and the attempt counts as failed — the next command starts a new launcher`,
        );
    for (const handlers of pending) handlers.failed(error);
  }

  /** Keeps the event loop alive while commands run through the launcher, and only then. */
  private hold(child: ChildProcess, active: boolean): void {
    for (const handle of [child, child.stdin, child.stdout, child.stderr] as Array<ChildProcess | Socket>) {
      if (active) handle.ref();
      else handle.unref();
    }
  }
}

/** An R or W request: (for W, the id waited for,) the cwd, the command and the environment overrides, each ended by NUL. */
function runFrame(kind: number, id: number, request: LaunchRequest, prefix = ''): Buffer {
  const { cwd, command, env } = request;
  let nul = hasNul(cwd) || hasNul(command);
  let text = `${prefix}${cwd}\0${command}\0`;
  for (const name in env) {
    const value = env[name];
    nul ||= hasNul(name) || hasNul(value);
    text += `${name}=${value}\0`;
  }
  if (nul) throw new TypeError(`the command, its working directory or an environment variable holds a NUL byte, which no command line or environment can: ${JSON.stringify(command)}`);
  return frame(kind, id, text);
}

function frame(kind: number, id: number, text: string): Buffer {
  const length = Buffer.byteLength(text);
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + length);
  bytes[0] = kind;
  bytes.writeUInt32BE(id, 1);
  bytes.writeUInt32BE(length, 5);
  bytes.write(text, HEADER_BYTES);
  return bytes;
}

function hasNul(text: string): boolean {
  return text.includes('\0');
}

/** Cuts the launcher's stdout into frames: kind, task id, payload (see launcher.c). */
class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (kind: number, id: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= HEADER_BYTES) {
      const frame = this.buffered;
      const end = HEADER_BYTES + frame.readUInt32BE(5);
      if (end > frame.length) return;
      // consumed before it is handled, so a handler that throws cannot see it twice
      this.buffered = frame.subarray(end);
      this.onFrame(frame[0], frame.readUInt32BE(1), frame.subarray(HEADER_BYTES, end));
    }
  }
}
