/**
 * Adding tasks to a running job — a control block's body, or tasks a code spawned — in the
 * transaction that completes the task that asked for them. New tasks are checked against
 * the job like a submission (one writer per product, inputs that exist, `after` names that
 * exist); a task whose name already exists is the same task planned again and is skipped
 * when its definition is identical (an explore point reached twice, a spawn repeated after a
 * crash), refused otherwise. The asking task's dependents also wait for every new task, so
 * `after: [block]` means after everything the block produced.
 */
import { type Kysely, sql } from 'kysely';
import { canonicalJson } from '../../core/hashing.js';
import type { PlannedTask, TaskType } from '../../core/types.js';
import type { Dialect } from '../dialect.js';
import type { Database } from '../schema.js';
import type { Extension } from '../store.js';
import { chunks, taskRow } from './rows.js';

export class InvalidExtensionError extends Error {
  override name = 'InvalidExtensionError';
}

/**
 * One extension of a job at a time: explore gates reaching the same point never race.
 * Taken first in the transaction, before any task row, so extensions queue rather than deadlock.
 */
export async function lockJob(trx: Kysely<Database>, dialect: Dialect, jobId: number): Promise<void> {
  let lock = trx.selectFrom('jobs').select('id').where('id', '=', jobId);
  if (dialect.supportsSkipLocked) lock = lock.forUpdate();
  await lock.execute();
}

type TypeInfo = Pick<TaskType, 'retries' | 'cpu' | 'memory' | 'pool'>;

export async function extendJob(
  trx: Kysely<Database>,
  dialect: Dialect,
  origin: { jobId: number; taskId: number; taskName: string },
  extension: Extension,
  types: Map<string, TypeInfo>,
  now: number,
): Promise<number> {
  await lockJob(trx, dialect, origin.jobId);
  const added: number[] = [];
  let budgetUsed = extension.budget ? await countNamed(trx, origin.jobId, extension.budget.prefix) : 0;
  for (const group of extension.groups) {
    if (group.key !== null && (await findTask(trx, origin.jobId, group.key))) continue;
    if (extension.budget && group.key !== null) {
      if (budgetUsed >= extension.budget.max) continue;
      budgetUsed += 1;
    }
    added.push(...(await insertFragment(trx, dialect, origin, group.fragment, types, now)));
  }

  // the asking task's dependents wait for the new tasks too
  const dependents = await trx.selectFrom('task_deps').select('task_id').where('depends_on', '=', origin.taskId).execute();
  if (added.length > 0 && dependents.length > 0) {
    for (const dependent of dependents) {
      for (const batch of chunks(added, 500)) {
        await trx
          .insertInto('task_deps')
          .values(batch.map((id) => ({ task_id: Number(dependent.task_id), depends_on: id })))
          .execute();
      }
      await trx
        .updateTable('tasks')
        .set({ pending: sql`pending + ${added.length}` })
        .where('id', '=', Number(dependent.task_id))
        .execute();
    }
  }
  return added.length;
}

