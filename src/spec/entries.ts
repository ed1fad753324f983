import type { JsonValue } from '../core/types.js';
import { checkNode } from './check.js';
import { RESERVED_NAMES, type ExpressionContext } from './expressions.js';
import { describeValue, formatPath, type FieldPath } from './field-path.js';
import type { ParsedDocument } from './parse.js';
import type { Problems } from './problems.js';
import { LOOP_RANGE_KEYS, LoopEntrySchema, TaskEntrySchema } from './schema.js';
import { didYouMean } from './suggest.js';
import { compileText, compileValue, type Compiled } from './templates.js';

/** A task entry of the document, compiled once and instantiated per loop iteration. */
export interface TaskTemplate {
  readonly kind: 'task';
  readonly path: FieldPath;
  /** formatPath(path), kept for PlannedTask.source. */
  readonly source: string;
  readonly type: Compiled<string>;
  readonly name: Compiled<string> | null;
  /** The name holds `${`: the user made it unique, no loop suffix is added. */
  readonly nameIsTemplate: boolean;
  readonly params: Compiled<JsonValue>;
  readonly inputs: ReadonlyArray<readonly [string, Compiled<string>]>;
  readonly outputs: ReadonlyArray<readonly [string, Compiled<string>]>;
  readonly after: ReadonlyArray<Compiled<string>>;
}

export type LoopRange =
  | { readonly kind: 'values'; readonly items: ReadonlyArray<Compiled<JsonValue>> }
  | {
      readonly kind: 'linear_range' | 'log_range';
      readonly start: Compiled<JsonValue>;
      readonly end: Compiled<JsonValue>;
      readonly n: Compiled<JsonValue>;
    };

export interface LoopTemplate {
  readonly kind: 'loop';
  readonly path: FieldPath;
  readonly source: string;
  readonly variable: string;
  readonly range: LoopRange;
  readonly body: ReadonlyArray<Entry>;
  /** The number of iterations depends on an enclosing loop's variable. */
  readonly sizeUsesLoop: boolean;
  /** No loop nested in the body has a size depending on a loop variable: counts multiply. */
  readonly bodySizeIsStatic: boolean;
}

export type Entry = TaskTemplate | LoopTemplate;

export interface EntryEnv {
  readonly doc: ParsedDocument;
  readonly problems: Problems;
  readonly constants: Readonly<Record<string, JsonValue>>;
  /** Reports an unknown task type (used for `task:` values without expressions). */
  readonly checkType: (type: string, path: FieldPath) => void;
}

const TASK_KEYS = Object.keys(TaskEntrySchema.shape);
const LOOP_KEYS = Object.keys(LoopEntrySchema.shape);
const ENTRY_KEYS = [...new Set([...TASK_KEYS, ...LOOP_KEYS])];

/** Validates and compiles a `tasks:` list; invalid entries are reported and left out. */
export function buildEntries(list: readonly unknown[], base: FieldPath, names: ReadonlySet<string>, env: EntryEnv): Entry[] {
  const entries: Entry[] = [];
  list.forEach((item, i) => {
    const path = [...base, i];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      env.problems.add(env.doc, path, `expected a task (a mapping with task:) or a loop (a mapping with for:), got ${describeValue(item)}`);
      return;
    }
    const keys = Object.keys(item);
    const isLoop = 'for' in item || (!('task' in item) && keys.some((k) => LOOP_KEYS.includes(k) && !TASK_KEYS.includes(k)));
    const isTask = !isLoop && ('task' in item || keys.some((k) => TASK_KEYS.includes(k)));
    if (!isLoop && !isTask) {
      for (const key of keys) {
        env.problems.add(
          env.doc,
          [...path, key],
          `unknown key ${JSON.stringify(key)}${didYouMean(key, ENTRY_KEYS)}; expected a task (keys: ${TASK_KEYS.join(', ')}) or a loop (keys: ${LOOP_KEYS.join(', ')})`,
          { at: 'key' },
        );
      }
      if (keys.length === 0) env.problems.add(env.doc, path, 'expected a task (a mapping with task:) or a loop (a mapping with for:), got an empty mapping');
      return;
    }
    const entry = isLoop ? buildLoop(item, path, names, env) : buildTask(item, path, names, env);
    if (entry) entries.push(entry);
  });
  return entries;
}

