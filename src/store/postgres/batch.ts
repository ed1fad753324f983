/**
 * Group commit, one level above PostgreSQL's. The hot statements a process sends to one
 * database (claims, successes, completions from the cache) take turns on one line, one
 * statement at a time. Requests that arrive while a statement runs wait, and the next turn of
 * their kind takes all of them as one statement (claims of one filter together, completions
 * of one kind together). A process whose consumers claim and complete at once thus sends one
 * statement for all that waits, and each task costs the database and the process a share of
 * a statement (its round trip, its executor start, its commit) instead of a whole one. A
 * request that finds the line idle goes at once; one that finds it busy waits for at most the
 * statement running — which, if a row lock holds it up (a dependent being cancelled or retried
 * by a transaction elsewhere, itself bounded by idle_in_transaction_session_timeout), holds up
 * the process's other claims and completions with it. Measured with 2 processes × 4 consumers of no-op tasks: one statement at
 * a time carries the four consumers' requests together; two at a time split them and cost
 * half as much again per task, with lower throughput.
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
  /** Whether `next` may join `batch` (already non-empty): a cap on its size, no two completions of one task. */
  joins(batch: readonly Req[], next: Req): boolean;
}

/** Statements of one process to one database, taking turns: `width` of them at a time. */
export class Line {
  private busy = 0;
  private readonly turns: Array<() => Promise<void>> = [];

  constructor(private readonly width = LINE_WIDTH) {}

  /** Runs `go` when its turn comes (first come, first served). */
  wait(go: () => Promise<void>): void {
    this.turns.push(go);
    this.next();
  }

  private next(): void {
    while (this.busy < this.width && this.turns.length > 0) {
      const go = this.turns.shift()!;
      this.busy += 1;
      // after what is already due has run (the callers of the statement just ended, which
      // often ask at once for the next one): their requests join this turn's batch
      setImmediate(() => {
        void go().finally(() => {
          this.busy -= 1;
          this.next();
        });
      });
    }
  }
}

const LINE_WIDTH = 1;

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
    this.line.wait(async () => {
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
