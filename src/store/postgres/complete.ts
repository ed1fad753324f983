/**
 * A task done on PostgreSQL, in one statement: mark it done, fenced by its lease token; close
 * its attempt (a success) or drop it (a completion from the cache: nothing ran); record the
 * product versions and make them current; remember the cache entry, replacing one of the same
 * key (a success); queue the dependents whose `pending` count reaches 0 (readiness, as in
 * sql/complete.ts); and NOTIFY the workers only when something was queued. Every step after
 * the first happens only if the first did. One round trip, no BEGIN/COMMIT.
 *
 * Parameters: the task (:task, :token, :job), :now, :cache_key, :result, the outputs as three
 * parallel arrays (:paths, :sha256s, :sizes), the claim's :attempt; a success also has
 * :exit_code, :wall_ms, :cpu_ms, :peak_rss and :outputs (the cache entry's JSON).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { type Completion, unknownProduct } from '../sql/complete.js';
import { NOTIFY_QUEUED } from './notify.js';
import { statement } from './statement.js';

function completeStatement(kind: 'succeeded' | 'cached') {
  const succeeded = kind === 'succeeded';
  return statement<string>(
    kind === 'succeeded' ? 'succeed' : 'complete_cached',
    `WITH unknown AS (
  SELECT o.path FROM unnest(:paths::text[]) AS o (path)
  WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.job_id = :job::integer AND p.path = o.path)
),
done AS (
  UPDATE tasks
  SET state = '${kind}', cache_key = :cache_key::text, result = :result::text, error = NULL, finished_at = :now::bigint,
      lease_token = NULL, lease_expires_at = NULL${succeeded ? ', attempts = attempts + 1' : ''}
  WHERE id = :task::integer AND lease_token = :token::text AND state = 'running'
    -- an output that is not a product of the job records nothing (the caller raises it)
    AND NOT EXISTS (SELECT 1 FROM unknown)
  RETURNING id
),
${
  succeeded
    ? `attempt AS (
  UPDATE attempts
  SET state = 'succeeded', finished_at = :now, exit_code = :exit_code::integer, signal = NULL,
      wall_ms = :wall_ms::bigint, cpu_ms = :cpu_ms::bigint, peak_rss = :peak_rss::bigint, error = NULL, result = :result
  WHERE id = :attempt::integer AND state = 'running' AND EXISTS (SELECT 1 FROM done)
),`
    : `attempt AS (
  DELETE FROM attempts WHERE id = :attempt::integer AND state = 'running' AND EXISTS (SELECT 1 FROM done)
),`
}
outputs AS (
  SELECT p.id AS product_id, o.sha256, o.size
  FROM unnest(:paths, :sha256s::text[], :sizes::bigint[]) AS o (path, sha256, size)
  JOIN products p ON p.job_id = :job AND p.path = o.path
  WHERE EXISTS (SELECT 1 FROM done)
),
versions AS (
  INSERT INTO product_versions (product_id, attempt_id, sha256, size, qc_passed, created_at)
  SELECT product_id, ${succeeded ? ':attempt' : 'NULL::integer'}, sha256, size, 1, :now FROM outputs
  RETURNING id, product_id
),
made_current AS (
  UPDATE products p SET current_version_id = v.id FROM versions v WHERE p.id = v.product_id
),
${
  succeeded
    ? `remembered AS (
  INSERT INTO cache_entries (cache_key, task_id, outputs, result, created_at)
  SELECT :cache_key, id, :outputs::text, :result, :now FROM done
  ON CONFLICT (cache_key) DO UPDATE
  SET task_id = excluded.task_id, outputs = excluded.outputs, result = excluded.result, created_at = excluded.created_at
),`
    : ''
}
released AS (
  -- by primary key, from the ids in task_deps: never a scan of every task, whatever the statistics
  UPDATE tasks t
  SET pending = t.pending - 1,
      state = CASE WHEN t.pending = 1 THEN 'queued' ELSE t.state END,
      queued_at = CASE WHEN t.pending = 1 THEN :now ELSE t.queued_at END,
      not_before = CASE WHEN t.pending = 1 THEN 0 ELSE t.not_before END
  WHERE t.id = ANY (ARRAY(SELECT d.task_id FROM task_deps d WHERE d.depends_on = :task))
    AND t.state = 'waiting' AND EXISTS (SELECT 1 FROM done)
  RETURNING t.state
)
SELECT EXISTS (SELECT 1 FROM done) AS done,
       -- the lease still held but nothing done: an unknown output (a lost lease is told first)
       CASE WHEN EXISTS (SELECT 1 FROM done) THEN true
            ELSE EXISTS (SELECT 1 FROM tasks WHERE id = :task AND lease_token = :token AND state = 'running') END AS held,
       ARRAY(SELECT path FROM unknown) AS unknown,
       CASE WHEN EXISTS (SELECT 1 FROM released WHERE state = 'queued') THEN ${NOTIFY_QUEUED} END AS notified`,
  );
}

const SUCCEED = completeStatement('succeeded');
const COMPLETE_CACHED = completeStatement('cached');

export async function complete(db: Kysely<Database>, completion: Completion, now: number): Promise<boolean> {
  const outputs = Object.entries(completion.outputs);
  const params: Record<string, unknown> = {
    task: completion.taskId,
    token: completion.leaseToken,
    job: completion.jobId,
    attempt: completion.attemptId,
    now,
    cache_key: completion.cacheKey,
    result: completion.result,
    paths: outputs.map(([path]) => path),
    sha256s: outputs.map(([, version]) => version.sha256),
    sizes: outputs.map(([, version]) => version.size),
  };
  if (completion.state === 'succeeded') {
    Object.assign(params, {
      exit_code: completion.exitCode,
      wall_ms: completion.usage.wallMs ?? null,
      cpu_ms: completion.usage.cpuMs ?? null,
      peak_rss: completion.usage.peakRss ?? null,
      outputs: JSON.stringify(completion.outputs),
    });
  }
  const [row] = await (completion.state === 'succeeded' ? SUCCEED : COMPLETE_CACHED).run<{ done: boolean; held: boolean; unknown: string[] }>(db, params);
  // as in the transaction of sql/complete.ts: a lost lease first, then an unknown output
  if (!row.done && row.held && row.unknown.length > 0) throw unknownProduct(completion.jobId, row.unknown[0]);
  return row.done;
}
