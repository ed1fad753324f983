import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { absolutizeScripts, loadJob } from '../../src/spec/load.js';
import { expectProblem, problemsOf } from './helpers.js';

let root: string;
const write = (relative: string, text: string): string => {
  const file = join(root, relative);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'orrery-spec-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('loadJob', () => {
  it('finds the nearest orrery.yaml in the job directory or its parents', () => {
    write('orrery.yaml', 'types:\n  a: { command: echo root }\n');
    const jobFile = write('jobs/deep/evs.yaml', 'tasks: [ { task: a } ]\n');
    const job = loadJob({ jobFile });
    expect(job.name).toBe('evs');
    expect(job.types.a.command).toBe('echo root');
  });

  it('uses an explicit config file instead', () => {
    write('orrery.yaml', 'types:\n  a: { command: echo root }\n');
    const configFile = write('other/custom.yaml', 'types:\n  a: { command: echo custom }\n');
    const jobFile = write('evs.yaml', 'tasks: [ { task: a } ]\n');
    expect(loadJob({ jobFile, configFile }).types.a.command).toBe('echo custom');
  });

  it('makes relative script paths in commands absolute, relative to the declaring file', () => {
    write('orrery.yaml', 'types:\n  a: { command: "node scripts/a.mjs --out=x {params.n} scripts/missing.mjs", qc: sh ./scripts/check.sh }\n');
    write('scripts/a.mjs', '');
    write('scripts/check.sh', '');
    write('jobs/tools/b.py', '');
    const jobFile = write('jobs/evs.yaml', 'types:\n  b: { command: python3  tools/b.py -v }\ntasks: [ { task: a }, { task: b } ]\n');
    const job = loadJob({ jobFile });
    expect(job.types.a.command).toBe(`node ${join(root, 'scripts/a.mjs')} --out=x {params.n} scripts/missing.mjs`);
    expect(job.types.a.qc).toBe(`sh ${join(root, 'scripts/check.sh')}`);
    expect(job.types.b.command).toBe(`python3  ${join(root, 'jobs/tools/b.py')} -v`);
  });

  it('resolves external inputs: job inputs relative to the job file, --input relative to the cwd', () => {
    write('orrery.yaml', 'types:\n  a: { command: x }\n');
    write('data/stars.csv', 'x');
    write('jobs/local.csv', 'x');
    const jobFile = write('jobs/evs.yaml', 'inputs: { "in/stars.csv": ../data/stars.csv, "in/local.csv": local.csv }\ntasks: [ { task: a, inputs: { s: in/stars.csv, l: in/local.csv, c: cli.csv } } ]\n');
    write('cwd/cli.csv', 'x');
    const before = process.cwd();
    process.chdir(join(root, 'cwd'));
    try {
      const job = loadJob({ jobFile, externalInputs: { 'cli.csv': 'cli.csv' } });
      expect(job.externalInputs).toEqual({
        'in/stars.csv': join(root, 'data/stars.csv'),
        'in/local.csv': join(root, 'jobs/local.csv'),
        'cli.csv': join(root, 'cwd/cli.csv'),
      });
    } finally {
      process.chdir(before);
    }
  });

  it('reports a missing external input file, naming the file and the field', () => {
    write('orrery.yaml', 'types:\n  a: { command: x }\n');
    const jobFile = write('evs.yaml', 'inputs:\n  ./stars.csv: nowhere/stars.csv\ntasks: [ { task: a, inputs: { s: stars.csv } } ]\n');
    expectProblem(() => loadJob({ jobFile }), {
      file: jobFile,
      path: 'inputs["./stars.csv"]',
      includes: [`external input file ${join(root, 'nowhere/stars.csv')} does not exist`, 'relative to the job file'],
      where: 'line 2, column 16',
    });
  });

  it('reports a missing --input file, naming the flag', () => {
    write('orrery.yaml', 'types:\n  a: { command: x }\n');
    const jobFile = write('evs.yaml', 'tasks: [ { task: a, inputs: { s: s.csv } } ]\n');
    expectProblem(() => loadJob({ jobFile, externalInputs: { 's.csv': join(root, 'no.csv') } }), {
      file: '',
      path: `--input s.csv=${join(root, 'no.csv')}`,
      includes: ['does not exist', 'relative to the current directory'],
    });
  });

  it('reports a YAML syntax error in the job file with its path, line and column', () => {
    const jobFile = write('evs.yaml', 'tasks:\n  - task: a\n    params: { x: [1 }\n');
    const [problem] = problemsOf(() => loadJob({ jobFile }));
    expect(problem.file).toBe(jobFile);
    expect(problem.message).toMatch(/line 3, column \d+: invalid YAML\/JSON/);
  });

  it('reports problems of orrery.yaml under its own file name', () => {
    const configFile = write('orrery.yaml', 'types:\n  a: { comand: x }\n');
    const jobFile = write('evs.yaml', 'tasks: [ { task: a } ]\n');
    const problems = problemsOf(() => loadJob({ jobFile }));
    expect(problems.map((p) => [p.file, p.path])).toEqual([
      [configFile, 'types.a.command'],
      [configFile, 'types.a.comand'],
    ]);
  });

  it('reports a missing job file or config file', () => {
    expectProblem(() => loadJob({ jobFile: join(root, 'none.yaml') }), {
      file: join(root, 'none.yaml'),
      path: '',
      includes: ['the job file does not exist'],
    });
    const jobFile = write('evs.yaml', 'tasks: [ { task: a } ]\n');
    expectProblem(() => loadJob({ jobFile, configFile: join(root, 'nope.yaml') }), {
      file: join(root, 'nope.yaml'),
      path: '',
      includes: ['config file (--config) does not exist'],
    });
  });

  it('plans JSON job files', () => {
    write('orrery.yaml', 'types:\n  a: { command: x }\n');
    const jobFile = write('evs.json', '{ "tasks": [ { "task": "a", "params": { "v": "${73 / 5}" } } ] }');
    expect(loadJob({ jobFile }).tasks[0].params.v).toBe(14.6);
  });
});

describe('absolutizeScripts', () => {
  it('leaves options, variables, placeholders, absolute and missing paths alone', () => {
    write('s/x.sh', '');
    expect(absolutizeScripts('bash s/x.sh -o=s/x.sh $HOME/s/x.sh {inputs.a} ~/s/x.sh /s/x.sh s/y.sh', root)).toBe(
      `bash ${join(root, 's/x.sh')} -o=s/x.sh $HOME/s/x.sh {inputs.a} ~/s/x.sh /s/x.sh s/y.sh`,
    );
  });
});
