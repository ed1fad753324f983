/**
 * Database outages: whether an error means the task database could not be reached (as
 * opposed to a bad query) — workers and the server wait and retry on these; everything
 * else is a bug or a bad request and is raised — and how to report them.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR']);
// PostgreSQL: connection exceptions (08…), admin/crash shutdown, cannot connect now
const PG_CODES = new Set(['08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03']);

/** True for network failures and the server shutting down or not accepting connections. */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; errno?: number; message?: string } | null;
  if (!e) return false;
  if (e.code && (NETWORK_CODES.has(e.code) || PG_CODES.has(e.code))) return true;
  const message = e.message ?? '';
  return /Connection terminated|connection ended|Client has encountered a connection error|Cannot enqueue .* after fatal error|closed state|timeout exceeded when trying to connect/i.test(message);
}

/**
 * Says once that the database is unreachable, and once that it is back — not once per
 * failed query: after a restart every pooled connection fails once, so "back" is said
 * only after `settleMs` without a connection error.
 */
export class OutageReporter {
  private down = false;
  private lastError = 0;

  constructor(
    private readonly say: (line: string) => void,
    private readonly settleMs = 2000,
  ) {}

  failed(error: Error): void {
    this.lastError = Date.now();
    if (this.down) return;
    this.down = true;
    this.say(`task database unreachable (${error.message}); retrying with backoff`);
  }

  succeeded(): void {
    if (!this.down || Date.now() - this.lastError < this.settleMs) return;
    this.down = false;
    this.say('task database reachable again');
  }
}
