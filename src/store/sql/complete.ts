/**
 * Success of a task, in the completing transaction: record the product versions, make
 * them current, remember the cache entry, and queue the dependents whose upstream tasks
 * are now all done (event-driven readiness: no polling of the whole table).
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';
import type { FileVersion, Usage } from '../store.js';

/**
 * A task done, as the single-statement form (Dialect.taskStatements) records it: a success
 * closes the claim's attempt and remembers the cache entry; a completion from the cache
 * drops the attempt (nothing ran) and counts no attempt.
 */
export type Completion = {
  taskId: number;
  leaseToken: string;
  jobId: number;
  attemptId: number;
  cacheKey: string;
  /** JSON text, or null. */
  result: string | null;
  outputs: Record<string, FileVersion>;
} & ({ state: 'succeeded'; exitCode: number; usage: Usage } | { state: 'cached' });

/**
 * Marks a running task done, fenced by its lease token. Returns false when the lease
 * is no longer held (the task was reaped, cancelled or finished by someone else).
 */
export async function markDone(
  trx: Kysely<Database>,
  task: { id: number; leaseToken: string },
  done: { state: 'succeeded' | 'cached'; cacheKey: string | null; result: string | null; countAttempt: boolean },
  now: number,
): Promise<boolean> {
  const updated = await trx
    .updateTable('tasks')
    .set((eb) => ({
      state: done.state,
      cache_key: done.cacheKey,
      result: done.result,
      error: null,
      finished_at: now,
      lease_token: null,
      lease_expires_at: null,
      attempts: done.countAttempt ? eb('attempts', '+', 1) : eb.ref('attempts'),
    }))
    .where('id', '=', task.id)
    .where('lease_token', '=', task.leaseToken)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}

/** Adds one version per output and makes it the product's current version. */
export async function recordOutputs(
  trx: Kysely<Database>,
  dialect: Dialect,
  jobId: number,
  attemptId: number | null,
  outputs: Record<string, FileVersion>,
  now: number,
): Promise<void> {
  for (const [path, version] of Object.entries(outputs)) await addCurrentVersion(trx, dialect, jobId, path, { attemptId, version, qcPassed: 1 }, now);
}

/** Records a version of the job's product at `path` and makes it current. */
export async function addCurrentVersion(
  trx: Kysely<Database>,
  dialect: Dialect,
  jobId: number,
  path: string,
  added: { attemptId: number | null; version: FileVersion; qcPassed: number | null },
  now: number,
): Promise<void> {
  const product = await trx.selectFrom('products').select('id').where('job_id', '=', jobId).where('path', '=', path).executeTakeFirst();
  if (!product) throw unknownProduct(jobId, path);
  const versionId = await dialect.insertId(
    trx.insertInto('product_versions').values({
      product_id: product.id,
      attempt_id: added.attemptId,
      sha256: added.version.sha256,
      size: added.version.size,
      qc_passed: added.qcPassed,
      created_at: now,
    }),
  );
  await trx.updateTable('products').set({ current_version_id: versionId }).where('id', '=', product.id).execute();
}

/** Remembers what this task produced so an identical task elsewhere can reuse it. */
export async function rememberCacheEntry(
  trx: Kysely<Database>,
  dialect: Dialect,
  entry: { cacheKey: string; taskId: number; outputs: Record<string, FileVersion>; result: string | null },
  now: number,
): Promise<void> {
  const replacing = { task_id: entry.taskId, outputs: JSON.stringify(entry.outputs), result: entry.result, created_at: now };
  // an entry of the same key (an identical task that ran before) is replaced
  await dialect.upsert(trx.insertInto('cache_entries').values({ cache_key: entry.cacheKey, ...replacing }), 'cache_key', replacing).execute();
}

/** A completion named an output that is not a product of its job: nothing is recorded. */
export function unknownProduct(jobId: number, path: string): Error {
  return new Error(`output ${path} is not a product of job ${jobId}: a task records only the outputs its job declares`);
}

/**
 * Readiness: one upstream task of each dependent is done. Dependents with nothing left
 * pending move from waiting to queued. Invariant: `pending` counts the upstream tasks
 * not yet succeeded or cached.
 */
export async function releaseDependents(trx: Kysely<Database>, taskId: number, now: number): Promise<number> {
  // ids first, then updates by primary key: a subquery here made MariaDB (and PostgreSQL
  // without statistics) scan and lock every task of the table
  const rows = await trx.selectFrom('task_deps').select('task_id').where('depends_on', '=', taskId).execute();
  const dependents = rows.map((r) => Number(r.task_id));
  if (dependents.length === 0) return 0;
  await trx
    .updateTable('tasks')
    .set({ pending: sql`pending - 1` })
    .where('id', 'in', dependents)
    .where('state', '=', 'waiting')
    .execute();
  const queued = await trx
    .updateTable('tasks')
    .set({ state: 'queued', queued_at: now, not_before: 0 })
    .where('id', 'in', dependents)
    .where('state', '=', 'waiting')
    .where('pending', '=', 0)
    .executeTakeFirst();
  return Number(queued.numUpdatedRows);
}
