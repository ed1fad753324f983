/**
 * Tasks done on PostgreSQL, in one statement: mark each done, fenced by its lease token;
 * close its attempt (a success) or drop it (a completion from the cache: nothing ran); record
 * the product versions and make them current; remember the cache entries, replacing ones of
 * the same key (a success); queue the dependents whose `pending` count reaches 0 (readiness, as
 * in sql/complete.ts); and NOTIFY the workers only when something was queued. Every step for a
 * task happens only if its first did. One round trip, no BEGIN/COMMIT. Completions of one kind
 * that a process makes while another of its statements runs go together as one (batch.ts).
 *
 * Parameters, for the i-th completion: :task_i, :token_i, :attempt_i, :cache_key_i, :result_i;
 * a success also has :exit_code_i, :wall_ms_i, :cpu_ms_i, :peak_rss_i and :outputs_i (the cache
 * entry's JSON). The outputs of all of them, one array element each: :output_tasks,
 * :output_jobs, :output_attempts, :paths, :sha256s, :sizes. And :now.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { type Completion, unknownProduct } from '../sql/complete.js';
import { Batcher, Batchers } from './batch.js';
import { NOTIFY_QUEUED } from './notify.js';
import { retry } from './retry.js';
import { type Statement, statement } from './statement.js';

/** The columns of one completion, as the VALUES list of the statement has them. */
const COLUMNS = {
  succeeded: { task: 'integer', token: 'text', cache_key: 'text', result: 'text', outputs: 'text' },
  cached: { task: 'integer', token: 'text', cache_key: 'text', result: 'text' },
} as const;

/**
 * The statement for `count` completions of one kind, with or without outputs to record: one
 * text per kind, count and that, made when first needed. The completions are a VALUES list, so the plan (made once per connection, for
 * any values) knows how many rows it looks up and joins with: with arrays of unknown length
 * instead it assumed ten and scanned small tables whole.
 */
function completeStatement(kind: 'succeeded' | 'cached', count: number, outputs: boolean): Statement<string> {
  const key = `${kind}/${count}/${outputs ? 'outputs' : ''}`;
  let found = completeStatements.get(key);
  if (found) return found;
  const succeeded = kind === 'succeeded';
  const columns = Object.entries(COLUMNS[kind]);
  const values = Array.from({ length: count }, (_, i) => `(${columns.map(([name, type]) => `:${name}_${i}::${type}`).join(', ')}, ${i})`);
  const upstreamDone = '(SELECT deps.n FROM deps WHERE deps.task_id = t.id)';
  // the rows to change, by primary key: a list of as many values as there are completions
  const list = (name: string) => Array.from({ length: count }, (_, i) => `:${name}_${i}`).join(', ');
  // one part per completion
  const each = (part: (i: number) => string) => Array.from({ length: count }, (_, i) => part(i)).join('\n');
  found = statement<string>(
    succeeded ? 'succeed' : 'complete_cached',
    `WITH c (${columns.map(([name]) => name).join(', ')}, n) AS (
  VALUES ${values.join(',\n         ')}
),
${
  outputs
    ? `o AS (
  -- each output with its product, found by (job, path); none: not a product of the job
  SELECT o.*, (SELECT p.id FROM products p WHERE p.job_id = o.job AND p.path = o.path) AS product
  FROM unnest(:output_tasks::integer[], :output_jobs::integer[], :output_attempts::integer[], :paths::text[], :sha256s::text[], :sizes::bigint[])
    AS o (task, job, attempt, path, sha256, size)
),`
    : ''
}
done AS (
  UPDATE tasks t
  SET state = '${kind}', cache_key = c.cache_key, result = c.result, error = NULL, finished_at = :now::bigint,
      lease_token = NULL, lease_expires_at = NULL${succeeded ? ', attempts = t.attempts + 1' : ''}
  FROM c
  WHERE t.id IN (${list('task')}) AND t.id = c.task AND t.lease_token = c.token AND t.state = 'running'
${
  outputs
    ? `    -- an output that is not a product of the job records nothing (the caller raises it)
    AND NOT EXISTS (SELECT 1 FROM o WHERE o.task = c.task AND o.product IS NULL)`
    : ''
}
  RETURNING t.id
),
${
  succeeded
    ? each(
        (i) => `attempt_${i} AS (
  UPDATE attempts
  SET state = 'succeeded', finished_at = :now, exit_code = :exit_code_${i}::integer, signal = NULL, wall_ms = :wall_ms_${i}::bigint,
      cpu_ms = :cpu_ms_${i}::bigint, peak_rss = :peak_rss_${i}::bigint, error = NULL, result = :result_${i}
  WHERE id = :attempt_${i}::integer AND state = 'running' AND EXISTS (SELECT 1 FROM done WHERE done.id = :task_${i})
),`,
      )
    : each(
        (i) => `attempt_${i} AS (
  DELETE FROM attempts WHERE id = :attempt_${i}::integer AND state = 'running' AND EXISTS (SELECT 1 FROM done WHERE done.id = :task_${i})
),`,
      )
}
${
  outputs
    ? `versions AS (
  INSERT INTO product_versions (product_id, attempt_id, sha256, size, qc_passed, created_at)
  SELECT o.product, ${succeeded ? 'o.attempt' : 'NULL::integer'}, o.sha256, o.size, 1, :now
  FROM o WHERE o.task = ANY (ARRAY(SELECT id FROM done))
  RETURNING id, product_id
),
made_current AS (
  UPDATE products p SET current_version_id = v.id FROM versions v WHERE p.id = v.product_id
),`
    : ''
}
${
  succeeded
    ? `remembered AS (
  -- (never two completions of one cache key in a statement: see the batcher)
  INSERT INTO cache_entries (cache_key, task_id, outputs, result, created_at)
  SELECT c.cache_key, c.task, c.outputs, c.result, :now FROM c WHERE c.task = ANY (ARRAY(SELECT id FROM done))
  ON CONFLICT (cache_key) DO UPDATE
  SET task_id = excluded.task_id, outputs = excluded.outputs, result = excluded.result, created_at = excluded.created_at
),`
    : ''
}
deps AS (
  -- how many of each dependent's upstream tasks this statement completes
  SELECT d.task_id, count(*)::integer AS n FROM task_deps d
  WHERE d.depends_on = ANY (ARRAY(SELECT id FROM done))
  GROUP BY d.task_id
),
released AS (
  -- by id among the waiting tasks (tasks_queue, on (state, id)), from the ids in task_deps:
  -- never a scan of every task, whatever the statistics
  UPDATE tasks t
  SET pending = t.pending - ${upstreamDone},
      state = CASE WHEN t.pending = ${upstreamDone} THEN 'queued' ELSE t.state END,
      queued_at = CASE WHEN t.pending = ${upstreamDone} THEN :now ELSE t.queued_at END,
      not_before = CASE WHEN t.pending = ${upstreamDone} THEN 0 ELSE t.not_before END
  WHERE t.id = ANY (ARRAY(SELECT task_id FROM deps)) AND t.state = 'waiting'
  RETURNING t.state
)
SELECT c.n,
       c.task = ANY (ARRAY(SELECT id FROM done)) AS done,
       -- the lease still held but nothing done: an unknown output (a lost lease is told first)
       EXISTS (SELECT 1 FROM tasks t WHERE t.id = c.task AND t.lease_token = c.token AND t.state = 'running') AS held,
       ${outputs ? 'ARRAY(SELECT o.path FROM o WHERE o.task = c.task AND o.product IS NULL)' : "'{}'::text[]"} AS unknown,
       (SELECT ${NOTIFY_QUEUED} WHERE EXISTS (SELECT 1 FROM released WHERE state = 'queued')) AS notified
FROM c`,
  );
  completeStatements.set(key, found);
  return found;
}