function context(names: ReadonlySet<string>, env: EntryEnv): ExpressionContext {
  return { names, constants: env.constants, report: (error) => env.problems.addFieldError(env.doc, error) };
}

function buildTask(item: object, path: FieldPath, names: ReadonlySet<string>, env: EntryEnv): TaskTemplate | null {
  const raw = checkNode(TaskEntrySchema, item, env.doc, path, env.problems);
  if (!raw) return null;
  const ctx = context(names, env);
  const type = compileText(raw.task, [...path, 'task'], ctx);
  const name = raw.name === undefined ? null : compileText(raw.name, [...path, 'name'], ctx);
  const params = compileValue((raw.params ?? {}) as JsonValue, [...path, 'params'], ctx);
  const products = (kind: 'inputs' | 'outputs') =>
    Object.entries(raw[kind] ?? {}).map(([key, value]) => [key, compileText(value, [...path, kind, key], ctx)] as const);
  const inputs = products('inputs');
  const outputs = products('outputs');
  const after = (raw.after ?? []).map((value, i) => compileText(value, [...path, 'after', i], ctx));
  if (type?.isStatic) env.checkType(raw.task, [...path, 'task']);
  if (!type || (raw.name !== undefined && !name) || !params) return null;
  if (inputs.some(([, p]) => !p) || outputs.some(([, p]) => !p) || after.some((a) => !a)) return null;
  return {
    kind: 'task',
    path,
    source: formatPath(path),
    type,
    name,
    nameIsTemplate: raw.name?.includes('${') ?? false,
    params,
    inputs: inputs as Array<[string, Compiled<string>]>,
    outputs: outputs as Array<[string, Compiled<string>]>,
    after: after as Array<Compiled<string>>,
  };
}

function buildLoop(item: object, path: FieldPath, names: ReadonlySet<string>, env: EntryEnv): LoopTemplate | null {
  const raw = checkNode(LoopEntrySchema, item, env.doc, path, env.problems);
  if (!raw) return null;
  const { doc, problems } = env;
  const variable = raw.for;
  let ok = true;
  if (RESERVED_NAMES.has(variable)) {
    problems.add(doc, [...path, 'for'], `"${variable}" is a reserved word of expressions; expected another loop variable name`);
    ok = false;
  } else if (names.has(variable) || names.has(`${variable}_index`)) {
    problems.add(doc, [...path, 'for'], `loop variable "${variable}" is already used by an enclosing loop; expected a new name`);
    ok = false;
  }
  const given = LOOP_RANGE_KEYS.filter((key) => raw[key] !== undefined);
  if (given.length !== 1) {
    const problem =
      given.length === 0
        ? `a loop needs its values: expected exactly one of ${LOOP_RANGE_KEYS.join(', ')}`
        : `a loop takes exactly one of ${LOOP_RANGE_KEYS.join(', ')}, got ${given.join(' and ')}`;
    problems.add(doc, given.length === 0 ? path : [...path, given[1]], problem);
    ok = false;
  }
  const ctx = context(names, env);
  let range: LoopRange | null = null;
  if (given.length === 1 && raw.values) {
    const items = raw.values.map((v, i) => compileValue(v as JsonValue, [...path, 'values', i], ctx));
    if (items.every((c) => c)) range = { kind: 'values', items: items as Array<Compiled<JsonValue>> };
  } else if (given.length === 1) {
    const kind = given[0] as 'linear_range' | 'log_range';
    const [start, end, n] = (raw[kind] ?? []).map((v, i) => compileValue(v, [...path, kind, i], ctx));
    if (start && end && n) range = { kind, start, end, n };
  }
  const inner = new Set(names).add(variable).add(`${variable}_index`);
  const body = buildEntries(raw.tasks, [...path, 'tasks'], inner, env);
  if (!ok || !range) return null;
  const loops = body.filter((e): e is LoopTemplate => e.kind === 'loop');
  return {
    kind: 'loop',
    path,
    source: formatPath(path),
    variable,
    range,
    body,
    sizeUsesLoop: range.kind !== 'values' && range.n.usesLoop,
    bodySizeIsStatic: loops.every((l) => !l.sizeUsesLoop && l.bodySizeIsStatic),
  };
}
