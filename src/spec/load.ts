import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { InvalidDocumentError, InvalidInputError } from '../core/errors.js';
import type { PlannedJob } from '../core/types.js';
import { formatPath } from './field-path.js';
import { locate, parseDocument, type ParsedDocument } from './parse.js';
import { planJob } from './plan.js';
import { normalizeProductPath } from './product-paths.js';

export interface LoadJobOptions {
  /** Path to the YAML or JSON job document. */
  jobFile: string;
  /** An explicit orrery.yaml; by default (undefined or null) the nearest orrery.yaml in the job file's directory or its parents. */
  configFile?: string | null;
  /** From `--input productPath=localFile`; local files relative to the current directory. */
  externalInputs?: Record<string, string>;
  /** Expansion cap, default 100,000 tasks. */
  maxTasks?: number;
}

export const CONFIG_FILE_NAME = 'orrery.yaml';

/**
 * Reads a job document and its orrery.yaml and plans the job. The only part of spec/ doing
 * I/O: it finds the config, resolves external input files to absolute paths (checking that
 * they exist) and makes relative script paths in commands absolute.
 */
export function loadJob(opts: LoadJobOptions): PlannedJob {
  const job = readDocument(opts.jobFile, 'job file');
  const configFile = opts.configFile ?? findConfig(dirname(resolve(opts.jobFile)));
  const config = configFile ? readDocument(configFile, 'config file (--config)') : null;
  const cwd = process.cwd();
  const cliInputs = Object.fromEntries(
    Object.entries(opts.externalInputs ?? {}).map(([product, file]) => [product, resolve(cwd, file)]),
  );
  const planned = planJob({ job, config, externalInputs: cliInputs, maxTasks: opts.maxTasks });

  const jobDir = dirname(resolve(opts.jobFile));
  const problems: InvalidInputError[] = [];
  const fromCli = new Map(
    Object.entries(opts.externalInputs ?? {}).map(([product, file]) => [normalizeProductPath(product), file] as const),
  );
  for (const [product, file] of Object.entries(planned.externalInputs)) {
    const absolute = resolve(jobDir, file);
    planned.externalInputs[product] = absolute;
    if (isFile(absolute)) continue;
    const given = fromCli.get(product);
    if (given !== undefined) {
      problems.push(new InvalidInputError('', `--input ${product}=${given}`, `file ${absolute} does not exist; expected an existing file (paths given on the command line are relative to the current directory)`));
    } else {
      const path = ['inputs', jobInputKey(job, product)];
      problems.push(
        new InvalidInputError(job.file, formatPath(path), `external input file ${absolute} does not exist; expected an existing file, relative to the job file's directory`, locate(job, path)),
      );
    }
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new InvalidDocumentError(problems);

  const configDir = configFile ? dirname(resolve(configFile)) : jobDir;
  const inlineTypes = inlineTypeNames(job);
  for (const type of Object.values(planned.types)) {
    const dir = inlineTypes.has(type.name) ? jobDir : configDir;
    type.command = absolutizeScripts(type.command, dir);
    if (type.qc !== null) type.qc = absolutizeScripts(type.qc, dir);
  }
  return planned;
}

function readDocument(file: string, what: string): ParsedDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? error})`;
    throw new InvalidInputError(file, '', `the ${what} ${reason}; expected a readable YAML or JSON file`);
  }
  return parseDocument(file, text);
}

/** The nearest orrery.yaml in `dir` or its parents, or null. */
export function findConfig(dir: string): string | null {
  for (let current = dir; ; current = dirname(current)) {
    const candidate = join(current, CONFIG_FILE_NAME);
    if (isFile(candidate)) return candidate;
    if (dirname(current) === current) return null;
  }
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

function inlineTypeNames(job: ParsedDocument): Set<string> {
  const types = (job.data as { types?: unknown } | null)?.types;
  return new Set(types && typeof types === 'object' ? Object.keys(types) : []);
}

/** The key under the job's inputs: that normalises to `product` (the user may have written "./x"). */
function jobInputKey(job: ParsedDocument, product: string): string {
  const inputs = (job.data as { inputs?: Record<string, unknown> }).inputs ?? {};
  return Object.keys(inputs).find((key) => normalizeProductPath(key) === product) ?? product;
}

/**
 * Commands run in a scratch directory, so `node scripts/x.mjs` must name the script
 * absolutely. A word is rewritten when it contains a `/`, does not start with / - $ { ~,
 * and names an existing file relative to the directory of the file declaring the type.
 */
export function absolutizeScripts(command: string, dir: string): string {
  return command
    .split(/(\s+)/)
    .map((word) => {
      if (!word.includes('/') || /^[-/${~]/.test(word) || isAbsolute(word)) return word;
      const candidate = resolve(dir, word);
      return isFile(candidate) ? candidate : word;
    })
    .join('');
}
