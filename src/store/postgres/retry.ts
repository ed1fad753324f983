import { retryTransient } from '../dialect.js';

/**
 * Runs fn again when PostgreSQL aborted it to break a deadlock (40P01) or by a serialization
 * failure (40001): a transaction, or a single statement (rolled back whole, like a transaction).
 */
export function retry<T>(fn: () => Promise<T>): Promise<T> {
  return retryTransient(fn, isTransient);
}

function isTransient(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '40P01' || code === '40001';
}
