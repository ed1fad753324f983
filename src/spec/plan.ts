import { basename, extname } from 'node:path';
import type { JsonValue, PlannedJob, TaskType } from '../core/types.js';
import { checkFields } from './check.js';
import { buildEntries } from './entries.js';
import { countTasks, expandEntries, type ExpandEnv } from './expand.js';
import type { FieldPath } from './field-path.js';
import { buildGraph } from './graph.js';
import { assignNames } from './names.js';
import type { ParsedDocument } from './parse.js';
import { FieldError, Problems } from './problems.js';
import { normalizeProductPath, normalizeWorkdir } from './product-paths.js';
import { ConfigSchema, JobSchema } from './schema.js';
import { didYouMean } from './suggest.js';
import { declareTypes, unknownTypeMessage } from './task-types.js';
import { CONTROL_TYPE, controlTaskType } from './control-spec.js';

export const DEFAULT_MAX_TASKS = 100_000;

export interface PlanInput {
  job: ParsedDocument;
  /** orrery.yaml, or null when there is none. */
  config: ParsedDocument | null;
  /** From `--input product=file`; they add to and override the job's `inputs:`. */
  externalInputs?: Record<string, string>;
  /** Expansion cap (default 100,000 tasks). */
  maxTasks?: number;
}

/**
 * Turns a parsed job document (and orrery.yaml) into the PlannedJob the engine submits:
 * loops expanded, expressions evaluated, names made unique, the DAG inferred. Pure: no I/O.
 * Throws InvalidInputError (one problem) or InvalidDocumentError (several).
 */
export function planJob(input: PlanInput): PlannedJob {
  const { job: doc, config: configDoc } = input;
  const problems = new Problems();
  const config = configDoc ? checkFields(ConfigSchema, configDoc.data ?? {}, configDoc, [], problems) : undefined;
  const top = checkFields(JobSchema, doc.data, doc, [], problems);
  if (!top) problems.throwIfAny();
  const job = top ?? {};
  const constants: Record<string, JsonValue> = { ...config?.constants, ...job.constants };
  const { declared, broken } = declareTypes(
    {
      config: configDoc ? { doc: configDoc, types: config?.types, pools: config?.pools } : null,
      job: { doc, types: job.types },
    },
    problems,
  );
  const typeProblem = (type: string): string | null => {
    if (declared.has(type) || type === CONTROL_TYPE) return null;
    return broken.has(type) ? '' : unknownTypeMessage(type, declared, configDoc !== null);
  };
  const checkStaticType = (type: string, path: FieldPath) => {
    const problem = typeProblem(type);
    if (problem) problems.add(doc, path, problem);
  };

  const name = job.name ?? basename(doc.file, extname(doc.file));
  if (/[\\/]/.test(name)) problems.add(doc, ['name'], `expected a job name without / or \\, got ${JSON.stringify(name)}`);
  const workdir = normalizeWorkdir(job.workdir ?? name);
  if (typeof workdir !== 'string') problems.add(doc, job.workdir === undefined ? ['name'] : ['workdir'], workdir.problem);
  const externalInputs = collectExternalInputs(doc, job.inputs ?? {}, input.externalInputs ?? {}, problems);

  const entries = buildEntries(job.tasks ?? [], ['tasks'], new Set(), { doc, problems, constants, checkType: checkStaticType });
  problems.throwIfAny();

  const maxTasks = input.maxTasks ?? DEFAULT_MAX_TASKS;
  if (!Number.isInteger(maxTasks) || maxTasks < 1) {
    problems.add(null, ['--max-tasks'], `expected a positive whole number of tasks, got ${maxTasks}`);
  }
  problems.throwIfAny();
  const env: ExpandEnv = { doc, problems, maxTasks, checkType: typeProblem };
  const scope = { constants };
  try {
    countTasks(entries, scope, env);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    problems.addFieldError(doc, error);
  }
  problems.throwIfAny();
  const expanded = expandEntries(entries, { scope, loop: {}, suffixes: [''] }, env, []);
  problems.throwIfAny();
  const names = assignNames(expanded, doc, problems);
  problems.throwIfAny();

  const external = new Set(Object.keys(externalInputs));
  const graph = buildGraph({ doc, problems, tasks: expanded, names, external });
  let report: string | null = null;
  if (job.report !== undefined) {
    const normal = normalizeProductPath(job.report);
    if (typeof normal !== 'string') problems.add(doc, ['report'], normal.problem);
    else if (!graph.writers.has(normal) && !external.has(normal)) {
      problems.add(doc, ['report'], () => `no task writes "${normal}"${didYouMean(normal, graph.writers.keys())}; expected the output path of a task`);
    } else report = normal;
  }
  problems.throwIfAny();

  // every declared type: control blocks and spawned tasks may use types no static task uses
  const types: Record<string, TaskType> = {};
  for (const [typeName, declaredType] of declared) types[typeName] = { ...declaredType.type, env: { ...declaredType.type.env } };
  if (graph.tasks.some((task) => task.type === CONTROL_TYPE)) types[CONTROL_TYPE] = controlTaskType;
  return { name, workdir: workdir as string, report, types, tasks: graph.tasks, edges: graph.edges, externalInputs };
}

function collectExternalInputs(
  doc: ParsedDocument,
  fromJob: Record<string, string>,
  fromCli: Record<string, string>,
  problems: Problems,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [product, file] of Object.entries(fromJob)) {
    const normal = normalizeProductPath(product);
    if (typeof normal === 'string') out[normal] = file;
    else problems.add(doc, ['inputs', product], normal.problem, { at: 'key' });
  }
  for (const [product, file] of Object.entries(fromCli)) {
    const normal = normalizeProductPath(product);
    if (typeof normal === 'string') out[normal] = file;
    else problems.add(null, [`--input ${product}=${file}`], normal.problem);
  }
  return out;
}
