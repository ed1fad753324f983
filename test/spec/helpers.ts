import { expect } from 'vitest';
import { InvalidDocumentError, InvalidInputError } from '../../src/core/errors.js';
import type { PlannedJob } from '../../src/core/types.js';
import { parseDocument } from '../../src/spec/parse.js';
import { planJob } from '../../src/spec/plan.js';

export const CONFIG = `
pools:
  science: { image: registry.example/science:1.4, cpu: 1, memory: 2Gi, max_workers: 50 }
types:
  synthesize: { pool: science, command: node synth.mjs, timeout: 10m, retries: 2 }
  transit_search: { command: node bls.mjs, resources: { cpu: 2, memory: 4Gi } }
  report: { command: node report.mjs }
constants: { R_earth: 1.0, days: 730 }
`;

export interface PlanOptions {
  config?: string | null;
  externalInputs?: Record<string, string>;
  maxTasks?: number;
}

/** Plans a job written inline, with the test orrery.yaml unless told otherwise. */
export function plan(job: string, opts: PlanOptions = {}): PlannedJob {
  const config = opts.config === undefined ? CONFIG : opts.config;
  return planJob({
    job: parseDocument('job.yaml', job),
    config: config === null ? null : parseDocument('orrery.yaml', config),
    externalInputs: opts.externalInputs,
    maxTasks: opts.maxTasks,
  });
}

/** The problems a failing call reports (one InvalidInputError or several). */
export function problemsOf(fn: () => unknown): InvalidInputError[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidDocumentError) return error.problems;
    if (error instanceof InvalidInputError) return [error];
    throw error;
  }
  throw new Error('expected the call to fail with invalid input, but it succeeded');
}

/** Asserts that exactly one problem is reported, at this file and field, with these words. */
export function expectProblem(
  fn: () => unknown,
  want: { file?: string; path: string; includes: Array<string | RegExp>; where?: string },
): InvalidInputError {
  const problems = problemsOf(fn);
  const found = problems.find((p) => p.path === want.path);
  expect(found, `no problem at ${want.path}; got:\n${problems.map((p) => p.message).join('\n')}`).toBeDefined();
  const problem = found as InvalidInputError;
  expect(problem.file).toBe(want.file ?? 'job.yaml');
  for (const part of want.includes) {
    if (typeof part === 'string') expect(problem.message).toContain(part);
    else expect(problem.message).toMatch(part);
  }
  if (want.where !== undefined) expect(problem.where).toBe(want.where);
  return problem;
}

export const names = (job: PlannedJob): string[] => job.tasks.map((t) => t.name);

/** Edges as "upstream>downstream" names, sorted, for readable assertions. */
export const edgeNames = (job: PlannedJob): string[] =>
  job.edges.map(([u, d]) => `${job.tasks[u].name}>${job.tasks[d].name}`).sort();
