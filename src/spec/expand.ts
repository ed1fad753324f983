import type { JsonObject, JsonValue } from '../core/types.js';
import type { ControlTemplate, Entry, LoopTemplate, TaskTemplate } from './entries.js';
import { CONTROL_TYPE, type ControlSpec } from './control-spec.js';
import { taskRefs } from './expressions.js';
import type { Scope } from './expressions.js';
import type { FieldPath } from './field-path.js';
import { loopSize, loopValues } from './loops.js';
import type { ParsedDocument } from './parse.js';
import { normalizeProductPath } from './product-paths.js';
import { FieldError, type Problems } from './problems.js';

/** One loop iteration (or the job's top level), shared by the tasks created in it. */
export interface Iteration {
  readonly scope: Scope;
  readonly loop: JsonObject;
  /** Name suffixes, innermost first: ['_3_1', '_3', ''] inside two loops at indexes 3 and 1. */
  readonly suffixes: readonly string[];
}

/** A task instance before names are made unique and `after` is resolved. */
export interface ExpandedTask {
  readonly template: TaskTemplate | ControlTemplate;
  readonly iteration: Iteration;
  readonly type: string;
  /** The explicit name with its loop suffix, or the automatic base (type + suffix). */
  readonly name: string;
  readonly explicit: boolean;
  readonly params: JsonObject;
  readonly inputs: Record<string, string>;
  readonly outputs: Record<string, string>;
  /** `after` entries as evaluated: names or glob patterns. */
  readonly after: string[];
}

export interface ExpandEnv {
  readonly doc: ParsedDocument;
  readonly problems: Problems;
  readonly maxTasks: number;
  /** Returns a problem message when `type` cannot be used, '' to skip silently, null when fine. */
  readonly checkType: (type: string) => string | null;
}

/** Counts the tasks the loops will create, multiplying sizes, and fails before expanding too many. */
export function countTasks(entries: readonly Entry[], scope: Scope, env: ExpandEnv): number {
  let total = 0;
  for (const entry of entries) {
    if (entry.kind === 'task' || entry.kind === 'control') {
      total += 1;
      if (total > env.maxTasks) throw capError(['tasks'], total, env.maxTasks, 'the job has');
      continue;
    }
    const size = loopSize(entry, scope);
    if (size > env.maxTasks) throw capError(entry.path, size, env.maxTasks, `this loop has ${size} iterations, so at least`);
    let inner = 0;
    if (entry.bodySizeIsStatic) inner = size * countTasks(entry.body, scope, env);
    else {
      const values = loopValues(entry, scope);
      for (let i = 0; i < size && inner <= env.maxTasks; i++) {
        inner += countTasks(entry.body, childScope(scope, entry, values[i], i), env);
      }
    }
    total += inner;
    if (total > env.maxTasks) throw capError(entry.path, total, env.maxTasks, 'expanding this loop brings the job to');
  }
  return total;
}

function capError(path: FieldPath, count: number, cap: number, what: string): FieldError {
  return new FieldError(
    path,
    `${what} ${count} tasks, more than the limit of ${cap} tasks per job; expected fewer iterations (split the job) or raise the limit with --max-tasks ${Math.max(count, cap * 2)}`,
  );
}

/** Expands loops into task instances; problems are reported once per field and the task skipped. */
export function expandEntries(entries: readonly Entry[], iteration: Iteration, env: ExpandEnv, out: ExpandedTask[]): ExpandedTask[] {
  for (const entry of entries) {
    if (entry.kind === 'task' || entry.kind === 'control') {
      try {
        out.push(entry.kind === 'task' ? instantiate(entry, iteration, env) : instantiateControl(entry, iteration, env));
      } catch (error) {
        if (!(error instanceof FieldError)) throw error;
        env.problems.addFieldError(env.doc, error, describeIteration(iteration));
      }
      continue;
    }
    let values: JsonValue[];
    try {
      values = loopValues(entry, iteration.scope);
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      env.problems.addFieldError(env.doc, error, describeIteration(iteration));
      continue;
    }
    for (let i = 0; i < values.length; i++) {
      const loop: JsonObject = { ...iteration.loop, [entry.variable]: values[i], [`${entry.variable}_index`]: i };
      const child: Iteration = {
        scope: childScope(iteration.scope, entry, values[i], i),
        loop,
        suffixes: [`${iteration.suffixes[0]}_${i}`, ...iteration.suffixes],
      };
      expandEntries(entry.body, child, env, out);
    }
  }
  return out;
}

function childScope(scope: Scope, loop: LoopTemplate, value: JsonValue, index: number): Scope {
  return { ...scope, [loop.variable]: value, [`${loop.variable}_index`]: index };
}

const BAD_NAME = /[\s*#/\\]/;

function instantiate(template: TaskTemplate, iteration: Iteration, env: ExpandEnv): ExpandedTask {
  const { scope, suffixes } = iteration;
  const path = template.path;
  const type = template.type.evaluate(scope);
  const typeProblem = env.checkType(type);
  if (typeProblem !== null) throw new FieldError([...path, 'task'], typeProblem || `task type "${type}" has problems (see above)`);
  let name = `${type}${suffixes[0]}`;
  if (template.name) {
    const given = template.name.evaluate(scope);
    if (given === '' || BAD_NAME.test(given)) {
      throw new FieldError(
        [...path, 'name'],
        `expected a task name without spaces, /, \\, * or # (# is used for automatic numbering), got ${JSON.stringify(given)}`,
      );
    }
    name = template.nameIsTemplate ? given : `${given}${suffixes[0]}`;
  }
  return {
    template,
    iteration,
    type,
    name,
    explicit: template.name !== null,
    params: template.params.evaluate(scope) as JsonObject,
    inputs: products(template, 'inputs', scope),
    outputs: products(template, 'outputs', scope),
    after: template.after.map((entry) => entry.evaluate(scope)),
  };
}

/**
 * A control block becomes one task of the built-in control type; its params carry what the
 * engine needs to plan the block's body when it runs. An `if` depends on the tasks whose
 * results its condition reads (resolved like `after`).
 */
function instantiateControl(template: ControlTemplate, iteration: Iteration, env: ExpandEnv): ExpandedTask {
  const spec: ControlSpec = {
    control: template.control,
    file: env.doc.file,
    source: template.source,
    block: template.raw,
    vars: { ...iteration.loop },
    suffixes: [...iteration.suffixes],
    constants: (iteration.scope.constants ?? {}) as JsonObject,
    step: null,
  };
  const after = template.after.map((entry) => entry.evaluate(iteration.scope));
  if (template.control === 'if') after.push(...taskRefs(template.condition));
  return {
    template,
    iteration,
    type: CONTROL_TYPE,
    name: `${template.name}${iteration.suffixes[0]}`,
    explicit: true,
    params: spec as unknown as JsonObject,
    inputs: {},
    outputs: {},
    after,
  };
}

function products(template: TaskTemplate, kind: 'inputs' | 'outputs', scope: Scope): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, compiled] of template[kind]) {
    const normal = normalizeProductPath(compiled.evaluate(scope));
    if (typeof normal !== 'string') throw new FieldError([...template.path, kind, key], normal.problem);
    out[key] = normal;
  }
  return out;
}

/** "nsr=14.6, nsr_index=0" for messages about one iteration of a loop body. */
export function describeIteration(iteration: Iteration): string {
  const parts = Object.entries(iteration.loop).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? `in the iteration ${parts.join(', ')}` : '';
}

