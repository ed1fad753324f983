import type { JsonObject, JsonValue } from '../core/types.js';
import { checkNode } from './check.js';
import { compileExpression, RESERVED_NAMES, splitTemplate, type CompiledExpression, type ExpressionContext } from './expressions.js';
import { describeValue, formatPath, type FieldPath } from './field-path.js';
import type { ParsedDocument } from './parse.js';
import { FieldError, type Problems } from './problems.js';
import { CONTROL_KEYS, ExploreEntrySchema, IfEntrySchema, LOOP_RANGE_KEYS, LoopEntrySchema, TaskEntrySchema, WhileEntrySchema } from './schema.js';
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

/**
 * An if / while / explore block: a control task the engine evaluates at run time, when the
 * results it reads exist. Its body is validated now and planned when it runs.
 */
export interface ControlTemplate {
  readonly kind: 'control';
  readonly control: 'if' | 'while' | 'explore';
  readonly path: FieldPath;
  readonly source: string;
  /** The block's task name (before loop suffixes). */
  readonly name: string;
  readonly condition: CompiledExpression;
  /** The block as written (bodies included), re-planned at run time. */
  readonly raw: JsonObject;
  readonly after: ReadonlyArray<Compiled<string>>;
}

export type Entry = TaskTemplate | LoopTemplate | ControlTemplate;

export interface EntryEnv {
  readonly doc: ParsedDocument;
  readonly problems: Problems;
  readonly constants: Readonly<Record<string, JsonValue>>;
  /** Reports an unknown task type (used for `task:` values without expressions). */
  readonly checkType: (type: string, path: FieldPath) => void;
}

const TASK_KEYS = Object.keys(TaskEntrySchema.shape);
const LOOP_KEYS = Object.keys(LoopEntrySchema.shape);
const ENTRY_KEYS = [...new Set([...TASK_KEYS, ...LOOP_KEYS, ...CONTROL_KEYS])];

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
    const control = CONTROL_KEYS.find((key) => key in item);
    if (control) {
      const entry = buildControl(control, item, path, names, env);
      if (entry) entries.push(entry);
      return;
    }
    const isLoop = 'for' in item || (!('task' in item) && keys.some((k) => LOOP_KEYS.includes(k) && !TASK_KEYS.includes(k)));
    const isTask = !isLoop && ('task' in item || keys.some((k) => TASK_KEYS.includes(k)));
    if (!isLoop && !isTask) {
      for (const key of keys) {
        env.problems.add(
          env.doc,
          [...path, key],
          `unknown key ${JSON.stringify(key)}${didYouMean(key, ENTRY_KEYS)}; expected a task (keys: ${TASK_KEYS.join(', ')}), a loop (keys: ${LOOP_KEYS.join(', ')}), or an if, while or explore block`,
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

const CONTROL_SCHEMAS = { if: IfEntrySchema, while: WhileEntrySchema, explore: ExploreEntrySchema } as const;

function buildControl(control: 'if' | 'while' | 'explore', item: object, path: FieldPath, names: ReadonlySet<string>, env: EntryEnv): ControlTemplate | null {
  const raw = checkNode(CONTROL_SCHEMAS[control] as typeof IfEntrySchema, item, env.doc, path, env.problems) as Record<string, unknown> | null;
  if (!raw) return null;
  const ctx = context(names, env);
  const conditionKey = control === 'explore' ? 'neighbours_if' : control;
  const condition = compileCondition(String(raw[conditionKey]), [...path, conditionKey], { ...ctx, names: bodyNames(control, raw, names), allowTasks: true });
  const after = ((raw.after as string[] | undefined) ?? []).map((value, i) => compileText(value, [...path, 'after', i], ctx));
  // validate the bodies now, so mistakes are found at submission rather than mid-run
  if (control === 'if') {
    buildEntries(raw.then as unknown[], [...path, 'then'], names, env);
    if (raw.else) buildEntries(raw.else as unknown[], [...path, 'else'], names, env);
  } else {
    buildEntries(raw.tasks as unknown[], [...path, 'tasks'], bodyNames(control, raw, names), env);
  }
  if (control === 'explore') checkExplore(raw, path, env);
  if (!condition || after.some((a) => !a)) return null;
  const name = control === 'explore' ? String(raw.explore) : ((raw.name as string | undefined) ?? control);
  if (/[\s*#/\\]/.test(name)) {
    env.problems.add(env.doc, [...path, 'name'], `expected a name without spaces, /, \\, * or #, got ${JSON.stringify(name)}`);
    return null;
  }
  return { kind: 'control', control, path, source: formatPath(path), name, condition, raw: raw as JsonObject, after: after as Array<Compiled<string>> };
}

/** Names visible inside a block's body and condition: a while's iteration variable, an explore's dimensions. */
export function bodyNames(control: 'if' | 'while' | 'explore', raw: Record<string, unknown>, names: ReadonlySet<string>): Set<string> {
  const inner = new Set(names);
  if (control === 'while') {
    const variable = (raw.as as string | undefined) ?? 'iteration';
    inner.add(variable).add(`${variable}_index`);
  }
  if (control === 'explore') {
    for (const dim of Object.keys((raw.start as object) ?? {})) inner.add(dim).add(`${dim}_index`);
  }
  return inner;
}

function compileCondition(text: string, path: FieldPath, ctx: ExpressionContext): CompiledExpression | null {
  let parts;
  try {
    parts = splitTemplate(text, path);
  } catch (error) {
    ctx.report(error as FieldError);
    return null;
  }
  if (parts.length !== 1 || typeof parts[0] === 'string') {
    ctx.report(new FieldError(path, `expected one expression such as "\${tasks.search.result.snr > 7}", got ${JSON.stringify(text)}`));
    return null;
  }
  return compileExpression(parts[0].expression, path, ctx);
}

function checkExplore(raw: Record<string, unknown>, path: FieldPath, env: EntryEnv): void {
  const start = raw.start as Record<string, number>;
  const dims = Object.keys(start);
  if (dims.length === 0) env.problems.add(env.doc, [...path, 'start'], 'expected at least one dimension, e.g. start: { co2: 280 }');
  for (const key of ['step', 'bounds'] as const) {
    const given = Object.keys(raw[key] as object);
    for (const dim of dims) if (!given.includes(dim)) env.problems.add(env.doc, [...path, key], `expected a value for dimension "${dim}" (every dimension of start: needs a ${key === 'step' ? 'step' : 'bound'})`);
    for (const dim of given) if (!dims.includes(dim)) env.problems.add(env.doc, [...path, key, dim], `"${dim}" is not a dimension of start:${didYouMean(dim, dims)}; expected one of ${dims.join(', ')}`, { at: 'key' });
  }
  const step = raw.step as Record<string, number>;
  const bounds = raw.bounds as Record<string, [number, number]>;
  for (const dim of dims) {
    if (step[dim] !== undefined && step[dim] <= 0) env.problems.add(env.doc, [...path, 'step', dim], `expected a step > 0, got ${step[dim]}`);
    const b = bounds[dim];
    if (b && !(b[0] <= start[dim] && start[dim] <= b[1])) {
      env.problems.add(env.doc, [...path, 'bounds', dim], `expected [min, max] with min <= start (${start[dim]}) <= max, got [${b[0]}, ${b[1]}]`);
    }
  }
}
