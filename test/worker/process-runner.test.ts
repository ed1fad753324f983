import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcessRunner } from '../../src/worker/process-runner.js';
import { launchers } from '../helpers/launchers.js';
import { runSpec } from '../helpers/run-spec.js';

const spec = runSpec;
const MiB = 1024 * 1024;

describe.each(launchers)('process runner ($name launcher)', ({ name, program }) => {
  const runner = new ProcessRunner(300, program);
  afterAll(() => runner.close());

  it('captures stdout and stderr line by line and reports the exit code', async () => {
    const { s, lines } = spec('echo one; echo two >&2; printf "no newline"; exit 3');
    const outcome = await runner.run(s);
    expect(outcome.exitCode).toBe(3);
    expect(outcome.signal).toBeNull();
    expect(outcome.timedOut).toBe(false);
    expect(lines).toEqual([
      ['stdout', 'one'],
      ['stderr', 'two'],
      ['stdout', 'no newline'],
    ]);
  });

  it('reports exit code 0 and no output for a command that writes nothing', async () => {
    const { s, lines } = spec('true');
    const outcome = await runner.run(s);
    expect(outcome).toMatchObject({ exitCode: 0, signal: null, timedOut: false, aborted: false });
    expect(lines).toEqual([]);
  });

  it('kills the whole process tree on timeout', async () => {
    const marker = path.join(os.tmpdir(), `orrery-orphan-${name}-${process.pid}-${Date.now()}`);
    const { s } = spec(`(sleep 2; touch ${marker}) & sleep 30`, { timeoutMs: 200 });
    const started = Date.now();
    const outcome = await runner.run(s);
    expect(outcome.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    await new Promise((r) => setTimeout(r, 2500));
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('escalates to SIGKILL when the code ignores SIGTERM', async () => {
    const { s } = spec(`trap '' TERM; sleep 30`, { timeoutMs: 100 });
    const started = Date.now();
    const outcome = await runner.run(s);
    expect(outcome.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stops when aborted', async () => {
    const abort = new AbortController();
    const { s } = spec('sleep 30', { signal: abort.signal });
    setTimeout(() => abort.abort(), 100);
    const outcome = await runner.run(s);
    expect(outcome.aborted).toBe(true);
  });

  it('splits huge lines into bounded pieces without losing bytes', async () => {
    const { s, lines } = spec(`head -c 300000 /dev/zero | tr '\\0' 'a'; echo; echo after`);
    const outcome = await runner.run(s);
    expect(outcome.exitCode).toBe(0);
    const pieces = lines.filter(([, l]) => /^a+$/.test(l));
    expect(pieces.every(([, l]) => l.length <= 64 * 1024)).toBe(true);
    expect(pieces.reduce((n, [, l]) => n + l.length, 0)).toBe(300000);
    expect(lines[lines.length - 1]).toEqual(['stdout', 'after']);
  });

  it('survives output that is not UTF-8', async () => {
    const { s, lines } = spec(`printf 'ok \\377\\376 bytes\\n'`);
    const outcome = await runner.run(s);
    expect(outcome.exitCode).toBe(0);
    expect(lines[0][1]).toBe('ok \uFFFD\uFFFD bytes');
  });

  it('measures the CPU time of the tree, the waited-for children of the shell included', async () => {
    // CPU time, not wall time: on a busy machine a loop that runs for 400 ms of its clock gets less
    const busy = `node -e "let x = 0; do for (let i = 0; i < 1e6; i++) x += i; while (process.cpuUsage().user < 400000)"`;
    const { s } = spec(`${busy}; ${busy}`);
    const outcome = await runner.run(s);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.cpuMs).toBeGreaterThanOrEqual(800);
    expect(outcome.cpuMs).toBeLessThan(3000);
  });

  it('measures the peak memory of a command that holds ~100 MB', async () => {
    const { s } = spec(`node -e "const a = Buffer.alloc(110 * 1024 * 1024, 1); let x = 0; const end = Date.now() + 600; while (Date.now() < end) x += a[x % a.length]; console.log(x > 0)"`);
    const outcome = await runner.run(s);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.peakRss).toBeGreaterThan(110 * MiB);
    expect(outcome.peakRss).toBeLessThan(1024 * MiB);
  });

  it('measures the memory of processes that run side by side as their sum', async () => {
    const hold = `node -e "const a = Buffer.alloc(70 * 1024 * 1024, 1); setTimeout(() => console.log(a[0]), 800)"`;
    const { s } = spec(`${hold} & ${hold}; wait`);
    const outcome = await runner.run(s);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.peakRss).toBeGreaterThan(140 * MiB);
  });

  it.runIf(name === 'native')('measures the peak memory of a command too short for the sampler', async () => {
    const { s } = spec(`node -e "Buffer.alloc(100 * 1024 * 1024, 1)"`);
    const outcome = await runner.run(s);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.peakRss).toBeGreaterThan(100 * MiB);
  });

  it('starts the command with default signal handling and no signal blocked', async () => {
    // the orrery process and the launchers ignore SIGPIPE, and block or reserve others. The
    // shell execs grep, which reads its own status: a grep forked by the shell could read the
    // shell's while dash has every signal blocked for the fork
    const { s, lines } = spec(`exec grep -E '^Sig(Blk|Ign):' /proc/self/status`);
    expect((await runner.run(s)).exitCode).toBe(0);
    expect(lines).toEqual([
      ['stdout', 'SigBlk:\t0000000000000000'],
      ['stdout', 'SigIgn:\t0000000000000000'],
    ]);
  });

  it('reports the signal that killed a code, as the shell would: exit code 128 + N', async () => {
    const { s } = spec('kill -9 $$');
    const outcome = await runner.run(s);
    expect(outcome.signal).toBe('SIGKILL');
    expect(outcome.exitCode).toBe(137);
    const { s: child } = spec('sh -c "kill -TERM \\$\\$"; exit $?');
    expect(await runner.run(child)).toMatchObject({ signal: 'SIGTERM', exitCode: 143 });
  });
});
