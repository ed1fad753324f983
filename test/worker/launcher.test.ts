import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { LauncherExitedError } from '../../src/worker/launcher-client.js';
import { ProcessRunner } from '../../src/worker/process-runner.js';
import { runSpec } from '../helpers/run-spec.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const spec = runSpec;

/** Live (not zombie) processes in a process group, from /proc. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return members;
}

async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (condition()) return true;
    await sleep(50);
  }
  return condition();
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('process runner through its launcher', () => {
  const runner = new ProcessRunner(300);
  afterAll(() => runner.close());

  it('reports the pid of the command’s own shell, which leads its process group', async () => {
    let spawned = 0;
    const { s, lines } = spec('echo $$', { onSpawn: (pid) => (spawned = pid) });
    await runner.run(s);
    expect(spawned).toBeGreaterThan(0);
    expect(lines).toEqual([['stdout', String(spawned)]]);
  });

  it('delivers lines while the command is still running', async () => {
    let firstAt = 0;
    const { s } = spec('echo first; sleep 1; echo second', { onLine: (_, line) => line === 'first' && (firstAt = Date.now()) });
    await runner.run(s);
    const endedAt = Date.now();
    expect(firstAt).toBeGreaterThan(0);
    expect(endedAt - firstAt).toBeGreaterThan(700);
  });

  it('keeps the output of many concurrent commands apart', async () => {
    const runs = Array.from({ length: 40 }, (_, n) => {
      const { s, lines } = spec(`i=0; while [ $i -lt 200 ]; do echo "out ${n} $i"; echo "err ${n} $i" >&2; i=$((i+1)); done; exit ${n % 7}`);
      return { n, lines, outcome: runner.run(s) };
    });
    const expected = (stream: string, n: number) => Array.from({ length: 200 }, (_, i) => `${stream === 'stdout' ? 'out' : 'err'} ${n} ${i}`);
    for (const run of runs) {
      expect((await run.outcome).exitCode).toBe(run.n % 7);
      expect(run.lines.filter(([stream]) => stream === 'stdout').map(([, l]) => l)).toEqual(expected('stdout', run.n));
      expect(run.lines.filter(([stream]) => stream === 'stderr').map(([, l]) => l)).toEqual(expected('stderr', run.n));
    }
  });

  it('rejects when the command cannot be started', async () => {
    const { s } = spec('true', { cwd: path.join(os.tmpdir(), `orrery-missing-${process.pid}-${Date.now()}`) });
    await expect(runner.run(s)).rejects.toThrow(/could not start the command in .*orrery-missing/);
    const { s: next } = spec('echo still works');
    expect((await runner.run(next)).exitCode).toBe(0);
  });

  it('fails a running command when the launcher dies, stops its tree, and starts a new launcher for the next', async () => {
    const own = new ProcessRunner(300);
    let shell = 0;
    // in the subshell $PPID is still the parent of the command's shell: the launcher
    const { s } = spec('echo $PPID; sleep 30', {
      onSpawn: (pid) => (shell = pid),
      onLine: (_, line) => process.kill(Number(line), 'SIGKILL'),
    });
    const started = Date.now();
    const failure = await own.run(s).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LauncherExitedError);
    expect((failure as Error).message).toMatch(/launcher .* ended unexpectedly \(killed by SIGKILL\)/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await waitUntil(() => groupMembers(shell).length === 0, 3000)).toBe(true);

    const { s: next, lines } = spec('echo again');
    const outcome = await own.run(next);
    expect(outcome.exitCode).toBe(0);
    expect(lines).toEqual([['stdout', 'again']]);
    await own.close();
  });

  it('stops the launcher on close', async () => {
    const own = new ProcessRunner(300);
    const { s, lines } = spec('echo $PPID');
    await own.run(s);
    const launcher = Number(lines[0][1]);
    expect(alive(launcher)).toBe(true);
    await own.close();
    expect(await waitUntil(() => !alive(launcher), 2000)).toBe(true);
  });
});

describe('the process running the runner', () => {
  // a plain Node script that runs commands through ProcessRunner, laid out as in dist/:
  // the bundled module with launcher.cjs beside it
  let dir: string;
  let host: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-runner-host-'));
    host = path.join(dir, 'runner-host.mjs');
    esbuild.buildSync({ entryPoints: [path.join(here, 'fixtures', 'runner-host.ts')], outfile: host, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent' });
    fs.copyFileSync(path.join(here, '..', '..', 'src', 'worker', 'launcher.cjs'), path.join(dir, 'launcher.cjs'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function startHost(command: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [host, command], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => output, exited };
  }

  it('leaves no process of a running command behind when it is killed with SIGKILL', async () => {
    // the command ignores SIGTERM and has a background job: only the group's SIGKILL ends it
    const { child, output, exited } = startHost(`trap '' TERM; sleep 30 & sleep 30`);
    expect(await waitUntil(() => /pid \d+/.test(output()), 5000)).toBe(true);
    const shell = Number(/pid (\d+)/.exec(output())![1]);
    expect(await waitUntil(() => groupMembers(shell).length >= 3, 2000)).toBe(true);
    child.kill('SIGKILL');
    await exited;
    try {
      expect(await waitUntil(() => groupMembers(shell).length === 0, 3000)).toBe(true);
    } finally {
      for (const pid of groupMembers(shell)) process.kill(pid, 'SIGKILL');
    }
  });

  it('exits on its own once nothing runs, without closing the runner', async () => {
    const { child, output, exited } = startHost('true');
    const ended = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!ended) child.kill('SIGKILL');
    expect(ended).toBe(true);
    expect(output()).toMatch(/exit 0/);
  });
});
