/**
 * Task states and the transitions between them, in one place. The SQL in store/sql
 * moves tasks only along these edges; `assertTransition` documents and checks them.
 */
import { TaskState } from './types.js';

const edges: Record<TaskState, readonly TaskState[]> = {
  // inputs not ready; queued when every upstream task succeeded or was cached
  waiting: ['queued', 'upstream_failed', 'cancelled'],
  // claimable (once its retry backoff has passed)
  queued: ['running', 'cancelled'],
  // claimed by a worker under a lease; back to queued for a retry or a lost worker
  running: ['succeeded', 'cached', 'failed', 'queued', 'cancelled'],
  succeeded: [],
  cached: [],
  // `orrery retry` puts these back: the task itself queued, its downstream waiting
  failed: ['queued'],
  upstream_failed: ['waiting', 'queued'],
  cancelled: ['waiting', 'queued'],
};

export const allTaskStates = Object.values(TaskState) as TaskState[];

/** States a task never leaves by itself. */
export const finishedStates: readonly TaskState[] = ['succeeded', 'cached', 'failed', 'cancelled', 'upstream_failed'];

/** States whose outputs downstream tasks may use. */
export const doneStates: readonly TaskState[] = ['succeeded', 'cached'];

/** States `orrery retry` re-queues. */
export const retryableStates: readonly TaskState[] = ['failed', 'upstream_failed', 'cancelled'];

/** States `orrery cancel` stops. */
export const cancellableStates: readonly TaskState[] = ['waiting', 'queued', 'running'];

export function canTransition(from: TaskState, to: TaskState): boolean {
  return edges[from].includes(to);
}

export function isFinished(state: TaskState): boolean {
  return finishedStates.includes(state);
}

export function emptyCounts(): Record<TaskState, number> {
  return Object.fromEntries(allTaskStates.map((s) => [s, 0])) as Record<TaskState, number>;
}
