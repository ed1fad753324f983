/**
 * The Dispatch port: how an idle worker learns that there may be work. The task database
 * stays the source of truth — a wake-up only prompts a claim — so a missed wake-up costs
 * at most one polling period, never a task.
 */
export interface Dispatch {
  /**
   * Wake-ups arrive as notifications right now: an idle worker need not look at the
   * database often (its periodic look is only a safety net).
   */
  readonly listening: boolean;
  /** Resolves when work may be available, or after `maxMs` at most. */
  wait(maxMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Where the database cannot notify (SQLite, MySQL): a short sleep. */
export class PollDispatch implements Dispatch {
  readonly listening = false;

  constructor(private readonly periodMs: number) {}

  wait(maxMs: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.min(maxMs, this.periodMs)).unref());
  }

  async close(): Promise<void> {}
}
