/**
 * Fitting tasks into a worker's free cores and memory, oldest first: what a claim does for a
 * worker (ClaimRequest.room). Here once, for the worker's room (worker/room.ts) and for the
 * claims that fit in JavaScript (SQLite, MySQL); PostgreSQL's claim says the same in SQL
 * (store/postgres/claim.ts), and the store tests hold every database to the same answers.
 */

/** Cores (fractional: `cpu: 0.5`) and bytes of memory. */
export interface Resources {
  cpu: number;
  memory: number;
}

/** What a worker has free now, and what it has in all. */
export interface FreeRoom {
  free: Resources;
  capacity: Resources;
}

/** Sums of fractional cores are compared with this tolerance. */
export const CPU_EPSILON = 1e-9;

/**
 * The share a task takes of a room of this capacity: its cores, capped at the room's (a task
 * asking for more cores than there are runs alone on all of them, as Snakemake does), and its
 * memory; nothing for a task that needs more memory than the room has (it fails at once).
 */
export function shareIn(capacity: Resources, task: Resources): Resources {
  return neverFits(capacity, task) ? { cpu: 0, memory: 0 } : { cpu: Math.min(task.cpu, capacity.cpu), memory: task.memory };
}

/** The task can never run in a room of this capacity: it needs more memory than the whole room has. */
export function neverFits(capacity: Resources, task: Resources): boolean {
  return task.memory > capacity.memory;
}

/**
 * A fitter for one claim: called oldest first for each candidate, it says whether the
 * candidate fits in what is free after the ones it already took.
 */
export function fitter(room: FreeRoom): (task: Resources) => boolean {
  let { cpu, memory } = room.free;
  return (task) => {
    const share = shareIn(room.capacity, task);
    if (share.cpu > cpu + CPU_EPSILON || share.memory > memory) return false;
    cpu -= share.cpu;
    memory -= share.memory;
    return true;
  };
}
