import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { InvalidInputError } from '../../src/core/errors.js';
import { chooseLauncher, LauncherExitedError } from '../../src/worker/launcher-client.js';
import { ProcessRunner } from '../../src/worker/process-runner.js';
import { hasCompiler, launchers, nativeLauncher } from '../helpers/launchers.js';
import { runSpec } from '../helpers/run-spec.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const spec = runSpec;

/** Live (not zombie) processes in a process group, from /proc. */
function groupMembers(pgid: number): number[] {
  // group 0 holds the kernel's threads: a pid not known yet must not match them
  if (pgid <= 0) throw new Error(`no process group ${pgid}`);
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

/** A process's peak resident set (VmHWM) in bytes, from /proc. */
function peakRss(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

/** Sets environment variables of this process for the length of fn, then puts them back. */
async function withEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  try {
    await fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe.each(launchers)('process runner through the $name launcher', ({ program }) => {
  const runner = new ProcessRunner(300, program);
  afterAll(() => runner.close());

  it('reports the pid of a silent command while it still runs, and of one that ends at once', async () => {
    let running = false;
    const started = performance.now();
    let reportedAfter = 0;
    const long = spec('sleep 1', { onSpawn: (pid) => ((running = alive(pid)), (reportedAfter = performance.now() - started)) });
    await runner.run(long.s);
    expect(running).toBe(true);
    expect(reportedAfter).toBeLessThan(700);
    let shortPid = 0;
    const short = spec('true', { onSpawn: (pid) => (shortPid = pid) });
    await runner.run(short.s);
    expect(shortPid).toBeGreaterThan(0);
  });

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

  it('rejects, saying why, when the working directory is missing', async () => {
    const missing = path.join(os.tmpdir(), `orrery-missing-${process.pid}-${Date.now()}`);
    const { s } = spec('true', { cwd: missing });
    await expect(runner.run(s)).rejects.toThrow(`could not start the command: cannot change to the working directory ${missing}: No such file or directory`);
    const { s: next } = spec('echo still works');
    expect((await runner.run(next)).exitCode).toBe(0);
  });

  it('rejects a command holding a NUL byte, and starts the next', async () => {
    const { s } = spec('echo a\0b');
    await expect(runner.run(s)).rejects.toThrow(/NUL byte/);
    const { s: next, lines } = spec('echo fine');
    expect((await runner.run(next)).exitCode).toBe(0);
    expect(lines).toEqual([['stdout', 'fine']]);
  });

  it('gives the command the worker’s whole environment, NODE_OPTIONS included, with its overrides on top', async () => {
    await withEnv({ NODE_OPTIONS: '--max-old-space-size=2345', ORRERY_TEST_INHERITED: 'from the worker', ORRERY_TEST_REPLACED: 'old' }, async () => {
      const own = new ProcessRunner(300, program);
      try {
        const show = 'echo "$NODE_OPTIONS|$ORRERY_TEST_INHERITED|$ORRERY_TEST_REPLACED|$ORRERY_TEST_ADDED"';
        const { s, lines } = spec(`${show}; echo $PPID`, { env: { ORRERY_TEST_REPLACED: 'new', ORRERY_TEST_ADDED: 'a b=c ✓' } });
        expect((await own.run(s)).exitCode).toBe(0);
        expect(lines[0]).toEqual(['stdout', '--max-old-space-size=2345|from the worker|new|a b=c ✓']);
        // the launcher itself runs without orrery's NODE_OPTIONS
        const launcherEnv = fs.readFileSync(`/proc/${lines[1][1]}/environ`, 'utf8').split('\0');
        expect(launcherEnv.filter((entry) => entry.startsWith('NODE_OPTIONS='))).toEqual([]);
        // overrides are for their own command only
        const { s: next, lines: nextLines } = spec(show);
        await own.run(next);
        expect(nextLines).toEqual([['stdout', '--max-old-space-size=2345|from the worker|old|']]);
      } finally {
        await own.close();
      }
    });
  });

  it('keeps its memory bounded when orrery reads more slowly than the command writes', async () => {
    const own = new ProcessRunner(300, program);
    let launcher = 0;
    let bytes = 0;
    const { s } = spec('echo $PPID; head -c 200000000 /dev/zero', {
      onLine: (_, line) => {
        if (launcher === 0) return void (launcher = Number(line));
        bytes += line.length;
        // a slow reader: about 64 MB/s, where head writes several times faster
        const end = performance.now() + 1;
        while (performance.now() < end);
      },
    });
    try {
      expect((await own.run(s)).exitCode).toBe(0);
      expect(bytes).toBe(200_000_000);
      expect(peakRss(launcher)).toBeLessThan(120 * 1024 * 1024);
    } finally {
      await own.close();
    }
  });

  it('fails a running command when the launcher dies, stops its tree, and starts a new launcher for the next', async () => {
    const own = new ProcessRunner(300, program);
    let shell = 0;
    // $PPID of the command's shell (and of any subshell of it): the launcher
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
    const own = new ProcessRunner(300, program);
    const { s, lines } = spec('echo $PPID');
    await own.run(s);
    const launcher = Number(lines[0][1]);
    expect(alive(launcher)).toBe(true);
    await own.close();
    expect(await waitUntil(() => !alive(launcher), 2000)).toBe(true);
  });

  it('stops the commands still running when the runner is closed, background jobs included', async () => {
    const own = new ProcessRunner(300, program);
    let shell = 0;
    const { s } = spec(`trap '' TERM; sleep 30 & echo started; sleep 30`, { onSpawn: (pid) => (shell = pid) });
    const outcome = own.run(s).catch((error: unknown) => error);
    // the shell and its background sleep, once the launcher has told the shell's pid
    expect(await waitUntil(() => shell > 0 && groupMembers(shell).length >= 2, 3000)).toBe(true);
    await own.close();
    expect(await outcome).toBeInstanceOf(LauncherExitedError);
    expect(await waitUntil(() => groupMembers(shell).length === 0, 3000)).toBe(true);
  });
});

describe.runIf(launchers.length === 2)('the two launchers', () => {
  it('give a command the same environment', async () => {
    const seen: string[][] = [];
    for (const { program } of launchers) {
      const own = new ProcessRunner(300, program);
      const { s, lines } = spec('env', { env: { ORRERY_TEST_ADDED: 'yes', PATH: `/opt/nowhere:${process.env.PATH}` } });
      await own.run(s);
      await own.close();
      seen.push(lines.map(([, line]) => line).sort());
    }
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]).toContain('ORRERY_TEST_ADDED=yes');
    expect(seen[0]).toContain(`PATH=/opt/nowhere:${process.env.PATH}`);
  });
});

describe('choosing a launcher', () => {
  const built = process.execPath; // any file that exists stands for a built native launcher
  const missing = path.join(os.tmpdir(), `orrery-no-launcher-${process.pid}`);

  it('takes the native launcher when it was built, and the Node one otherwise', () => {
    expect(chooseLauncher(undefined, built)).toEqual({ kind: 'native', path: built });
    expect(chooseLauncher('', missing).kind).toBe('node');
    expect(chooseLauncher(undefined, missing).path).toMatch(/launcher\.cjs$/);
  });

  it('follows ORRERY_LAUNCHER, and says what to do when it cannot', () => {
    expect(chooseLauncher('node', built).kind).toBe('node');
    expect(chooseLauncher('native', built).kind).toBe('native');
    expect(() => chooseLauncher('native', missing)).toThrow(InvalidInputError);
    expect(() => chooseLauncher('native', missing)).toThrow(/ORRERY_LAUNCHER: is native, but the native launcher was not built .*npm run build/);
    expect(() => chooseLauncher('fast', built)).toThrow(/ORRERY_LAUNCHER: must be node or native/);
  });

  it.runIf(hasCompiler && process.platform === 'linux')('finds the native launcher that `npm run build` compiled, since a C compiler is installed', async () => {
    const compiled = path.join(ROOT, 'dist', 'worker', 'launcher');
    expect(fs.existsSync(compiled), `${compiled} is missing though a C compiler is installed: run npm run build`).toBe(true);
    // at end of stdin with nothing running it exits at once, and cleanly
    expect(spawnSync(compiled, ['100'], { input: '', timeout: 5000 }).status).toBe(0);
    const client = (await import(pathToFileURL(path.join(ROOT, 'dist', 'worker', 'launcher-client.js')).href)) as { chooseLauncher: typeof chooseLauncher };
    expect(client.chooseLauncher(undefined)).toEqual({ kind: 'native', path: compiled });
  });
});

describe('the native launcher of an installed package', () => {
  const script = path.join(ROOT, 'scripts', 'build-launcher.mjs');

  it('comes as its source and the script that compiles it when the package is installed', () => {
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    expect(pack.status, pack.stderr).toBe(0);
    const files = (JSON.parse(pack.stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['src/worker/launcher.c', 'scripts/build-launcher.mjs', 'dist/worker/launcher.cjs']));
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(manifest.scripts.install).toBe('node scripts/build-launcher.mjs --install');
  });

  it('is compiled anew at install, or removed when it cannot be, so the Node launcher takes over', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-install-'));
    const out = path.join(dir, 'launcher');
    for (const cc of ['false', path.join(dir, 'no-such-cc')]) {
      // the publisher's launcher, built for another machine
      fs.writeFileSync(out, 'a launcher for another machine', { mode: 0o755 });
      const install = spawnSync(process.execPath, [script, '--install', out], { env: { ...process.env, CC: cc }, encoding: 'utf8' });
      expect(install.status, install.stderr).toBe(0);
      expect(install.stdout).toMatch(/native launcher: not built \(.*\); orrery will start commands with its Node launcher/);
      expect(fs.existsSync(out)).toBe(false);
      expect(chooseLauncher(undefined, out).kind).toBe('node');
    }
    // a build in the repository (not an install) fails on a compiler that fails
    expect(spawnSync(process.execPath, [script, out], { env: { ...process.env, CC: 'false' }, encoding: 'utf8' }).status).toBe(1);
    if (hasCompiler && process.platform === 'linux') {
      fs.writeFileSync(out, 'a launcher for another machine', { mode: 0o755 });
      expect(spawnSync(process.execPath, [script, '--install', out], { encoding: 'utf8' }).status).toBe(0);
      expect(spawnSync(out, ['100'], { input: '', timeout: 5000 }).status).toBe(0);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe.each(launchers)('the process running the runner ($name launcher)', ({ name }) => {
  // a plain Node script that runs commands through ProcessRunner, laid out as in a package:
  // bundled into dist/bundle/, as the command-line program is, with the launchers in dist/worker/
  let dir: string;
  let host: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-runner-host-'));
    host = path.join(dir, 'dist', 'bundle', 'runner-host.mjs');
    esbuild.buildSync({ entryPoints: [path.join(here, 'fixtures', 'runner-host.ts')], outfile: host, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent' });
    fs.mkdirSync(path.join(dir, 'dist', 'worker'));
    fs.copyFileSync(path.join(ROOT, 'src', 'worker', 'launcher.cjs'), path.join(dir, 'dist', 'worker', 'launcher.cjs'));
    if (nativeLauncher) fs.copyFileSync(nativeLauncher, path.join(dir, 'dist', 'worker', 'launcher'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function startHost(command: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [host, command], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ORRERY_LAUNCHER: name } });
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
