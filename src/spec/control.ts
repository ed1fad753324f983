/**
 * Running a control task: an `if` picks its branch, a `while` gate decides whether another
 * iteration runs, an `explore` gate decides whether a point's neighbours are explored. The
 * answer is planned into new tasks (a fragment per group) for the store to add to the job in
 * the transaction that completes the control task — so a crash never leaves half a decision.
 */
import type { JsonObject, JsonValue, PlannedTask, TaskType } from '../core/types.js';
import { CONTROL_TYPE, type ControlSpec } from './control-spec.js';
import { bodyNames } from './entries.js';
import { compileExpression, evaluate, splitTemplate, taskRefs } from './expressions.js';
import { planFragment, type Fragment } from './fragment.js';
import { FieldError } from './problems.js';

export interface ControlOutcome {
  /** The control task's own result, e.g. { condition: true, branch: "then" }. */
  result: JsonObject;
  /** New tasks, by group; a group whose key names an existing task is skipped (an explored point). */
  groups: Array<{ key: string | null; fragment: Fragment }>;
  /** Explore: at most `max` gates named `prefix…` in the job (the point budget). */
  budget: { prefix: string; max: number } | null;
}

export class ControlError extends Error {
  override name = 'ControlError';
}

export function runControl(spec: ControlSpec, taskName: string, resultsOf: Record<string, JsonValue>, types: Record<string, TaskType>): ControlOutcome {
  const block = spec.block as Record<string, unknown>;
  const origin = (field: string) => `${spec.file} (${spec.source}.${field})`;
  if (spec.control === 'if') {
    const holds = truthy(condition(spec, 'if', spec.vars, spec.suffixes, resultsOf));
    const entries = (holds ? block.then : block.else) as unknown[] | undefined;
    const groups = entries ? [{ key: null, fragment: plan(spec, entries, spec.vars, spec.suffixes, types, origin(holds ? 'then' : 'else')) }] : [];
    return { result: { condition: holds, branch: holds ? 'then' : 'else', tasks: count(groups) }, groups, budget: null };
  }
  if (spec.control === 'while') return runWhile(spec, taskName, resultsOf, types, origin('tasks'));
  return runExplore(spec, taskName, resultsOf, types, origin('tasks'));
}

function runWhile(spec: ControlSpec, taskName: string, resultsOf: Record<string, JsonValue>, types: Record<string, TaskType>, origin: string): ControlOutcome {
  const block = spec.block as { as?: string; max: number; tasks: unknown[] };
  const variable = block.as ?? 'iteration';
  const start = baseName(taskName);
  const iterationScope = (n: number) => ({
    vars: { ...spec.vars, [variable]: n, [`${variable}_index`]: n },
    suffixes: [`${spec.suffixes[0]}_${n}`, ...spec.suffixes],
  });
  let next = 0;
  let result: JsonObject = { iteration: 0 };
  if (spec.step !== null && 'iteration' in spec.step) {
    const n = spec.step.iteration;
    const scope = iterationScope(n);
    const holds = truthy(condition(spec, 'while', scope.vars, scope.suffixes, resultsOf));
    const more = holds && n + 1 < block.max;
    result = { iteration: n, condition: holds, continue: more, ...(holds && !more ? { stopped: `reached max: ${block.max} iterations` } : {}) };
    if (!more) return { result, groups: [], budget: null };
    next = n + 1;
  }
  const scope = iterationScope(next);
  const body = plan(spec, block.tasks, scope.vars, scope.suffixes, types, origin);
  const gate = gateTask(`${start}#${next}`, { ...spec, step: { iteration: next } });
  return { result, groups: [{ key: null, fragment: withGate(body, gate) }], budget: null };
}

function runExplore(spec: ControlSpec, taskName: string, resultsOf: Record<string, JsonValue>, types: Record<string, TaskType>, origin: string): ControlOutcome {
  const block = spec.block as {
    start: Record<string, number>;
    step: Record<string, number>;
    bounds: Record<string, [number, number]>;
    neighbours?: 'axis' | 'diagonal' | { axis: number };
    budget?: number;
    tasks: unknown[];
  };
  const dims = Object.keys(block.start);
  const start = baseName(taskName);
  const pointScope = (point: number[]) => {
    const vars: JsonObject = { ...spec.vars };
    dims.forEach((dim, d) => {
      vars[dim] = canonical(block.start[dim] + point[d] * block.step[dim]);
      vars[`${dim}_index`] = point[d];
    });
    return { vars, suffixes: [`${spec.suffixes[0]}_${point.join('_')}`, ...spec.suffixes] };
  };
  const group = (point: number[]) => {
    const scope = pointScope(point);
    const gateName = `${start}#${point.join('_')}`;
    const body = plan(spec, block.tasks, scope.vars, scope.suffixes, types, origin);
    return { key: gateName, fragment: withGate(body, gateTask(gateName, { ...spec, step: { point } })) };
  };
  const budget = { prefix: `${start}#`, max: block.budget ?? Number.MAX_SAFE_INTEGER };
  if (spec.step === null || !('point' in spec.step)) {
    return { result: { points: 1 }, groups: [group(dims.map(() => 0))], budget };
  }
  const point = spec.step.point;
  const scope = pointScope(point);
  const holds = truthy(condition(spec, 'neighbours_if', scope.vars, scope.suffixes, resultsOf));
  if (!holds) return { result: { point: scope.vars, explore_neighbours: false }, groups: [], budget };
  const inBounds = (p: number[]) =>
    dims.every((dim, d) => {
      const value = block.start[dim] + p[d] * block.step[dim];
      const [min, max] = block.bounds[dim];
      const eps = 1e-9 * Math.max(1, Math.abs(value));
      return value >= min - eps && value <= max + eps;
    });
  const groups = neighbours(point, block.neighbours ?? 'axis').filter(inBounds).map(group);
  return { result: { point: scope.vars, explore_neighbours: true, neighbours: groups.length }, groups, budget };
}

