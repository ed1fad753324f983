/**
 * Commands that follow another (RunSpec.after; requests W and C of launcher.c): a worker
 * hands the cores a short command frees straight to the next one, with no round trip
 * through the orrery process. Through the runner, and at the level of the protocol for
 * what the runner never sends on purpose.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcessRunner } from '../../src/worker/process-runner.js';
import type { CommandHandle, RunOutcome } from '../../src/worker/runner.js';
import { launchers } from '../helpers/launchers.js';
import { runSpec as spec } from '../helpers/run-spec.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nanoseconds since the epoch, from `date +%s%N` in a command's output. */
const nanos = (line: string) => BigInt(line);

/** Runs a command; hands back its handle (for another to follow it), its output and its outcome. */
function begin(runner: ProcessRunner, command: string, extra: Parameters<typeof spec>[1] = {}) {
  let handle: CommandHandle | undefined;
  const { s, lines } = spec(command, { ...extra, onLaunch: (h) => (handle = h) });
  const outcome = runner.run(s);
  if (handle === undefined) throw new Error('run() did not hand over the command’s handle');
  return { handle, lines, outcome };
}

describe.each(launchers)('commands that follow another, through the $name launcher', ({ program }) => {
  const runner = new ProcessRunner(300, program);
  afterAll(() => runner.close());

  it('start the moment the one they follow ends, and are timed from then', async () => {
    const first = begin(runner, 'sleep 0.4; date +%s%N');
    let begunAt = 0;
    // a timeout counted from the launch would end it: 0.4 s of waiting + 0.1 s of running
    const { s, lines } = spec('date +%s%N; sleep 0.1', { after: first.handle, timeoutMs: 300, onBegin: () => (begunAt = performance.now()) });
    const launchedAt = performance.now();
    const second = await runner.run(s);
    expect((await first.outcome).exitCode).toBe(0);
    expect(second).toMatchObject({ exitCode: 0, timedOut: false });
    expect(second.wallMs).toBeLessThan(300);
    expect(begunAt - launchedAt).toBeGreaterThan(300);
    // it started after the first command's last output, and soon after
    const gap = nanos(lines[0][1]) - nanos(first.lines[0][1]);
    expect(gap).toBeGreaterThan(0n);
    expect(gap).toBeLessThan(200_000_000n);
  });

  it('start in turn along a chain, each after the one before', async () => {
    const first = begin(runner, 'sleep 0.2; date +%s%N');
    const second = begin(runner, 'sleep 0.2; date +%s%N', { after: first.handle });
    const third = spec('date +%s%N', { after: second.handle });
    const thirdOutcome = await runner.run(third.s);
    expect((await first.outcome).exitCode).toBe(0);
    expect((await second.outcome).exitCode).toBe(0);
    expect(thirdOutcome.exitCode).toBe(0);
    expect(nanos(second.lines[0][1])).toBeGreaterThan(nanos(first.lines[0][1]));
    expect(nanos(third.lines[0][1])).toBeGreaterThan(nanos(second.lines[0][1]));
  });

  it('start at once when the one they follow has ended already, or could not start', async () => {
    const done = begin(runner, 'true');
    await done.outcome;
    const afterDone = spec('echo ran', { after: done.handle });
    expect((await runner.run(afterDone.s)).exitCode).toBe(0);
    expect(afterDone.lines).toEqual([['stdout', 'ran']]);

    const missing = path.join(os.tmpdir(), `orrery-missing-${process.pid}-${Date.now()}`);
    const broken = begin(runner, 'true', { cwd: missing });
    const afterBroken = spec('echo ran too', { after: broken.handle });
    const [brokenOutcome, afterBrokenOutcome] = await Promise.allSettled([broken.outcome, runner.run(afterBroken.s)]);
    expect(brokenOutcome.status).toBe('rejected');
    expect((afterBrokenOutcome as PromiseFulfilledResult<RunOutcome>).value.exitCode).toBe(0);
    expect(afterBroken.lines).toEqual([['stdout', 'ran too']]);
  });

  it('never start when aborted while they wait, and the one they follow carries on', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-follow-'));
    const marker = path.join(dir, 'ran');
    const first = begin(runner, 'sleep 0.4; echo first');
    const abort = new AbortController();
    let begun = false;
    const { s } = spec(`touch ${marker}`, { after: first.handle, signal: abort.signal, onBegin: () => (begun = true) });
    const dropped = runner.run(s);
    await sleep(100);
    abort.abort();
    expect(await dropped).toMatchObject({ exitCode: null, aborted: true, cpuMs: null });
    expect((await first.outcome).exitCode).toBe(0);
    expect(first.lines).toEqual([['stdout', 'first']]);
    // what followed the dropped one would start now; the dropped one never does
    const next = spec('echo next');
    expect((await runner.run(next.s)).exitCode).toBe(0);
    await sleep(100);
    expect(begun).toBe(false);
    expect(fs.existsSync(marker)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('never start when withdrawn while they wait, the last first, and the one they follow carries on', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-withdraw-'));
    const first = begin(runner, 'sleep 0.4; echo first');
    const withdrawSecond = new AbortController();
    const withdrawThird = new AbortController();
    const second = begin(runner, `touch ${path.join(dir, 'second')}`, { after: first.handle, withdraw: withdrawSecond.signal });
    const third = begin(runner, `touch ${path.join(dir, 'third')}`, { after: second.handle, withdraw: withdrawThird.signal });
    await sleep(100);
    // the last first: a command withdrawn lets the one that follows it start
    withdrawThird.abort();
    withdrawSecond.abort();
    expect(await third.outcome).toMatchObject({ exitCode: null, aborted: false, withdrawn: true });
    expect(await second.outcome).toMatchObject({ exitCode: null, aborted: false, withdrawn: true });
    expect(await first.outcome).toMatchObject({ exitCode: 0, withdrawn: false });
    expect(first.lines).toEqual([['stdout', 'first']]);
    await sleep(100);
    expect(fs.readdirSync(dir)).toEqual([]);
    // withdrawn before it was launched, it is never given to the launcher, not even once the
    // command it was to follow has ended (it would start at once)
    let begun = false;
    const late = spec(`touch ${path.join(dir, 'late')}`, { after: first.handle, withdraw: withdrawSecond.signal, onBegin: () => (begun = true) });
    expect(await runner.run(late.s)).toMatchObject({ exitCode: null, withdrawn: true });
    await sleep(100);
    expect(begun).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('run on when withdrawn after they began', async () => {
    const first = begin(runner, 'true');
    const withdraw = new AbortController();
    const { s, lines } = spec('sleep 0.2; echo ran', { after: first.handle, withdraw: withdraw.signal, onBegin: () => withdraw.abort() });
    expect(await runner.run(s)).toMatchObject({ exitCode: 0, aborted: false, withdrawn: false });
    expect(lines).toEqual([['stdout', 'ran']]);
  });

  it('are stopped like any other when aborted after they began', async () => {
    const first = begin(runner, 'true');
    const abort = new AbortController();
    const { s } = spec('sleep 30', { after: first.handle, signal: abort.signal, onBegin: () => void setTimeout(() => abort.abort(), 100) });
    const started = Date.now();
    const outcome = await runner.run(s);
    expect(outcome.aborted).toBe(true);
    expect(outcome.exitCode).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('never start when the runner closes while they wait', async () => {
    const own = new ProcessRunner(300, program);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-follow-'));
    const marker = path.join(dir, 'ran');
    const first = begin(own, 'sleep 30');
    const { s } = spec(`touch ${marker}`, { after: first.handle });
    const waiting = own.run(s).catch((error: unknown) => error);
    const running = first.outcome.catch((error: unknown) => error);
    await sleep(100);
    await own.close();
    expect(await waiting).toBeInstanceOf(Error);
    expect(await running).toBeInstanceOf(Error);
    await sleep(200);
    expect(fs.existsSync(marker)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

/** The launcher's protocol, spoken directly: frames in, frames out (see launcher.c). */
describe.each(launchers)('the $name launcher, asked directly', ({ program }) => {
  function frame(kind: string, id: number, strings: string[]): Buffer {
    const payload = Buffer.from(strings.map((s) => `${s}\0`).join(''));
    const header = Buffer.alloc(9);
    header[0] = kind.charCodeAt(0);
    header.writeUInt32BE(id, 1);
    header.writeUInt32BE(payload.length, 5);
    return Buffer.concat([header, payload]);
  }

  /** Sends the requests, then collects event frames until every id in `until` has sent X, F or D. */
  async function converse(requests: Buffer[], until: number[]): Promise<Array<{ kind: string; id: number; text: string }>> {
    const [file, args] = program.kind === 'native' ? [program.path, ['300']] : [process.execPath, [program.path, '300']];
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const events: Array<{ kind: string; id: number; text: string }> = [];
    const open = new Set(until);
    let buffered = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 9 && buffered.length >= 9 + buffered.readUInt32BE(5)) {
          const end = 9 + buffered.readUInt32BE(5);
          const event = { kind: String.fromCharCode(buffered[0]), id: buffered.readUInt32BE(1), text: buffered.subarray(9, end).toString() };
          buffered = buffered.subarray(end);
          events.push(event);
          if ('XFD'.includes(event.kind)) open.delete(event.id);
          if (open.size === 0) resolve();
        }
      });
      child.stdin!.write(Buffer.concat([frame('B', 0, [`PATH=${process.env.PATH}`]), ...requests]));
    });
    child.stdin!.end();
    await new Promise((r) => child.once('close', r));
    return events;
  }

  it('starts a command waiting for an id it does not know at once', async () => {
    const events = await converse([frame('W', 2, ['1', os.tmpdir(), 'echo two'])], [2]);
    expect(events.filter((e) => e.kind === 'O')).toEqual([{ kind: 'O', id: 2, text: 'two\n' }]);
    expect(events.at(-1)).toMatchObject({ kind: 'X', id: 2 });
  });

  it('sends every frame of a waiting command after the last frame of the one it waits for', async () => {
    const events = await converse([frame('R', 1, [os.tmpdir(), 'sleep 0.2; echo one']), frame('W', 2, ['1', os.tmpdir(), 'echo two']), frame('W', 3, ['2', os.tmpdir(), 'echo three'])], [1, 2, 3]);
    const order = events.map((e) => `${e.kind}${e.id}`);
    expect(order.indexOf('X1')).toBeLessThan(order.findIndex((e) => e.endsWith('2')));
    expect(order.indexOf('X2')).toBeLessThan(order.findIndex((e) => e.endsWith('3')));
    expect(events.filter((e) => e.kind === 'O').map((e) => e.text)).toEqual(['one\n', 'two\n', 'three\n']);
  });

  it('drops a waiting command on C, ends it with D, and starts what waited for it', async () => {
    const events = await converse(
      [frame('R', 1, [os.tmpdir(), 'sleep 0.3; echo one']), frame('W', 2, ['1', os.tmpdir(), 'echo two']), frame('W', 3, ['2', os.tmpdir(), 'echo three']), frame('C', 2, [])],
      [1, 2, 3],
    );
    expect(events.filter((e) => e.id === 2)).toEqual([{ kind: 'D', id: 2, text: '' }]);
    // three waited for two, which ended when it was dropped: three ran at once, before one ended
    const order = events.map((e) => `${e.kind}${e.id}`);
    expect(order.indexOf('X3')).toBeLessThan(order.indexOf('X1'));
    expect(events.filter((e) => e.kind === 'O').map((e) => e.text)).toEqual(['three\n', 'one\n']);
  });

  it('ignores C for a command that has started', async () => {
    const events = await converse([frame('R', 1, [os.tmpdir(), 'sleep 0.2; echo one']), frame('C', 1, [])], [1]);
    expect(events.filter((e) => e.kind === 'O').map((e) => e.text)).toEqual(['one\n']);
    expect(events.at(-1)).toMatchObject({ kind: 'X', id: 1, text: expect.stringMatching(/^0 0 /) });
  });
});
