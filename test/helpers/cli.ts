/** Drives the real `orrery` command line as a subprocess, in a temporary project directory. */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ORRERY = path.resolve(__dirname, '../../bin/orrery.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Project {
  readonly dir: string;

  constructor(prefix = 'orrery-e2e-') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  write(file: string, text: string): string {
    const full = path.join(this.dir, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, text);
    return full;
  }

  read(file: string): string {
    return fs.readFileSync(path.join(this.dir, file), 'utf8');
  }

  orrery(...args: string[]): CliResult {
    const r = spawnSync(process.execPath, [ORRERY, ...args], { cwd: this.dir, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
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

  /** Starts `orrery` in the background (for kill tests). */
  start(...args: string[]) {
    return spawn(process.execPath, [ORRERY, ...args], { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
