/**
 * PostgreSQL LISTEN/NOTIFY: transactions that queue tasks NOTIFY on commit; idle workers
 * LISTEN on a connection of their own and claim at once. The listening connection
 * reconnects with backoff if the server restarts; meanwhile waits fall back to their
 * maximum, so workers keep polling slowly and lose nothing.
 */
import pg from 'pg';
import { QUEUED_CHANNEL } from '../store/postgres/dialect.js';
import type { Dispatch } from './dispatch.js';

export class PgNotifyDispatch implements Dispatch {
  private client: pg.Client | null = null;
  private waiters: Array<() => void> = [];
  /** A notification that came while nobody waited (the worker was claiming): the next wait returns at once. */
  private missed = false;
  private closed = false;
  private retryMs = 250;

  constructor(
    private readonly url: string,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  get listening(): boolean {
    return this.client !== null;
  }

  wait(maxMs: number): Promise<void> {
    if (this.missed) {
      this.missed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      timer.unref();
      this.waiters.push(done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter();
    await this.client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 10_000 });
    client.on('notification', () => {
      if (this.waiters.length === 0) this.missed = true;
      for (const waiter of [...this.waiters]) waiter();
    });
    client.on('error', (error) => this.reconnect(client, error));
    client.on('end', () => this.reconnect(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${QUEUED_CHANNEL}`);
      this.client = client;
      this.retryMs = 250;
      // work queued while we were not listening
      for (const waiter of [...this.waiters]) waiter();
    } catch (error) {
      this.reconnect(client, error as Error);
    }
  }

  private reconnect(client: pg.Client, error: Error): void {
    if (this.closed || (this.client !== client && this.client !== null)) return;
    this.client = null;
    client.removeAllListeners();
    client.end().catch(() => {});
    this.onError(error);
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 5000);
    setTimeout(() => void this.connect(), delay).unref();
  }
}