async function insertFragment(
  trx: Kysely<Database>,
  dialect: Dialect,
  origin: { jobId: number; taskId: number; taskName: string },
  fragment: Extension['groups'][number]['fragment'],
  types: Map<string, TypeInfo>,
  now: number,
): Promise<number[]> {
  const { jobId } = origin;
  const where = (task: PlannedTask) => `task ${task.name} (added by ${origin.taskName})`;
  // tasks already in the job: identical ones are skipped, different ones refused
  const existing = new Map<string, { id: number; state: string; definition: string }>();
  const names = fragment.tasks.map((t) => t.name);
  for (const batch of chunks(names, 500)) {
    const rows = await trx
      .selectFrom('tasks')
      .select(['id', 'name', 'state', 'type', 'params', 'inputs', 'outputs'])
      .where('job_id', '=', jobId)
      .where('name', 'in', batch)
      .execute();
    for (const row of rows) {
      existing.set(row.name, {
        id: Number(row.id),
        state: row.state,
        definition: canonicalJson({ type: row.type, params: JSON.parse(row.params), inputs: JSON.parse(row.inputs), outputs: JSON.parse(row.outputs) }),
      });
    }
  }
  const fresh = fragment.tasks.map((task, i) => ({ task, i })).filter(({ task }) => {
    const old = existing.get(task.name);
    if (!old) return true;
    if (old.definition !== canonicalJson({ type: task.type, params: task.params, inputs: task.inputs, outputs: task.outputs })) {
      throw new InvalidExtensionError(`${where(task)}: the job already has a different task named ${task.name}; expected a unique name`);
    }
    return false;
  });
  if (fresh.length === 0) return [];

  // products: one writer each; inputs must exist in the job or be written by the fragment
  const written = new Set(fresh.flatMap(({ task }) => Object.values(task.outputs)));
  const producers = await productsOf(trx, jobId, [...written, ...fresh.flatMap(({ task }) => Object.values(task.inputs))]);
  for (const { task } of fresh) {
    for (const path of Object.values(task.outputs)) {
      if (producers.has(path)) throw new InvalidExtensionError(`${where(task)}: product "${path}" is already written by another task of the job; expected one writer per product`);
    }
    for (const path of Object.values(task.inputs)) {
      if (!written.has(path) && !producers.has(path)) {
        throw new InvalidExtensionError(`${where(task)}: no task of the job writes product "${path}" and it is not an external input; expected an existing product`);
      }
    }
    if (!types.has(task.type)) throw new InvalidExtensionError(`${where(task)}: unknown task type "${task.type}"; expected a type declared for the job`);
  }

  // insert the tasks, then compute what each waits for
  const idOf = new Map<number, number>();
  for (const { task, i } of fresh) {
    const type = types.get(task.type)!;
    const id = await dialect.insertId(
      trx.insertInto('tasks').values(taskRow(jobId, task, type, { state: 'waiting', pending: 0 }, now)),
    );
    idOf.set(i, id);
  }
  const upstream = new Map<number, Set<number>>();
  const depend = (down: number, up: number) => {
    if (!upstream.has(down)) upstream.set(down, new Set());
    upstream.get(down)!.add(up);
  };
  for (const [up, down] of fragment.edges) {
    const u = idOf.get(up) ?? existing.get(fragment.tasks[up].name)?.id;
    const d = idOf.get(down);
    if (u !== undefined && d !== undefined) depend(d, u);
  }
  for (const { task, i } of fresh) {
    const id = idOf.get(i)!;
    for (const path of Object.values(task.inputs)) {
      const producer = producers.get(path);
      if (producer !== undefined && producer !== null) depend(id, producer);
    }
    for (const entry of fragment.unresolvedAfter[i] ?? []) {
      const found = await resolveName(trx, jobId, entry);
      if (found.length === 0) throw new InvalidExtensionError(`${where(task)}: after: no task of the job is named "${entry}"`);
      for (const up of found) if (up !== id) depend(id, up);
    }
  }
  for (const [down, ups] of upstream) {
    await trx
      .insertInto('task_deps')
      .values([...ups].map((up) => ({ task_id: down, depends_on: up })))
      .execute();
    const done = await trx
      .selectFrom('tasks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('id', 'in', [...ups])
      .where('state', 'in', ['succeeded', 'cached'])
      .executeTakeFirstOrThrow();
    await trx.updateTable('tasks').set({ pending: ups.size - Number(done.n) }).where('id', '=', down).execute();
  }
  const ids = [...idOf.values()];
  for (const batch of chunks(ids, 500)) {
    await trx.updateTable('tasks').set({ state: 'queued', queued_at: now }).where('id', 'in', batch).where('pending', '=', 0).execute();
  }
  const products = fresh.flatMap(({ task, i }) => Object.values(task.outputs).map((path) => ({ job_id: jobId, path, producer_task_id: idOf.get(i)! })));
  for (const batch of chunks(products, 500)) await trx.insertInto('products').values(batch).execute();
  return ids;
}

/** Product path -> producing task id (null for an external input), for the paths that exist. */
async function productsOf(trx: Kysely<Database>, jobId: number, paths: string[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  for (const batch of chunks([...new Set(paths)], 500)) {
    if (batch.length === 0) continue;
    const rows = await trx.selectFrom('products').select(['path', 'producer_task_id']).where('job_id', '=', jobId).where('path', 'in', batch).execute();
    for (const row of rows) out.set(row.path, row.producer_task_id === null ? null : Number(row.producer_task_id));
  }
  return out;
}

async function findTask(trx: Kysely<Database>, jobId: number, name: string): Promise<boolean> {
  const row = await trx.selectFrom('tasks').select('id').where('job_id', '=', jobId).where('name', '=', name).executeTakeFirst();
  return row !== undefined;
}

async function countNamed(trx: Kysely<Database>, jobId: number, prefix: string): Promise<number> {
  const row = await trx
    .selectFrom('tasks')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('job_id', '=', jobId)
    .where('name', 'like', `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function resolveName(trx: Kysely<Database>, jobId: number, entry: string): Promise<number[]> {
  let query = trx.selectFrom('tasks').select('id').where('job_id', '=', jobId);
  query = entry.includes('*')
    ? query.where('name', 'like', entry.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%'))
    : query.where('name', '=', entry);
  return (await query.execute()).map((r) => Number(r.id));
}
