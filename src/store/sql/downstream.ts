/**
 * Walking the task graph downstream, portably: a recursive SELECT computes the set, and
 * plain UPDATEs with id lists change it (MySQL cannot UPDATE a table it reads in a
 * subquery, and MariaDB has no WITH before UPDATE).
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema.js';
import { chunks } from './rows.js';

const IDS_PER_STATEMENT = 1000;

/** Every task reachable downstream of the given tasks (not including them). UNION visits each once. */
export async function downstreamOf(trx: Kysely<Database>, taskIds: number[]): Promise<number[]> {
  if (taskIds.length === 0) return [];
  const result = await sql<{ id: number }>`
    WITH RECURSIVE downstream(id) AS (
      SELECT task_id FROM task_deps WHERE depends_on IN (${sql.join(taskIds)})
      UNION
      SELECT d.task_id FROM task_deps d JOIN downstream ON d.depends_on = downstream.id
    )
    SELECT id FROM downstream
  `.execute(trx);
  return result.rows.map((r) => Number(r.id));
}

/** Runs fn over the ids in statement-sized chunks. */
export async function forChunks(ids: number[], fn: (chunk: number[]) => Promise<unknown>): Promise<void> {
  for (const chunk of chunks(ids, IDS_PER_STATEMENT)) await fn(chunk);
}
