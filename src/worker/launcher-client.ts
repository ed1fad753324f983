/**
 * The orrery side of the process launcher (launcher.cjs, where the protocol is described):
 * starts the launcher on first use, asks it to start commands, and routes what it reports
 * back to each command's handlers. The launcher holds the event loop only while commands
 * run, so an idle worker can still exit; if it dies, the commands it was running are
 * reported as failed and the next command starts a new one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The plain-JavaScript launcher sits next to this module, in src/ and in dist/ alike. */
const LAUNCHER_SCRIPT = fileURLToPath(new URL('./launcher.cjs', import.meta.url));
const HEADER_BYTES = 9;
const STDERR_TAIL_BYTES = 2048;

export interface LaunchRequest {
  script: string;
  cwd: string;
  env: Record<string, string>;
}

export interface LaunchHandlers {
  started(pid: number): void;
  output(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  exited(code: number | null, signal: string | null, times: string): void;
  /** The command could not be started, or the launcher died while it ran. */
  failed(error: Error): void;
}

/** The launcher process ended while commands were running through it. */
export class LauncherExitedError extends Error {
  override name = 'LauncherExitedError';
}

export class Launcher {
  private child: ChildProcess | null = null;
  private tasks = new Map<number, LaunchHandlers>();
  private nextId = 1;
  private stderrTail = '';
  private closing = false;

  constructor(private readonly killGraceMs: number) {}

  launch(request: LaunchRequest, handlers: LaunchHandlers): void {
    const child = this.child ?? this.start();
    const id = this.nextId;
    this.nextId = this.nextId === 0xffff_ffff ? 1 : this.nextId + 1;
    this.tasks.set(id, handlers);
    if (this.tasks.size === 1) this.hold(child, true);
    child.stdin!.write(`${JSON.stringify({ id, script: request.script, cwd: request.cwd, env: request.env })}\n`);
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
      child.stdin!.end();
    });
  }

  private start(): ChildProcess {
    // NODE_OPTIONS is meant for orrery itself (preloads, heap sizes); the launcher stays bare
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [LAUNCHER_SCRIPT, String(this.killGraceMs)], {
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
    return child;
  }

  private dispatch(kind: number, id: number, payload: Buffer): void {
    const handlers = this.tasks.get(id);
    if (!handlers) return;
    switch (String.fromCharCode(kind)) {
      case 'S':
        handlers.started(Number(payload.toString()));
        break;
      case 'O':
        handlers.output('stdout', payload);
        break;
      case 'E':
        handlers.output('stderr', payload);
        break;
      case 'X': {
        this.finish(id);
        const exit = JSON.parse(payload.toString()) as { code: number | null; signal: string | null; times: string };
        handlers.exited(exit.code, exit.signal, exit.times);
        break;
      }
      case 'F': {
        this.finish(id);
        handlers.failed(new Error((JSON.parse(payload.toString()) as { message: string }).message));
        break;
      }
      default:
        throw new Error(`the process launcher sent a frame of unknown kind ${kind}; launcher.cjs and launcher-client.ts are out of step — rebuild orrery`);
    }
  }

  private finish(id: number): void {
    this.tasks.delete(id);
    if (this.tasks.size === 0 && this.child && !this.closing) this.hold(this.child, false);
  }

  /** The launcher ended: whatever still ran through it fails, and the next launch starts a new one. */
  private lost(child: ChildProcess, reason: string): void {
    if (this.child !== child) return;
    this.child = null;
    const pending = [...this.tasks.values()];
    this.tasks = new Map();
    if (pending.length === 0) return;
    const detail = this.stderrTail.trim() ? `: ${this.stderrTail.trim()}` : '';
    const error = this.closing
      ? new LauncherExitedError('the runner was closed while the command was running; its processes were stopped')
      : new LauncherExitedError(
          `the process launcher (pid ${child.pid ?? 'none'}) ended unexpectedly (${reason})${detail}; the command's processes were stopped and the attempt counts as failed — the next command starts a new launcher`,
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

/** Cuts the launcher's stdout into frames: kind, task id, payload (see launcher.cjs). */
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
