import type { Dispatch } from './dispatch.js';
import { PollDispatch } from './dispatch.js';

/**
 * LISTEN/NOTIFY on PostgreSQL, a short poll elsewhere. The PostgreSQL driver is loaded only
 * when used.
 */
export async function openDispatch(dbUrl: string, pollMs: number, onError?: (error: Error) => void): Promise<Dispatch> {
  if (!/^postgres(ql)?:\/\//.test(dbUrl)) return new PollDispatch(pollMs);
  const { PgNotifyDispatch } = await import('./pg-notify.js');
  const dispatch = new PgNotifyDispatch(dbUrl, onError);
  await dispatch.start();
  return dispatch;
}
