/**
 * The hashes that decide what is "the same": canonical JSON (sorted keys) so that key
 * order in a YAML file never changes a hash.
 */
import { createHash } from 'node:crypto';
import type { PlannedJob, TaskType } from './types.js';

export function canonicalJson(value: unknown): string {
  // loops and string appends, not entries/map/join: a 10,000-task plan hashes in a quarter of
  // the time. Hashes are kept in task databases (cache keys): the text must never change.
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + (canonicalJson(value[i]) ?? '');
    return out + ']';
  }
  const object = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(object).sort()) {
    const item = object[key];
    if (item === undefined) continue;
    out += (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(item);
  }
  return out + '}';
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** What changes a type's results: its command, QC, environment and image; not cpu, timeout or retries. */
export function typeHash(type: TaskType): string {
  return sha256(canonicalJson({ command: type.command, qc: type.qc, env: type.env, image: type.image }));
}

/**
 * The cache key of a task about to run: the type's hash, the resolved params, where its
 * outputs go, the content of each input, and the cache keys of the tasks it depends on
 * (so a task that waits for another with `after`, or reads its results, re-runs when that
 * task changed — not only when its input files did).
 */
export function cacheKey(task: {
  typeHash: string;
  params: unknown;
  outputs: Record<string, string>;
  inputs: Record<string, { sha256: string }>;
  upstreamKeys: Record<string, string>;
}): string {
  const inputs = Object.fromEntries(Object.entries(task.inputs).map(([name, v]) => [name, v.sha256]));
  return sha256(canonicalJson({ type: task.typeHash, params: task.params, outputs: task.outputs, inputs, upstream: task.upstreamKeys }));
}

/** Identity of a submitted plan: the same document run again resumes the same job. */
export function planHash(plan: PlannedJob, externalInputs: Record<string, { sha256: string }>): string {
  const hash = createHash('sha256');
  const inputs = Object.fromEntries(Object.entries(externalInputs).map(([path, v]) => [path, v.sha256]));
  hash.update(canonicalJson({ name: plan.name, workdir: plan.workdir, report: plan.report, types: plan.types, inputs }));
  for (const task of plan.tasks) hash.update(canonicalJson(task));
  hash.update(canonicalJson(plan.edges));
  return hash.digest('hex');
}
