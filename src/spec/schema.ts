import { z } from 'zod';
import { describeValue } from './field-path.js';
import { parseCpu, parseDuration, parseMemory } from './units.js';

/**
 * The shapes of job documents and orrery.yaml. Validation runs these on each node (task lists
 * are walked by entries.ts, which tells tasks from loops); json-schema.ts turns them into the
 * JSON Schemas editors use.
 */

type IssueLike = { input?: unknown; code?: string };

/** An error message "expected X, got Y" (or "is required: expected X" for a missing key). */
export function expected(what: string): (issue: IssueLike) => string {
  return (issue) =>
    issue.input === undefined ? `is required: expected ${what}` : `expected ${what}, got ${describeValue(issue.input)}`;
}

/** For checks after the type is right (min, int): "expected X, got Y". */
const got = (what: string) => ({ error: (issue: IssueLike) => `expected ${what}, got ${describeValue(issue.input)}` });

const text = (what: string) => z.string({ error: expected(what) });
const nonEmpty = (what: string) => text(what).min(1, `expected ${what}, got an empty string`);

/** A transform that turns a parser's string result into a zod issue. */
function quantity(parse: (v: unknown) => number | string, description: string) {
  return z
    .union([z.string(), z.number()], { error: expected(description) })
    .transform((value, ctx) => {
      const parsed = parse(value);
      if (typeof parsed === 'string') {
        ctx.issues.push({ code: 'custom', message: parsed, input: value });
        return z.NEVER;
      }
      return parsed;
    })
    .describe(description);
}

export const CpuSchema = quantity(parseCpu, 'cores: a positive number such as 1, 0.5 or "500m"');
export const MemorySchema = quantity(parseMemory, 'memory with a unit: 512Mi, 4Gi, 2G, 1000M');
export const DurationSchema = quantity(parseDuration, 'a duration: 90s, 10m, 1h30m, 500ms (a bare number is seconds)');

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const identifier = (what: string) =>
  text(what).regex(IDENTIFIER, `expected ${what}: letters, digits and _ , not starting with a digit`);

const scalar = z.union([z.number(), z.string(), z.boolean()], { error: expected('a number, string or boolean') });
export const ConstantsSchema = z
  .record(identifier('a constant name'), scalar, { error: expected('a mapping of constant names to values') })
  .describe('Named values, available in expressions as constants.NAME');

export const PoolSchema = z
  .strictObject(
    {
      image: nonEmpty('a container image').optional(),
      cpu: CpuSchema.optional(),
      memory: MemorySchema.optional(),
      max_workers: z.int({ error: expected('a positive whole number') }).min(1, got('a positive whole number')).optional(),
    },
    { error: expected('a mapping with image, cpu, memory, max_workers') },
  )
  .describe('A kind of worker: an image plus resources');

const ResourcesSchema = z.strictObject(
  { cpu: CpuSchema.optional(), memory: MemorySchema.optional() },
  { error: expected('a mapping with cpu and memory') },
);

export const TaskTypeSchema = z
  .strictObject(
    {
      command: nonEmpty('the shell command to run (a string)').describe(
        'Shell command; may use {params.x}, {inputs.x}, {outputs.x} placeholders',
      ),
      description: text('a description (a string)').optional(),
      cpu: CpuSchema.optional(),
      memory: MemorySchema.optional(),
      resources: ResourcesSchema.optional(),
      timeout: DurationSchema.nullable().optional(),
      retries: z.int({ error: expected('a whole number >= 0') }).min(0, got('a whole number >= 0')).optional(),
      backoff: DurationSchema.optional(),
      qc: nonEmpty('a QC command (a string)').optional(),
      env: z
        .record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
          error: expected('a mapping of variable names to strings'),
        })
        .optional(),
      pool: nonEmpty('the name of a pool declared under pools:').optional(),
      image: nonEmpty('a container image').optional(),
    },
    { error: expected('a mapping with at least command:') },
  )
  .describe('A named science code: command, resources, timeout, retries, QC');

export const TypesSchema = z.record(z.string(), TaskTypeSchema, {
  error: expected('a mapping of task type names to their definitions'),
});

const namedMap = (what: string) => z.record(z.string(), z.unknown(), { error: expected(what) });

/** orrery.yaml with each type and pool left for TaskTypeSchema / PoolSchema (one bad type hides no other). */
export const ConfigSchema = z.strictObject(
  {
    types: namedMap('a mapping of task type names to their definitions').optional(),
    pools: namedMap('a mapping of pool names to pools').optional(),
    constants: ConstantsSchema.optional(),
  },
  { error: expected('a mapping with types, pools and constants') },
);

/** The full orrery.yaml shape, for editors (json-schema.ts). */
export function editorConfigSchema() {
  return ConfigSchema.extend({ types: TypesSchema.optional(), pools: z.record(z.string(), PoolSchema).optional() });
}

const productMap = (what: string) =>
  z.record(z.string(), nonEmpty('a product path relative to the workdir'), {
    error: expected(`a mapping of ${what} names to product paths, e.g. { lightcurve: "evs_\${nsr_index}.lc" }`),
  });

