/**
 * A worker's room: tasks hold cores and memory while their processes run; tasks claimed
 * ahead wait in line, first come first served, and leave the line when aborted; a task
 * about to end can pass its share to the first in line.
 */
import { describe, expect, it } from 'vitest';
import { fitter } from '../../src/core/fit.js';
import { Room } from '../../src/worker/room.js';

const GiB = 1024 ** 3;

describe('room', () => {
  it('fits a claim\'s candidates oldest first into what is free, skipping ones that do not fit', () => {
    const room = new Room({ cpu: 4, memory: 8 * GiB });
    room.take({ cpu: 1, memory: GiB });
    const fits = fitter(room.freeRoom());
    expect(fits({ cpu: 2, memory: GiB })).toBe(true);
    expect(fits({ cpu: 2, memory: GiB })).toBe(false);
    expect(fits({ cpu: 1, memory: 7 * GiB })).toBe(false);
    expect(fits({ cpu: 1, memory: GiB })).toBe(true);
    // more cores than the room has: all of them; more memory than it has: nothing (fails at once)
    expect(room.shareOf({ cpu: 16, memory: GiB })).toEqual({ cpu: 4, memory: GiB });
    expect(room.impossible({ cpu: 1, memory: 9 * GiB })).toBe(true);
    expect(room.shareOf({ cpu: 1, memory: 9 * GiB })).toEqual({ cpu: 0, memory: 0 });
  });

  it('says how many tasks could start, within cores and the concurrency limit', () => {
    const room = new Room({ cpu: 4, memory: GiB }, 3);
    expect(room.openings).toBe(3);
    room.take({ cpu: 1.5, memory: 0 });
    expect(room.openings).toBe(2);
    room.take({ cpu: 2.5, memory: 0 });
    expect(room.full).toBe(true);
    expect(room.openings).toBe(0);
  });

  it('lets tasks waiting in line in when room is given back, first come first served', async () => {
    const room = new Room({ cpu: 2, memory: GiB });
    const running = { cpu: 2, memory: 0 };
    room.take(running);
    const admitted: string[] = [];
    const wide = room.wait({ cpu: 2, memory: 0 }, new AbortController().signal).then((how) => how === 'admitted' && admitted.push('wide'));
    const narrow = room.wait({ cpu: 1, memory: 0 }, new AbortController().signal).then((how) => how === 'admitted' && admitted.push('narrow'));
    await Promise.resolve();
    expect(admitted).toEqual([]);
    room.give(running);
    await wide;
    // the narrow one came later: it waits for the wide one although a core would be free after it
    expect(admitted).toEqual(['wide']);
    room.give({ cpu: 2, memory: 0 });
    await narrow;
    expect(admitted).toEqual(['wide', 'narrow']);
  });

  it('takes an aborted task out of the line, taking nothing, and lets the next one in', async () => {
    const room = new Room({ cpu: 2, memory: GiB });
    room.take({ cpu: 1, memory: 0 });
    const abort = new AbortController();
    const wide = room.wait({ cpu: 2, memory: 0 }, abort.signal);
    const narrow = room.wait({ cpu: 1, memory: 0 }, new AbortController().signal);
    abort.abort();
    expect(await wide).toBe('aborted');
    expect(await narrow).toBe('admitted');
    expect(room.full).toBe(true);
  });

  it('passes an offered share to the first in line when it needs exactly that share, leaving the books as they are', async () => {
    const room = new Room<string>({ cpu: 2, memory: GiB });
    const one = { cpu: 1, memory: 0 };
    room.take(one);
    room.take(one);
    const first = room.wait(one, new AbortController().signal);
    const second = room.wait(one, new AbortController().signal);
    expect(room.offer(one, 'after task 1')).toBe(true);
    expect(await first).toEqual({ follows: 'after task 1' });
    // nothing was given back or taken: both cores are still held
    expect(room.full).toBe(true);
    expect(room.openings).toBe(0);
    room.give(one);
    expect(await second).toBe('admitted');
    expect(room.offer(one, 'nobody waits')).toBe(false);
  });

  it('passes no share to a first in line that needs another, nor to one behind it', async () => {
    const room = new Room<string>({ cpu: 4, memory: GiB });
    room.take({ cpu: 4, memory: 0 });
    const wide = room.wait({ cpu: 2, memory: 0 }, new AbortController().signal);
    const narrow = room.wait({ cpu: 1, memory: 0 }, new AbortController().signal);
    expect(room.offer({ cpu: 1, memory: 0 }, 'one core')).toBe(false);
    expect(room.offer({ cpu: 2, memory: 512 }, 'two cores and memory')).toBe(false);
    room.give({ cpu: 4, memory: 0 });
    expect(await wide).toBe('admitted');
    expect(await narrow).toBe('admitted');
  });

  it('passes no share to a task that was aborted in line', async () => {
    const room = new Room<string>({ cpu: 1, memory: GiB });
    const one = { cpu: 1, memory: 0 };
    room.take(one);
    const abort = new AbortController();
    const waiting = room.wait(one, abort.signal);
    abort.abort();
    expect(await waiting).toBe('aborted');
    expect(room.offer(one, 'too late')).toBe(false);
  });
});
