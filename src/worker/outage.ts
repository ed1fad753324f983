/**
 * Riding out a database outage (a restart, a failover): the outcome of a finished task is
 * worth keeping, so reporting it is retried with backoff while the database is
 * unreachable. If the outage outlasts the lease, the report is fenced out when it finally
 * arrives and the task has run again elsewhere — never recorded twice.
 */
import { isConnectionError } from '../store/outage.js';

export async function retryThroughOutage<T>(fn: () => Promise<T>, maxMs = 120_000): Promise<T> {
  const deadline = Date.now() + maxMs;
  let delay = 100;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (!isConnectionError(error) || Date.now() + delay > deadline) throw error;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}
