/**
 * A worker's room: the cores, memory and process slots that its tasks' processes hold.
 * A task takes its share when it is claimed, or — claimed ahead while the room was full —
 * when enough is given back, tasks waiting in line first come, first served; it gives its
 * share back as soon as its processes end.
 *
 * A task about to end can also offer its share to the task first in line, if that one
 * needs exactly that share: the one in line then follows it, starting the moment it ends,
 * in the share it leaves (see worker-pool.ts). The room's books do not change for that:
 * the share passes from one to the other, and is given back by whichever ends last.
 */
import { CPU_EPSILON as EPSILON, type FreeRoom, neverFits, type Resources, shareIn } from '../core/fit.js';

export type Capacity = Resources;

/** What one task holds while its processes run. */
export type Share = Resources;

/** The same cores and memory: a task of one may take over the other (see offer). */
export function sameShare(a: Share, b: Share): boolean {
  return a.cpu === b.cpu && a.memory === b.memory;
}

/** How a task waiting in line got in: it took a share, it follows one that offered its share, or it was aborted. */
export type Admission<Offer> = 'admitted' | 'aborted' | { follows: Offer };

export class Room<Offer = never> {
  private freeCpu: number;
  private freeMemory: number;
  /** Tasks holding a share (what `concurrency` limits). */
  private holders = 0;
  private readonly line: Array<{ share: Share; admit(): void; follow(offer: Offer): void }> = [];

  constructor(
    readonly capacity: Capacity,
    private readonly concurrency = Number.POSITIVE_INFINITY,
  ) {
    this.freeCpu = capacity.cpu;
    this.freeMemory = capacity.memory;
  }

  /** No task could start now. */
  get full(): boolean {
    return this.concurrency - this.holders <= 0 || this.freeCpu <= EPSILON;
  }

  /** How many more tasks could start now, at most. */
  get openings(): number {
    return Math.max(0, Math.min(this.concurrency - this.holders, Math.ceil(this.freeCpu - EPSILON)));
  }

  /** The task can never run here: it needs more memory than the whole room has. */
  impossible(task: Share): boolean {
    return neverFits(this.capacity, task);
  }

  /** The share a task takes here (core/fit.ts). */
  shareOf(task: Share): Share {
    return shareIn(this.capacity, task);
  }

  /** What is free now, for a claim to fill (ClaimRequest.room). */
  freeRoom(): FreeRoom {
    return { free: { cpu: this.freeCpu, memory: this.freeMemory }, capacity: this.capacity };
  }

  take(share: Share): void {
    this.freeCpu -= share.cpu;
    this.freeMemory -= share.memory;
    this.holders += 1;
  }

  /** Gives a share back and lets in the tasks waiting in line that now fit. */
  give(share: Share): void {
    this.freeCpu += share.cpu;
    this.freeMemory += share.memory;
    this.holders -= 1;
    this.admit();
  }

  /** A task of this share would fit in what is free now (whether or not others wait in line). */
  fits(share: Share): boolean {
    return this.concurrency - this.holders > 0 && share.cpu <= this.freeCpu + EPSILON && share.memory <= this.freeMemory;
  }

  /** Tasks waiting in line. */
  get waiting(): number {
    return this.line.length;
  }

  /**
   * Takes the share once it fits, after the tasks that were waiting before ('admitted'), or
   * follows a task that offers exactly this share (nothing taken: it is passed on), or
   * ends when `signal` aborts first (nothing taken).
   */
  wait(share: Share, signal: AbortSignal): Promise<Admission<Offer>> {
    if (signal.aborted) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      const waiting = {
        share,
        admit: () => {
          signal.removeEventListener('abort', onAbort);
          this.take(share);
          resolve('admitted');
        },
        follow: (offer: Offer) => {
          signal.removeEventListener('abort', onAbort);
          resolve({ follows: offer });
        },
      };
      const onAbort = () => {
        this.line.splice(this.line.indexOf(waiting), 1);
        resolve('aborted');
        // the task behind it may fit where it did not
        this.admit();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.line.push(waiting);
      this.admit();
    });
  }

  /**
   * A task holding `share` offers it to the task first in line: true when that one needs
   * exactly this share and takes the offer (it leaves the line, and follows the offerer).
   */
  offer(share: Share, offer: Offer): boolean {
    const first = this.line[0];
    if (first === undefined || !sameShare(first.share, share)) return false;
    this.line.shift();
    first.follow(offer);
    return true;
  }

  private admit(): void {
    while (this.line.length > 0 && this.fits(this.line[0].share)) this.line.shift()!.admit();
  }
}
