/**
 * A task done on SQLite, as one write of the batch (write-batch.ts): mark it done, fenced by
 * its lease token; close its attempt (a success) or drop it (a completion from the cache:
 * nothing ran); record the product versions and make them current; remember the cache entry,
 * replacing one of the same key (a success); and queue the dependents whose `pending` count
 * reaches 0 (readiness, as in sql/complete.ts). Every step after the first happens only if
 * the first did; an output that is not a product of the job throws, and the batch rolls this
 * write back alone.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { type Completion, unknownProduct } from '../sql/complete.js';

const MARK_DONE = `UPDATE tasks
SET state = :state, cache_key = :cache_key, result = :result, error = NULL, finished_at = :now,
    lease_token = NULL, lease_expires_at = NULL, attempts = attempts + :counted
WHERE id = :task AND lease_token = :token AND state = 'running'`;

const CLOSE_ATTEMPT = `UPDATE attempts
SET state = 'succeeded', finished_at = :now, exit_code = :exit_code, signal = NULL,
    wall_ms = :wall_ms, cpu_ms = :cpu_ms, peak_rss = :peak_rss, error = NULL, result = :result
WHERE id = :attempt AND state = 'running'`;

const DROP_ATTEMPT = `DELETE FROM attempts WHERE id = ? AND state = 'running'`;

const PRODUCT = `SELECT id FROM products WHERE job_id = ? AND path = ?`;

const ADD_VERSION = `INSERT INTO product_versions (product_id, attempt_id, sha256, size, qc_passed, created_at)
VALUES (?, ?, ?, ?, 1, ?)`;

const MAKE_CURRENT = `UPDATE products SET current_version_id = ? WHERE id = ?`;

const REMEMBER = `INSERT INTO cache_entries (cache_key, task_id, outputs, result, created_at)
VALUES (:cache_key, :task, :outputs, :result, :now)
ON CONFLICT (cache_key) DO UPDATE
SET task_id = excluded.task_id, outputs = excluded.outputs, result = excluded.result, created_at = excluded.created_at`;

/** An index probe: most tasks of a fan-out have no dependents, and the UPDATE below costs 10–40 times as much. */
const HAS_DEPENDENTS = `SELECT 1 FROM task_deps WHERE depends_on = ? LIMIT 1`;

/** By primary key, from the ids in task_deps (SQLite looks the rowids up; no scan of tasks). */
export const RELEASE_DEPENDENTS = `UPDATE tasks
SET pending = pending - 1,
    state = CASE WHEN pending = 1 THEN 'queued' ELSE state END,
    queued_at = CASE WHEN pending = 1 THEN :now ELSE queued_at END,
    not_before = CASE WHEN pending = 1 THEN 0 ELSE not_before END
WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = :task) AND state = 'waiting'`;

export function complete(database: BetterSqlite3.Database, completion: Completion, now: number): boolean {
  const succeeded = completion.state === 'succeeded';
  const task = completion.taskId;
  const done = database.prepare(MARK_DONE).run({
    state: completion.state,
    cache_key: completion.cacheKey,
    result: completion.result,
    now,
    counted: succeeded ? 1 : 0,
    task,
    token: completion.leaseToken,
  });
  if (done.changes !== 1) return false;
  if (completion.state === 'succeeded') {
    database.prepare(CLOSE_ATTEMPT).run({
      now,
      exit_code: completion.exitCode,
      wall_ms: completion.usage.wallMs ?? null,
      cpu_ms: completion.usage.cpuMs ?? null,
      peak_rss: completion.usage.peakRss ?? null,
      result: completion.result,
      attempt: completion.attemptId,
    });
  } else {
    database.prepare(DROP_ATTEMPT).run(completion.attemptId);
  }
  const attemptId = succeeded ? completion.attemptId : null;
  for (const [path, version] of Object.entries(completion.outputs)) {
    const product = database.prepare(PRODUCT).get(completion.jobId, path) as { id: number } | undefined;
    if (!product) throw unknownProduct(completion.jobId, path);
    const added = database.prepare(ADD_VERSION).run(product.id, attemptId, version.sha256, version.size, now);
    database.prepare(MAKE_CURRENT).run(added.lastInsertRowid, product.id);
  }
  if (succeeded) {
    database.prepare(REMEMBER).run({ cache_key: completion.cacheKey, task, outputs: JSON.stringify(completion.outputs), result: completion.result, now });
  }
  if (database.prepare(HAS_DEPENDENTS).get(task) !== undefined) database.prepare(RELEASE_DEPENDENTS).run({ now, task });
  return true;
}
