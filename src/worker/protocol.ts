/**
 * The task protocol (DESIGN.md), worker side: what a science code finds when it
 * starts — scratch directory, staged inputs, ORRERY_TASK, ORRERY_* variables,
 * substituted placeholders — and what Orrery takes back: outputs and ORRERY_RESULT.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { JsonObject, JsonValue } from '../core/types.js';
import type { FileRepository } from '../files/repository.js';
import type { ClaimedTask } from '../store/store.js';

/** Where the protocol's own files live inside the scratch directory. */
const PROTOCOL_DIR = '.orrery';

export class TaskProtocolError extends Error {
  override name = 'TaskProtocolError';
}

export interface PreparedTask {
  command: string;
  qc: string | null;
  env: Record<string, string>;
  resultFile: string;
  spawnFile: string;
}

export async function prepareScratch(
  claim: ClaimedTask,
  attemptNumber: number,
  scratch: string,
  files: FileRepository,
): Promise<PreparedTask> {
  await fs.mkdir(path.join(scratch, PROTOCOL_DIR), { recursive: true });
  for (const input of Object.values(claim.inputs)) await files.stage(input.sha256, path.join(scratch, input.path));
  for (const output of Object.values(claim.task.outputs)) await fs.mkdir(path.dirname(path.join(scratch, output)), { recursive: true });

  const taskFile = path.join(scratch, PROTOCOL_DIR, 'task.json');
  const resultFile = path.join(scratch, PROTOCOL_DIR, 'result.json');
  const spawnFile = path.join(scratch, PROTOCOL_DIR, 'spawn.jsonl');
  const inputs = Object.fromEntries(Object.entries(claim.inputs).map(([name, input]) => [name, input.path]));
  const description = {
    job: claim.job.name,
    job_id: claim.job.id,
    task: claim.task.name,
    task_id: claim.task.id,
    attempt: attemptNumber,
    params: claim.task.params,
    inputs,
    outputs: claim.task.outputs,
    results_of: claim.resultsOf,
  };
  await fs.writeFile(taskFile, JSON.stringify(description, null, 2));

  const env: Record<string, string> = {
    ...stringEnv(process.env),
    ...claim.type.env,
    ORRERY_TASK: taskFile,
    ORRERY_RESULT: resultFile,
    ORRERY_SPAWN: spawnFile,
    ORRERY_JOB: claim.job.name,
    ORRERY_JOB_ID: String(claim.job.id),
    ORRERY_TASK_NAME: claim.task.name,
    ORRERY_TASK_ID: String(claim.task.id),
    ORRERY_ATTEMPT: String(attemptNumber),
    ORRERY_SCRATCH: scratch,
  };
  for (const [name, value] of Object.entries(claim.task.params)) env[`ORRERY_PARAM_${envName(name)}`] = asText(value);
  for (const [name, value] of Object.entries(inputs)) env[`ORRERY_INPUT_${envName(name)}`] = value;
  for (const [name, value] of Object.entries(claim.task.outputs)) env[`ORRERY_OUTPUT_${envName(name)}`] = value;

  const values = { params: claim.task.params, inputs, outputs: claim.task.outputs };
  return {
    command: substitute(claim.type.command, values, `command of task type ${claim.type.name}`),
    qc: claim.type.qc === null ? null : substitute(claim.type.qc, values, `qc of task type ${claim.type.name}`),
    env,
    resultFile,
    spawnFile,
  };
}

/** Replaces {params.x}, {inputs.x} and {outputs.x} with shell-quoted values. */
export function substitute(command: string, values: Record<'params' | 'inputs' | 'outputs', JsonObject | Record<string, string>>, what: string): string {
  return command.replace(/\{(params|inputs|outputs)\.([A-Za-z0-9_.-]+)\}/g, (whole, group: 'params' | 'inputs' | 'outputs', key: string) => {
    let value: JsonValue | undefined = values[group] as JsonObject;
    for (const part of key.split('.')) value = value && typeof value === 'object' && !Array.isArray(value) ? value[part] : undefined;
    if (value === undefined) {
      const known = Object.keys(values[group]);
      throw new TaskProtocolError(`${what} uses ${whole}, but the task has no ${group} "${key}" (it has: ${known.join(', ') || 'none'})`);
    }
    return shellQuote(asText(value));
  });
}

/** Checks the declared outputs exist and reads ORRERY_RESULT. */
export async function collectOutputs(claim: ClaimedTask, scratch: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const [name, product] of Object.entries(claim.task.outputs)) {
    const file = path.join(scratch, product);
    const stat = await fs.stat(file).catch(() => null);
    if (!stat || !stat.isFile()) missing.push(`${name} (${product})`);
    else found[product] = file;
  }
  if (missing.length > 0) {
    throw new TaskProtocolError(`the command exited 0 but did not write its declared output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  return found;
}

export async function readResult(resultFile: string): Promise<JsonObject | null> {
  let text: string;
  try {
    text = await fs.readFile(resultFile, 'utf8');
  } catch {
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TaskProtocolError(`ORRERY_RESULT is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TaskProtocolError('ORRERY_RESULT must hold a JSON object, e.g. {"snr": 7.2}');
  }
  return value as JsonObject;
}

export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function asText(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function envName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}
