import type { PlannedJob, PlannedTask, TaskType } from '../../src/core/types.js';

export function taskType(name: string, extra: Partial<TaskType> = {}): TaskType {
  return { name, command: 'true', cpu: 1, memory: 0, timeoutMs: null, retries: 0, backoffMs: 10, qc: null, env: {}, pool: null, image: null, ...extra };
}

/** A plan from a compact description: tasks by name with their inputs/outputs; edges from products. */
export function plan(tasks: Array<Partial<PlannedTask> & { name: string }>, types: TaskType[] = [taskType('t')]): PlannedJob {
  const full: PlannedTask[] = tasks.map((t) => ({ type: types[0].name, params: {}, inputs: {}, outputs: {}, after: [], loop: {}, source: 'tasks', ...t }));
  const producers = new Map<string, number>();
  full.forEach((t, i) => Object.values(t.outputs).forEach((p) => producers.set(p, i)));
  const names = new Map(full.map((t, i) => [t.name, i]));
  const edges: Array<[number, number]> = [];
  full.forEach((t, i) => {
    for (const p of Object.values(t.inputs)) if (producers.has(p)) edges.push([producers.get(p)!, i]);
    for (const a of t.after) edges.push([names.get(a)!, i]);
  });
  return { name: 'test', workdir: 'test', report: null, types: Object.fromEntries(types.map((t) => [t.name, t])), tasks: full, edges, externalInputs: {} };
}

/** A stand-in definition hash for each of the plan's task types (what submission records). */
export function typeHashes(p: PlannedJob): Record<string, string> {
  return Object.fromEntries(Object.keys(p.types).map((t) => [t, `hash-${t}`]));
}

/** A made-up product version: n as the sha256 (hex, zero-padded) and the size. */
export function fakeVersion(n: number): { sha256: string; size: number } {
  return { sha256: n.toString(16).padStart(64, '0'), size: n };
}
