/**
 * Planning part of a running job: the body of a control block when it runs, or the tasks a
 * code spawned. Same language and checks as a submission; products and `after` names that
 * are not in the fragment may belong to the job and are resolved (or refused) by the store.
 */
import type { JsonObject, JsonValue, PlannedTask, TaskType } from '../core/types.js';
import { CONTROL_TYPE } from './control-spec.js';
import { buildEntries } from './entries.js';
import { expandEntries, type ExpandEnv } from './expand.js';
import type { FieldPath } from './field-path.js';
import { buildGraph } from './graph.js';
import { assignNames } from './names.js';
import { parseDocument } from './parse.js';
import { Problems } from './problems.js';
import { unknownTypeMessage } from './task-types.js';

export interface FragmentInput {
  /** Names the fragment in messages, e.g. "job.yaml (tasks[2].then)". */
  origin: string;
  entries: unknown[];
  /** Variables in scope (enclosing loops, a while's iteration, an explore's point). */
  vars: JsonObject;
  /** Name suffixes, innermost first (['_2_1', '_2', ''] two loops deep). */
  suffixes: string[];
  constants: JsonObject;
  types: Record<string, TaskType>;
  maxTasks?: number;
}

export interface Fragment {
  tasks: PlannedTask[];
  /** [upstream, downstream] indexes into tasks. */
  edges: Array<[number, number]>;
  /** Per task: `after` entries naming no task of the fragment (to resolve against the job). */
  unresolvedAfter: string[][];
}

export function planFragment(input: FragmentInput): Fragment {
  const doc = parseDocument(input.origin, JSON.stringify({ tasks: input.entries }));
  const problems = new Problems();
  const typeNames = new Set(Object.keys(input.types));
  const declared = new Map([...typeNames].map((name) => [name, null]));
  const typeProblem = (type: string): string | null =>
    typeNames.has(type) || type === CONTROL_TYPE ? null : unknownTypeMessage(type, declared as never, true);
  const names = new Set(Object.keys(input.vars));
  const entries = buildEntries(input.entries, ['tasks'], names, {
    doc,
    problems,
    constants: input.constants as Record<string, JsonValue>,
    checkType: (type: string, path: FieldPath) => {
      const problem = typeProblem(type);
      if (problem) problems.add(doc, path, problem);
    },
  });
  problems.throwIfAny();
  const env: ExpandEnv = { doc, problems, maxTasks: input.maxTasks ?? 100_000, checkType: typeProblem };
  const expanded = expandEntries(entries, { scope: { constants: input.constants, ...input.vars }, loop: { ...input.vars }, suffixes: input.suffixes }, env, []);
  problems.throwIfAny();
  const taskNames = assignNames(expanded, doc, problems);
  problems.throwIfAny();
  const graph = buildGraph({ doc, problems, tasks: expanded, names: taskNames, external: new Set(), fragment: true });
  problems.throwIfAny();
  return { tasks: graph.tasks, edges: graph.edges, unresolvedAfter: graph.unresolvedAfter };
}
