/**
 * A distributed Orrery on this machine: a real database, `orrery server` and `orrery
 * worker` processes, the CLI for everything else — as on many machines, minus the network.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ORRERY } from './cli.js';

export class Cluster {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly processes = new Set<ChildProcess>();
  readonly logs = new Map<ChildProcess, string>();

  constructor(
    readonly dbUrl: string,
    extraEnv: NodeJS.ProcessEnv = {},
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-cluster-'));
    this.env = { ...process.env, ORRERY_DB: dbUrl, ORRERY_STORE: path.join(this.dir, 'files'), ORRERY_STATE_DIR: path.join(this.dir, 'state'), ...extraEnv };
  }

  write(file: string, text: string): string {
    const full = path.join(this.dir, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, text);
    return full;
  }

  orrery(...args: string[]) {
    const r = spawnSync(process.execPath, [ORRERY, ...args], { cwd: this.dir, env: this.env, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  json<T = any>(...args: string[]): T {
    const r = this.orrery(...args, '--json');
    try {
      return JSON.parse(r.stdout) as T;
    } catch {
      throw new Error(`orrery ${args.join(' ')} --json printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
  }

  start(...args: string[]): ChildProcess {
    const child = spawn(process.execPath, [ORRERY, ...args], { cwd: this.dir, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.processes.add(child);
    this.logs.set(child, '');
    const append = (chunk: Buffer) => this.logs.set(child, this.logs.get(child) + chunk.toString());
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    child.once('exit', () => this.processes.delete(child));
    return child;
  }

  /** `orrery server`: the engine, and the HTTP API on a free port (so tests may run side by side). */
  server(...args: string[]) {
    return this.start('server', '--port', '0', ...args);
  }

  /** The address of a started server's HTTP API (`http://127.0.0.1:PORT/`), once it listens. */
  async apiUrl(server: ChildProcess): Promise<string> {
    let url = '';
    await this.waitFor('the HTTP API to listen', () => {
      url = /dashboard and HTTP API: (https?:\/\/[^/\s]+\/)/.exec(this.logs.get(server) ?? '')?.[1] ?? '';
      return url !== '';
    });
    return url;
  }

  worker(...args: string[]) {
    return this.start('worker', ...args);
  }

  /** Waits until the job has ended; returns its status. */
  async waitForJob(job: number | string, timeoutMs = 60_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = this.json('status', String(job));
      if (status.state !== 'running') return status;
      if (Date.now() > deadline) throw new Error(`job ${job} still running after ${timeoutMs} ms: ${JSON.stringify(status.counts)}\n${this.allLogs()}`);
      await sleep(200);
    }
  }

  async waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${this.allLogs()}`);
      await sleep(100);
    }
  }

  allLogs(): string {
    return [...this.logs.values()].join('\n---\n').slice(-6000);
  }

  async stop(): Promise<void> {
    for (const child of this.processes) child.kill('SIGKILL');
    await sleep(100);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}
