/** `orrery validate JOB`: plan the job without touching the task database. */
import { InvalidInputError } from '../../core/errors.js';
import { loadJob } from '../../spec/load.js';
import { printJson } from '../context.js';

export interface ValidateOptions {
  config?: string;
  input: string[];
  maxTasks?: string;
  json?: boolean;
}

export function validateCommand(jobFile: string, options: ValidateOptions): number {
  const plan = loadJob({
    jobFile,
    configFile: options.config ?? null,
    externalInputs: parseInputFlags(options.input),
    maxTasks: options.maxTasks ? Number(options.maxTasks) : undefined,
  });
  const summary = {
    file: jobFile,
    valid: true,
    job: plan.name,
    workdir: plan.workdir,
    tasks: plan.tasks.length,
    edges: plan.edges.length,
    types: Object.keys(plan.types),
    external_inputs: Object.keys(plan.externalInputs).length,
  };
  if (options.json) printJson(summary);
  else {
    process.stdout.write(
      `${jobFile}: valid — job ${plan.name}, ${plan.tasks.length} task(s), ${plan.edges.length} dependenc${plan.edges.length === 1 ? 'y' : 'ies'}, types: ${summary.types.join(', ')}\n`,
    );
  }
  return 0;
}

/** `--input PRODUCT=FILE` flags as a map. */
export function parseInputFlags(flags: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0 || eq === flag.length - 1) {
      throw new InvalidInputError('', '--input', `expected PRODUCT=FILE (e.g. --input raw/star.csv=data/star.csv), got ${JSON.stringify(flag)}`);
    }
    out[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return out;
}
