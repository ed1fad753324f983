/**
 * Group commit, one level above PostgreSQL's. The hot statements a process sends to one
 * database take turns on one line, in two lanes: claims, and completions (successes,
 * completions from the cache), one statement of each lane at a time. Requests that arrive
 * while their lane's statement runs wait, and the lane's next turn takes all of them as one
 * statement (claims of one filter together, completions of one kind together). A process
 * whose consumers claim and complete at once thus sends one statement for all that waits,
 * and each task costs the database and the process a share of a statement (its round trip,
 * its executor start, its commit) instead of a whole one. A request that finds its lane idle
 * goes at once; one that finds it busy waits for at most the statement running — which, if a
 * row lock holds it up (a dependent being cancelled or retried by a transaction elsewhere,
 * itself bounded by idle_in_transaction_session_timeout), holds up the lane's other requests
 * with it.
 *
 * Why two lanes and not one or more: a worker claims for the slot a task has just left while
 * it records that task's success, and on one line the claim waited for the success (or the
 * success for the claim) although neither needs the other. Measured with one process of 4
 * consumers of no-op tasks, each asking for its next task while its last success is recorded:
 * one line, 1,560–1,670/s; two lanes, 2,300–2,370/s. More statements of one lane at a time split its
 * batches and cost half as much again per task, with lower throughput.
 *
 * A batch is all or nothing in the database (one statement), so a batch that fails with an
 * error that is not transient (those are retried whole) is run again one request at a time:
 * each request gets the outcome it would have had on its own, and an error caused by one
 * request's values reaches only that request.
 */

interface Waiting<Req, Res> {
  request: Req;
  resolve(result: Res): void;
  reject(error: unknown): void;
}

export interface BatchOptions<Req> {
  /** Which lane of the line its statements take: one statement of each lane at a time. */
  lane: Lane;
  /** Whether `next` may join `batch` (already non-empty): a cap on its size, no two completions of one task. */
  joins(batch: readonly Req[], next: Req): boolean;
}

/** Claims, and completions: a process's claim need not wait for its completions, nor they for it. */
export type Lane = 'claims' | 'completions';

/**
 * Statements of one process to one database, taking turns: one statement of each lane at a
 * time, first come first served within a lane. A claim goes out while a completion runs (a
 * worker claims for the slot a task has just left while recording that task's success), but
 * the claims that come meanwhile wait for the claim running and then go together.
 */
export class Line {
  private readonly busy = new Set<Lane>();
  private readonly turns: Array<{ lane: Lane; go: () => Promise<void> }> = [];

  /** Runs `go` when its lane's turn comes. */
  wait(lane: Lane, go: () => Promise<void>): void {
    this.turns.push({ lane, go });
    this.next();
  }

  private next(): void {
    for (let i = 0; i < this.turns.length; ) {
      const turn = this.turns[i];
      if (this.busy.has(turn.lane)) {
        i++;
        continue;
      }
      this.turns.splice(i, 1);
      this.busy.add(turn.lane);
      // after what is already due has run (the callers of the statement just ended, which
      // often ask at once for the next one): their requests join this turn's batch
      setImmediate(() => {
        void turn.go().finally(() => {
          this.busy.delete(turn.lane);
          this.next();
        });
      });
    }
  }
}

export class Batcher<Req, Res> {
  /** A turn is asked for or running. */
  private inLine = false;
  private readonly waiting: Array<Waiting<Req, Res>> = [];

  /** `run` sends one statement for the requests and returns one result per request, in order. */
  constructor(
    private readonly line: Line,
    private readonly run: (requests: Req[]) => Promise<Res[]>,
    private readonly options: BatchOptions<Req>,
  ) {}

  submit(request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      this.getInLine();
    });
  }

  private getInLine(): void {
    if (this.inLine) return;
    this.inLine = true;
    this.line.wait(this.options.lane, async () => {
      try {
        // what waits when the turn comes, not when it was asked for
        await this.send(this.take());
      } finally {
        this.inLine = false;
        // the rest waits for another turn, behind the others in line
        if (this.waiting.length > 0) this.getInLine();
      }
    });
  }

  /** The oldest waiting requests that fit in one batch; a request that does not join waits for the next one. */
  private take(): Array<Waiting<Req, Res>> {
    const batch = [this.waiting.shift()!];
    const requests = [batch[0].request];
    for (let i = 0; i < this.waiting.length; ) {
      if (this.options.joins(requests, this.waiting[i].request)) {
        const [joined] = this.waiting.splice(i, 1);
        batch.push(joined);
        requests.push(joined.request);
      } else i++;
    }
    return batch;
  }

  private async send(batch: Array<Waiting<Req, Res>>): Promise<void> {
    try {
      const results = await this.run(batch.map((w) => w.request));
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      // nothing of the batch was done: each request again, on its own
      for (const w of batch) {
        try {
          w.resolve((await this.run([w.request]))[0]);
        } catch (own) {
          w.reject(own);
        }
      }
    }
  }
}

/** One line per database (a Kysely instance), and one batcher per kind of statement and key on it. */
export class Batchers<Db extends object, Req, Res> {
  private readonly byDb = new WeakMap<Db, Map<string, Batcher<Req, Res>>>();

  constructor(private readonly make: (db: Db, line: Line) => Batcher<Req, Res>) {}

  of(db: Db, key: string): Batcher<Req, Res> {
    let byKey = this.byDb.get(db);
    if (!byKey) this.byDb.set(db, (byKey = new Map()));
    let batcher = byKey.get(key);
    if (!batcher) byKey.set(key, (batcher = this.make(db, lineOf(db))));
    return batcher;
  }
}

const lines = new WeakMap<object, Line>();

function lineOf(db: object): Line {
  let line = lines.get(db);
  if (!line) lines.set(db, (line = new Line()));
  return line;
}