/** Neighbouring grid points: ±1..k steps along each axis, or every diagonal combination. */
export function neighbours(point: number[], rule: 'axis' | 'diagonal' | { axis: number }): number[][] {
  const out: number[][] = [];
  if (rule === 'diagonal') {
    const combos = (d: number): number[][] => (d === point.length ? [[]] : combos(d + 1).flatMap((rest) => [-1, 0, 1].map((o) => [o, ...rest])));
    for (const offset of combos(0)) if (offset.some((o) => o !== 0)) out.push(point.map((p, d) => p + offset[d]));
    return out;
  }
  const k = rule === 'axis' ? 1 : rule.axis;
  point.forEach((_, d) => {
    for (let step = 1; step <= k; step++) {
      for (const sign of [-1, 1]) out.push(point.map((p, e) => (e === d ? p + sign * step : p)));
    }
  });
  return out;
}

/** Grid values with 12 significant digits, so 0.1 + 0.2 and 0.3 are the same point. */
function canonical(value: number): number {
  return Number(value.toPrecision(12));
}

function condition(spec: ControlSpec, key: string, vars: JsonObject, suffixes: string[], resultsOf: Record<string, JsonValue>): JsonValue {
  const block = spec.block as Record<string, unknown>;
  const text = String(block[key]);
  const path = [spec.source, key];
  const parts = splitTemplate(text, path);
  const source = typeof parts[0] === 'string' ? text : parts[0].expression;
  const names = bodyNames(spec.control, block, new Set(Object.keys(spec.vars)));
  for (const name of Object.keys(vars)) names.add(name);
  const compiled = compileExpression(source, path, {
    names,
    constants: spec.constants as Record<string, JsonValue>,
    allowTasks: true,
    report: (error) => {
      throw error;
    },
  });
  if (!compiled) throw new ControlError(`${spec.file}: ${spec.source}.${key}: the condition cannot be compiled`);
  const tasks: Record<string, { result: JsonValue }> = {};
  for (const ref of taskRefs(compiled)) {
    const found = suffixes.map((suffix) => ref + suffix).find((name) => Object.hasOwn(resultsOf, name));
    if (found === undefined) {
      throw new ControlError(
        `${spec.file}: ${spec.source}.${key}: "${text}" reads tasks.${ref}, but no result of task ${ref}${suffixes[0]} is available (does the task write ORRERY_RESULT?)`,
      );
    }
    tasks[ref] = { result: resultsOf[found] };
  }
  try {
    return evaluate(compiled, { constants: spec.constants, ...vars, tasks }, path);
  } catch (error) {
    if (error instanceof FieldError) throw new ControlError(`${spec.file}: ${spec.source}.${key}: ${error.problem}`);
    throw error;
  }
}

function plan(spec: ControlSpec, entries: unknown[], vars: JsonObject, suffixes: string[], types: Record<string, TaskType>, origin: string): Fragment {
  return planFragment({ origin, entries, vars, suffixes, constants: spec.constants, types });
}

function gateTask(name: string, spec: ControlSpec): PlannedTask {
  return { name, type: CONTROL_TYPE, params: spec as unknown as JsonObject, inputs: {}, outputs: {}, after: [], loop: {}, source: spec.source };
}

/** Adds a gate that runs after every task of the body. */
function withGate(body: Fragment, gate: PlannedTask): Fragment {
  const index = body.tasks.length;
  return {
    tasks: [...body.tasks, gate],
    edges: [...body.edges, ...body.tasks.map((_, i) => [i, index] as [number, number])],
    unresolvedAfter: [...body.unresolvedAfter, []],
  };
}

function baseName(taskName: string): string {
  const hash = taskName.indexOf('#');
  return hash < 0 ? taskName : taskName.slice(0, hash);
}

function truthy(value: JsonValue): boolean {
  return Boolean(value) && !(Array.isArray(value) && value.length === 0);
}

function count(groups: ControlOutcome['groups']): number {
  return groups.reduce((n, g) => n + g.fragment.tasks.length, 0);
}
