import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcessRunner } from '../../src/worker/process-runner.js';
import { runSpec } from '../helpers/run-spec.js';

const spec = runSpec;

describe('process runner', () => {
  const runner = new ProcessRunner(300);

  it('captures stdout and stderr line by line and reports the exit code', async () => {
    const { s, lines } = spec('echo one; echo two >&2; printf "no newline"; exit 3');
    const outcome = await runner.run(s);
    expect(outcome.exitCode).toBe(3);
    expect(outcome.timedOut).toBe(false);
    expect(lines).toEqual([
      ['stdout', 'one'],
      ['stderr', 'two'],
      ['stdout', 'no newline'],
    ]);
  });

  it('kills the whole process tree on timeout', async () => {
    const marker = path.join(os.tmpdir(), `orrery-orphan-${process.pid}-${Date.now()}`);
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

  it('measures CPU time and peak memory of the tree', async () => {
    const { s } = spec(`node -e "const a = Buffer.alloc(150 * 1024 * 1024, 1); let x = 0; const end = Date.now() + 600; while (Date.now() < end) x += a[x % a.length]; console.log(x > 0)"`);
    const outcome = await runner.run(s);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.cpuMs).toBeGreaterThan(300);
    expect(outcome.peakRss).toBeGreaterThan(150 * 1024 * 1024);
  });

  it('reports the signal that killed a code', async () => {
    const { s } = spec('kill -9 $$');
    const outcome = await runner.run(s);
    expect(outcome.signal).toBe('SIGKILL');
  });
});