const completeStatements = new Map<string, Statement<string>>();

/** At most this many completions in one statement. */
const MAX_BATCH = 32;

/** One completion as the batch of its kind holds it. */
interface Done {
  completion: Completion;
  now: number;
}

/** What the statement tells of one completion. */
interface Outcome {
  done: boolean;
  held: boolean;
  unknown: string[];
}

const completeBatchers = new Batchers<Kysely<Database>, Done, Outcome>(
  (db, line) =>
    new Batcher(line, (batch) => completeTogether(db, batch), {
      lane: 'completions',
      // a second completion of one task waits for the next statement, where it is fenced out as it
      // would be alone; so does a second of one cache key, which replaces the first's entry there
      joins: (batch, next) =>
        batch.length < MAX_BATCH &&
        batch.every((d) => d.completion.taskId !== next.completion.taskId && d.completion.cacheKey !== next.completion.cacheKey),
    }),
);

export async function complete(db: Kysely<Database>, completion: Completion, now: number): Promise<boolean> {
  const outcome = await completeBatchers.of(db, completion.state).submit({ completion, now });
  // as in the transaction of sql/complete.ts: a lost lease first, then an unknown output
  if (!outcome.done && outcome.held && outcome.unknown.length > 0) throw unknownProduct(completion.jobId, outcome.unknown[0]);
  return outcome.done;
}

/** One statement for completions of one kind (all successes, or all from the cache). */
async function completeTogether(db: Kysely<Database>, batch: Done[]): Promise<Outcome[]> {
  // in task id order, the order the rows are locked in by any statement that takes several
  const order = batch.map((_, i) => i).sort((x, y) => batch[x].completion.taskId - batch[y].completion.taskId);
  const completions = order.map((i) => batch[i].completion);
  const outputs = completions.flatMap((c) =>
    Object.entries(c.outputs).map(([path, version]) => ({ task: c.taskId, job: c.jobId, attempt: c.attemptId, path, ...version })),
  );
  const params: Record<string, unknown> = {
    // the latest clock of the batch: every completion in it is recorded now
    now: Math.max(...batch.map((d) => d.now)),
  };
  if (outputs.length > 0) {
    Object.assign(params, {
      output_tasks: outputs.map((o) => o.task),
      output_jobs: outputs.map((o) => o.job),
      output_attempts: outputs.map((o) => o.attempt),
      paths: outputs.map((o) => o.path),
      sha256s: outputs.map((o) => o.sha256),
      sizes: outputs.map((o) => o.size),
    });
  }
  completions.forEach((c, i) => {
    Object.assign(params, { [`task_${i}`]: c.taskId, [`token_${i}`]: c.leaseToken, [`attempt_${i}`]: c.attemptId, [`cache_key_${i}`]: c.cacheKey, [`result_${i}`]: c.result });
    if (c.state === 'succeeded') {
      Object.assign(params, {
        [`exit_code_${i}`]: c.exitCode,
        [`wall_ms_${i}`]: c.usage.wallMs ?? null,
        [`cpu_ms_${i}`]: c.usage.cpuMs ?? null,
        [`peak_rss_${i}`]: c.usage.peakRss ?? null,
        [`outputs_${i}`]: JSON.stringify(c.outputs),
      });
    }
  });
  const rows = await retry(() => completeStatement(completions[0].state, completions.length, outputs.length > 0).run<Outcome & { n: number }>(db, params));
  const outcomes: Outcome[] = [];
  for (const row of rows) outcomes[order[row.n]] = { done: row.done, held: row.held, unknown: row.unknown };
  return outcomes;
}
