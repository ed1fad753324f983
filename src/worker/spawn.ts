/**
 * ORRERY_SPAWN: a code may add tasks to its job by writing JSON lines, one task (or loop,
 * or block) of the job language each. They are planned like a submission and join the job
 * when the attempt succeeds. A spawned task without a name is named after its type and a
 * hash of its definition, so the same task spawned twice (or by a retried attempt) is
 * added once — deduplicated by what it is.
 */
import { canonicalJson, sha256 } from '../core/hashing.js';
import { InvalidDocumentError, InvalidInputError } from '../core/errors.js';
import { planFragment } from '../spec/fragment.js';
import type { ClaimedTask, Extension, Store } from '../store/store.js';
import { readIfWritten, TaskProtocolError } from './protocol.js';

export async function readSpawn(file: string, claim: ClaimedTask, store: Store): Promise<Extension | null> {
  const text = readIfWritten(file);
  if (text === null) return null;
  const entries: unknown[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch (error) {
      throw new TaskProtocolError(`ORRERY_SPAWN line ${i + 1} is not valid JSON (${(error as Error).message}); expected one task per line, e.g. {"task": "fit", "params": {"k": 3}}`);
    }
    if (entry && typeof entry === 'object' && !Array.isArray(entry) && 'task' in entry && !('name' in entry)) {
      const digest = sha256(canonicalJson(entry)).slice(0, 10);
      entry = { ...entry, name: `${String((entry as { task: unknown }).task)}_${digest}` };
    }
    const identity = canonicalJson(entry);
    if (seen.has(identity)) return; // the same task spawned twice is one task
    seen.add(identity);
    entries.push(entry);
  });
  if (entries.length === 0) return null;
  try {
    const fragment = planFragment({
      origin: `ORRERY_SPAWN of task ${claim.task.name}`,
      entries,
      vars: {},
      suffixes: [''],
      constants: {},
      types: await store.jobTypes(claim.job.id),
    });
    return { groups: [{ key: null, fragment }], budget: null };
  } catch (error) {
    if (error instanceof InvalidInputError || error instanceof InvalidDocumentError) throw new TaskProtocolError(error.message);
    throw error;
  }
}
