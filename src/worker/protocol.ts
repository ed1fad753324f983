/**
 * The task protocol (DESIGN.md), worker side: what a science code finds when it
 * starts — scratch directory, staged inputs, ORRERY_TASK, ORRERY_* variables,
 * substituted placeholders — and what Orrery takes back: outputs and ORRERY_RESULT.
 *
 * The protocol's own files are a few hundred bytes in a local directory: they are made,
 * read and removed with synchronous calls, a few microseconds each, where each
 * asynchronous call would cost a round trip through the thread pool — per task, that was
 * most of the worker's time on short tasks.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JsonObject, JsonValue } from '../core/types.js';
import type { FileRepository } from '../files/repository.js';
import type { ClaimedTask } from '../store/store.js';
import type { ScratchDirectories } from './scratch-dirs.js';

/**
 * The protocol's own files sit in the scratch directory itself, hidden by a dot: a
 * subdirectory for them would cost a mkdir and an rmdir per task, which on some disks
 * take longer than a short command runs.
 */
export const TASK_FILE = '.orrery-task.json';
const RESULT_FILE = '.orrery-result.json';
const SPAWN_FILE = '.orrery-spawn.jsonl';

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
  dirs: ScratchDirectories,
): Promise<PreparedTask> {
  const products = [...Object.values(claim.inputs).map((input) => input.path), ...Object.values(claim.task.outputs)];
  dirs.make(scratch, products.flatMap((product) => directoriesOf(scratch, product)));
  for (const input of Object.values(claim.inputs)) await files.stage(input.sha256, path.join(scratch, input.path));

  const taskFile = path.join(scratch, TASK_FILE);
  const resultFile = path.join(scratch, RESULT_FILE);
  const spawnFile = path.join(scratch, SPAWN_FILE);
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
  writeTaskFile(taskFile, JSON.stringify(description, null, 2));

  // set on top of the worker's own environment, which the command inherits (RunSpec.env)
  const env: Record<string, string> = {
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

/**
 * Writes the task file, over the one a recycled scratch directory kept (scratch-dirs.ts).
 * In place, then cut to length: truncating to zero first would free the file's block and
 * allocate it again, which costs ten times more on some disks (ext4 without a journal,
 * mounted with `discard`: about 140 µs against 15). A kept file an earlier task made
 * read-only is replaced.
 */
export function writeTaskFile(file: string, text: string): void {
  const bytes = Buffer.from(text);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EACCES' || code === 'EPERM') fs.rmSync(file, { force: true });
    else if (code !== 'ENOENT') throw error;
    fs.writeFileSync(file, bytes);
    return;
  }
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, 0);
    fs.ftruncateSync(fd, bytes.length);
  } finally {
    fs.closeSync(fd);
  }
}

/** The directories inside the scratch directory that a product's path goes through. */
function directoriesOf(scratch: string, product: string): string[] {
  const out: string[] = [];
  for (let dir = path.dirname(product); dir !== '.' && dir !== '/'; dir = path.dirname(dir)) out.push(path.join(scratch, dir));
  return out;
}

/** Checks the declared outputs exist (as files, or links to files). */
export function collectOutputs(claim: ClaimedTask, scratch: string): Record<string, string> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const [name, product] of Object.entries(claim.task.outputs)) {
    const file = path.join(scratch, product);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!stat || !stat.isFile()) missing.push(`${name} (${product})`);
    else found[product] = file;
  }
  if (missing.length > 0) {
    throw new TaskProtocolError(`the command exited 0 but did not write its declared output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  }
  return found;
}

/** The text of a protocol file the code may have written, or null when it did not. */
export function readIfWritten(file: string): string | null {
  // most codes write neither ORRERY_RESULT nor ORRERY_SPAWN: ask first, since a failed
  // open costs an exception
  if (!fs.existsSync(file)) return null;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Reads ORRERY_RESULT: a JSON object, or null when the code wrote none. */
export function readResult(resultFile: string): JsonObject | null {
  const text = readIfWritten(resultFile);
  if (text === null) return null;
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