export const TaskEntrySchema = z
  .strictObject({
    task: nonEmpty('the task type name, e.g. task: synthesize'),
    name: nonEmpty('a task name (a string)').optional(),
    params: z.record(z.string(), z.json(), { error: expected('a mapping of parameter names to values') }).optional(),
    inputs: productMap('input').optional(),
    outputs: productMap('output').optional(),
    after: z
      .array(nonEmpty('a task name or a glob pattern'), { error: expected('a list of task names, e.g. after: [prepare]') })
      .optional(),
  })
  .describe('One task: run task type `task` with these params on these inputs');

const rangeItem = z.union([z.number(), z.string()], { error: expected('a number or an expression such as "${73 / 5}"') });
const range = (kind: string) =>
  z
    .tuple([rangeItem, rangeItem, rangeItem], {
      error: (issue) =>
        `expected [start, end, n] (three items), got ${issue.code === 'invalid_type' ? describeValue(issue.input) : 'a list of another length'}`,
    })
    .describe(`${kind}: [start, end, n], both ends included`);

const loopShape = {
  for: identifier('a loop variable name'),
  values: z
    .array(z.json(), { error: expected('a list of values') })
    .min(1, 'expected a non-empty list of values')
    .optional(),
  linear_range: range('Evenly spaced values (like numpy.linspace)').optional(),
  log_range: range('Geometrically spaced values (like numpy.geomspace); start and end > 0').optional(),
};

/** A loop with its body unchecked: entries.ts validates the body entry by entry. */
export const LoopEntrySchema = z.strictObject({
  ...loopShape,
  tasks: z.array(z.unknown(), { error: expected('a list of tasks or loops') }).min(1, 'expected a non-empty list of tasks or loops'),
});

export const LOOP_RANGE_KEYS = ['values', 'linear_range', 'log_range'] as const;

const condition = (what: string) => nonEmpty(`${what}, an expression such as "\${tasks.search.result.snr > 7}"`);
const entryList = (what: string) => z.array(z.unknown(), { error: expected(`a list of ${what}`) });
const afterList = z
  .array(nonEmpty('a task name or a glob pattern'), { error: expected('a list of task names, e.g. after: [prepare]') })
  .optional();

/** `if`: a condition on earlier tasks' results picks `then` or `else` when those results exist. */
export const IfEntrySchema = z.strictObject({
  if: condition('a condition'),
  name: nonEmpty('a name for this block (a string)').optional(),
  then: entryList('tasks to run when the condition holds').min(1, 'expected at least one task under then:'),
  else: entryList('tasks to run when it does not').optional(),
  after: afterList,
});

/** `while`: repeat a block while a condition on the last iteration's results holds, at most `max` times. */
export const WhileEntrySchema = z.strictObject({
  while: condition('a condition on the last iteration'),
  name: nonEmpty('a name for this loop (a string)').optional(),
  as: identifier('an iteration variable name').optional(),
  max: z.number({ error: expected('the maximum number of iterations, a whole number') }).int('expected a whole number of iterations').min(1, 'expected at least 1 iteration'),
  tasks: entryList('tasks or loops').min(1, 'expected a non-empty list of tasks'),
  after: afterList,
});

const perDimension = (what: string) => z.record(identifier('a dimension name'), z.number({ error: expected(`a number (${what})`) }), { error: expected(`a mapping of dimension names to numbers (${what})`) });

/** `explore`: adaptive search of a grid outward from a start point. */
export const ExploreEntrySchema = z.strictObject({
  explore: identifier('a name for this exploration'),
  start: perDimension('the start point'),
  step: perDimension('the step per dimension'),
  bounds: z.record(identifier('a dimension name'), z.tuple([z.number(), z.number()], { error: expected('[min, max]') }), {
    error: expected('a mapping of dimension names to [min, max]'),
  }),
  neighbours: z
    .union([z.literal('axis'), z.literal('diagonal'), z.strictObject({ axis: z.number().int().min(1) })], {
      error: expected('axis, diagonal or { axis: k }'),
    })
    .optional(),
  neighbours_if: condition("a condition on a point's results"),
  budget: z.number({ error: expected('a number of points') }).int().min(1).optional(),
  tasks: entryList('tasks or loops').min(1, 'expected a non-empty list of tasks'),
  after: afterList,
});

export const CONTROL_KEYS = ['if', 'while', 'explore'] as const;

/** The job document with its task list and types unchecked (see LoopEntrySchema, TaskTypeSchema). */
export const JobSchema = z.strictObject(
  {
    name: nonEmpty('a job name (a string)').optional(),
    workdir: nonEmpty('a relative directory path for the products').optional(),
    description: text('a description (a string)').optional(),
    constants: ConstantsSchema.optional(),
    types: namedMap('a mapping of task type names to their definitions').optional(),
    inputs: z
      .record(z.string(), nonEmpty('a local file path'), {
        error: expected('a mapping of product paths to local files, e.g. { "data/stars.csv": ../stars.csv }'),
      })
      .optional(),
    report: nonEmpty('a product path').optional(),
    tasks: z.array(z.unknown(), { error: expected('a list of tasks') }).min(1, 'expected a non-empty list of tasks'),
  },
  { error: expected('a mapping with at least tasks:') },
);

/** The full recursive job shape, for editors (json-schema.ts). */
export function editorJobSchema() {
  const entry: z.ZodType = z.lazy(() => z.union([TaskEntrySchema, loop]));
  const loop = z.strictObject({ ...loopShape, tasks: z.array(entry).min(1) }).describe('A loop: one of values, linear_range, log_range');
  return JobSchema.extend({ types: TypesSchema.optional(), tasks: z.array(entry).min(1) });
}
