/**
 * The line a process's hot PostgreSQL statements take turns on (store/postgres/batch.ts):
 * requests that wait while their lane's statement runs go together as the next one; a claim
 * does not wait for a completion, nor a completion for a claim; two statements of one lane
 * never run at once. Statements here are functions that resolve when the test says so.
 */
import { describe, expect, it } from 'vitest';
import { Batcher, type Lane, Line } from '../../src/store/postgres/batch.js';

/** A batcher whose statements the test ends by hand, recording what each carried. */
function manual(line: Line, lane: Lane) {
  const sent: number[][] = [];
  const pending: Array<() => void> = [];
  let running = 0;
  let mostAtOnce = 0;
  const batcher = new Batcher<number, number>(
    line,
    (requests) => {
      sent.push(requests);
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      return new Promise((resolve) =>
        pending.push(() => {
          running -= 1;
          resolve(requests.map((r) => r * 10));
        }),
      );
    },
    { lane, joins: (batch) => batch.length < 3 },
  );
  return {
    batcher,
    sent,
    running: () => running,
    mostAtOnce: () => mostAtOnce,
    /** Ends the oldest statement still running. */
    end: () => pending.shift()!(),
  };
}

/** Lets setImmediate callbacks and promise continuations run. */
const settle = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

describe('the statement line of a process', () => {
  it('sends what waits in a lane as one statement when its turn comes, within the batch cap', async () => {
    const line = new Line();
    const claims = manual(line, 'claims');
    const first = claims.batcher.submit(1);
    await settle();
    expect(claims.sent).toEqual([[1]]);
    const waiting = [2, 3, 4, 5].map((n) => claims.batcher.submit(n));
    await settle();
    // one statement of a lane at a time
    expect(claims.sent).toHaveLength(1);
    claims.end();
    expect(await first).toBe(10);
    await settle();
    expect(claims.sent).toEqual([[1], [2, 3, 4]]);
    claims.end();
    await settle();
    expect(claims.sent).toEqual([[1], [2, 3, 4], [5]]);
    claims.end();
    expect(await Promise.all(waiting)).toEqual([20, 30, 40, 50]);
    expect(claims.mostAtOnce()).toBe(1);
  });

  it('lets a claim go out while a completion runs, and a completion while a claim runs', async () => {
    const line = new Line();
    const claims = manual(line, 'claims');
    const completions = manual(line, 'completions');
    const done = completions.batcher.submit(1);
    await settle();
    const claimed = claims.batcher.submit(2);
    await settle();
    expect(completions.running()).toBe(1);
    expect(claims.running()).toBe(1);
    // a second completion waits for the first, although the claims' lane is busy too
    const doneToo = completions.batcher.submit(3);
    await settle();
    expect(completions.sent).toEqual([[1]]);
    claims.end();
    expect(await claimed).toBe(20);
    completions.end();
    await settle();
    expect(completions.sent).toEqual([[1], [3]]);
    completions.end();
    expect(await Promise.all([done, doneToo])).toEqual([10, 30]);
    expect(completions.mostAtOnce()).toBe(1);
  });

  it('keeps one lane of batchers of different keys to one statement at a time', async () => {
    const line = new Line();
    const a = manual(line, 'completions');
    const b = manual(line, 'completions');
    const first = a.batcher.submit(1);
    const second = b.batcher.submit(2);
    await settle();
    expect(a.running() + b.running()).toBe(1);
    a.end();
    await settle();
    expect(b.running()).toBe(1);
    b.end();
    expect(await Promise.all([first, second])).toEqual([10, 20]);
  });
});
