import { describe, expect, it } from 'vitest';
import { InvalidDocumentError, InvalidInputError } from '../../src/core/errors.js';
import { parseDocument } from '../../src/spec/parse.js';
import { expectProblem, plan, problemsOf } from './helpers.js';

describe('document syntax', () => {
  it('reports a YAML syntax error with its line and column', () => {
    const error = problemsOf(() => parseDocument('job.yaml', 'tasks:\n  - task: a\n    params: { x: [1, 2 }\n'))[0];
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.file).toBe('job.yaml');
    expect(error.where).toMatch(/^line 3, column \d+$/);
    expect(error.message).toMatch(/^job\.yaml:line 3, column \d+: invalid YAML\/JSON: /);
  });

  it('reports a JSON syntax error the same way', () => {
    const error = problemsOf(() => parseDocument('job.json', '{\n  "tasks": [\n    {"task": "a",}\n  ]\n'))[0];
    expect(error.file).toBe('job.json');
    expect(error.where).toMatch(/^line \d+, column \d+$/);
  });

  it('accepts JSON job documents', () => {
    const job = plan('{"tasks": [{"task": "report", "params": {"n": "${1 + 1}"}}]}');
    expect(job.tasks[0].params).toEqual({ n: 2 });
  });

  it('reports a duplicate key', () => {
    const error = problemsOf(() => parseDocument('job.yaml', 'tasks: []\ntasks: []\n'))[0];
    expect(error.message).toContain('unique');
    expect(error.where).toBe('line 2, column 1');
  });

  it('reports a document that is not a mapping', () => {
    expectProblem(() => plan('- task: report'), { path: '', includes: ['expected a mapping with at least tasks:, got a list'] });
  });
});

describe('unknown keys', () => {
  it('reports an unknown task key with a did-you-mean and the allowed keys, at the key', () => {
    expectProblem(() => plan('tasks:\n  - task: report\n    ouputs: { a: b }\n'), {
      path: 'tasks[0].ouputs',
      includes: ['unknown key "ouputs"', 'did you mean "outputs"?', 'expected one of: task, name, params, inputs, outputs, after'],
      where: 'line 3, column 5',
    });
  });

  it('reports an unknown top-level key', () => {
    expectProblem(() => plan('decription: x\ntasks: [ { task: report } ]'), {
      path: 'decription',
      includes: ['did you mean "description"?', 'expected one of: name, workdir, description, constants, types, inputs, report, tasks'],
    });
  });

  it('reports an unknown loop key', () => {
    expectProblem(() => plan('tasks:\n  - for: i\n    value: [1]\n    tasks: [ { task: report } ]\n'), {
      path: 'tasks[0].value',
      includes: ['unknown key "value"', 'did you mean "values"?', 'expected one of: for, values, linear_range, log_range, tasks'],
    });
  });

  it('reports an unknown key of an if block with a suggestion', () => {
    expectProblem(() => plan('tasks:\n  - { task: report, name: r }\n  - if: "${tasks.r.result.ok}"\n    thn: [ { task: report } ]\n'), {
      path: 'tasks[1].thn',
      includes: ['"thn"', 'did you mean "then"?'],
    });
  });

  it('refuses a condition reading a task that does not exist', () => {
    expectProblem(() => plan('tasks:\n  - if: "${tasks.nope.result.ok}"\n    then: [ { task: report } ]\n'), {
      path: 'tasks[0].if',
      includes: ['the condition reads tasks.nope, but no task is named "nope"'],
    });
  });

  it('reports an unknown key in a task type of orrery.yaml', () => {
    expectProblem(() => plan('tasks: [ { task: a } ]', { config: 'types:\n  a: { command: x, retires: 2 }\n' }), {
      file: 'orrery.yaml',
      path: 'types.a.retires',
      includes: ['did you mean "retries"?', 'expected one of: command'],
      where: 'line 2, column 20',
    });
  });

  it('reports an unknown key at the top of orrery.yaml', () => {
    expectProblem(() => plan('tasks: [ { task: a } ]', { config: 'type:\n  a: { command: x }\n' }), {
      file: 'orrery.yaml',
      path: 'type',
      includes: ['did you mean "types"?', 'expected one of: types, pools, constants'],
    });
  });
});

describe('tasks and loops', () => {
  it('reports an unknown task type with a did-you-mean and the declared types', () => {
    expectProblem(() => plan('tasks: [ { task: synthesise } ]'), {
      path: 'tasks[0].task',
      includes: ['unknown task type "synthesise"', 'did you mean "synthesize"?', 'declared types: report, synthesize, transit_search'],
    });
  });

  it('reports an unknown type chosen by an expression once, naming the iteration', () => {
    expectProblem(() => plan('tasks:\n  - for: t\n    values: [report, nope, nope]\n    tasks: [ { task: "${t}" } ]\n'), {
      path: 'tasks[0].tasks[0].task',
      includes: ['unknown task type "nope"', 't=nope, t_index=1'],
    });
  });

  it('says where types come from when there are none', () => {
    expectProblem(() => plan('tasks: [ { task: a } ]', { config: null }), {
      path: 'tasks[0].task',
      includes: ['no orrery.yaml was found', 'declare it under types:'],
    });
  });

  it('reports a missing task: key', () => {
    expectProblem(() => plan('tasks: [ { name: x } ]'), { path: 'tasks[0].task', includes: ['is required: expected the task type name'] });
  });

  it('reports a wrongly typed field with what is expected', () => {
    expectProblem(() => plan('tasks: [ { task: report, after: prepare } ]'), {
      path: 'tasks[0].after',
      includes: ['expected a list of task names', 'got the string "prepare"'],
    });
  });

  it('reports two explicit names that collide, naming both fields', () => {
    expectProblem(() => plan('tasks:\n  - { task: report, name: r }\n  - { task: synthesize, name: r }\n'), {
      path: 'tasks[1].name',
      includes: ['task name "r" is already used by tasks[0].name', 'expected unique task names'],
    });
  });

  it('reports a templated name that repeats across iterations', () => {
    expectProblem(() => plan('tasks:\n  - for: i\n    values: [1, 1]\n    tasks: [ { task: report, name: "r${i}" } ]\n'), {
      path: 'tasks[0].tasks[0].name',
      includes: ['task name "r1" is given to several iterations'],
    });
  });

  it('reports a task name with characters reserved for patterns and numbering', () => {
    expectProblem(() => plan('tasks: [ { task: report, name: "a*b" } ]'), { path: 'tasks[0].name', includes: ['expected a task name without spaces'] });
  });

  it('reports a loop without values, or with two kinds of values', () => {
    expectProblem(() => plan('tasks:\n  - for: i\n    tasks: [ { task: report } ]\n'), {
      path: 'tasks[0]',
      includes: ['expected exactly one of values, linear_range, log_range'],
    });
    expectProblem(() => plan('tasks:\n  - for: i\n    values: [1]\n    log_range: [1, 2, 3]\n    tasks: [ { task: report } ]\n'), {
      path: 'tasks[0].log_range',
      includes: ['exactly one of', 'got values and log_range'],
    });
  });

  it('reports a range whose n is not a positive whole number', () => {
    expectProblem(() => plan('tasks:\n  - for: i\n    linear_range: [0, 1, 2.5]\n    tasks: [ { task: report } ]\n'), {
      path: 'tasks[0].linear_range[2]',
      includes: ['expected n, the number of values, to be a positive whole number, got the number 2.5'],
      where: 'line 3, column 26',
    });
  });

  it('reports a range that is not [start, end, n]', () => {
    expectProblem(() => plan('tasks:\n  - for: i\n    linear_range: [0, 1]\n    tasks: [ { task: report } ]\n'), {
      path: 'tasks[0].linear_range',
      includes: ['expected [start, end, n] (three items)'],
    });
  });

  it('reports a log_range through zero', () => {
    expectProblem(() => plan('tasks:\n  - for: i\n    log_range: [0, 10, 3]\n    tasks: [ { task: report } ]\n'), {
      path: 'tasks[0].log_range[0]',
      includes: ['log_range needs start > 0'],
    });
  });

  it('reports a loop variable that shadows an outer one or is a reserved word', () => {
    expectProblem(
      () => plan('tasks:\n  - for: i\n    values: [1]\n    tasks:\n      - for: i\n        values: [2]\n        tasks: [ { task: report } ]\n'),
      { path: 'tasks[0].tasks[0].for', includes: ['already used by an enclosing loop'] },
    );
    expectProblem(() => plan('tasks:\n  - for: sin\n    values: [1]\n    tasks: [ { task: report } ]\n'), {
      path: 'tasks[0].for',
      includes: ['reserved word'],
    });
  });

  it('reports an entry that is not a mapping', () => {
    expectProblem(() => plan('tasks: [ report ]'), { path: 'tasks[0]', includes: ['expected a task (a mapping with task:)', 'got the string "report"'] });
  });
});

describe('product paths', () => {
  const withOutput = (path: string) => `tasks: [ { task: report, outputs: { t: ${JSON.stringify(path)} } } ]`;

  it('refuses an absolute path', () => {
    expectProblem(() => plan(withOutput('/etc/passwd')), {
      path: 'tasks[0].outputs.t',
      includes: ['expected a product path relative to the job\'s workdir', 'is absolute'],
    });
  });

  it('refuses a path escaping the workdir with ..', () => {
    expectProblem(() => plan(withOutput('a/../../b')), { path: 'tasks[0].outputs.t', includes: ['escapes the workdir with ..'] });
  });

  it('refuses backslashes and empty paths', () => {
    expectProblem(() => plan(withOutput('a\\b')), { path: 'tasks[0].outputs.t', includes: ['backslash'] });
    expectProblem(() => plan(withOutput('./')), { path: 'tasks[0].outputs.t', includes: ['names the workdir itself'] });
    expectProblem(() => plan(withOutput('')), { path: 'tasks[0].outputs.t', includes: ['expected a product path'] });
  });

  it('refuses a path computed by an expression, naming the iteration', () => {
    expectProblem(() => plan('tasks:\n  - for: d\n    values: [ok, "../..", x]\n    tasks: [ { task: report, outputs: { t: "${d}/t" } } ]\n'), {
      path: 'tasks[0].tasks[0].outputs.t',
      includes: ['escapes the workdir', 'd=../.., d_index=1'],
    });
  });

  it('refuses a workdir that is absolute or uses ..', () => {
    expectProblem(() => plan('workdir: /data\ntasks: [ { task: report } ]'), { path: 'workdir', includes: ['expected a relative directory path'] });
    expectProblem(() => plan('workdir: a/../b\ntasks: [ { task: report } ]'), { path: 'workdir', includes: ['without ..'] });
  });

  it('refuses a bad product path in --input, naming the flag', () => {
    const problem = expectProblem(() => plan('tasks: [ { task: report } ]', { externalInputs: { '/abs': 'x' } }), {
      file: '',
      path: '--input /abs=x',
      includes: ['is absolute'],
    });
    expect(problem.message).toMatch(/^input: --input/);
  });
});

describe('expansion cap', () => {
  it('fails before expanding, naming the loop, the cap and --max-tasks', () => {
    const started = Date.now();
    expectProblem(
      () =>
        plan(
          'tasks:\n  - for: a\n    linear_range: [0, 1, 100000]\n    tasks:\n      - for: b\n        linear_range: [0, 1, 100000]\n        tasks: [ { task: report } ]\n',
        ),
      { path: 'tasks[0]', includes: ['10000000000 tasks', 'more than the limit of 100000 tasks', '--max-tasks'] },
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('honours a raised or lowered cap', () => {
    const job = 'tasks:\n  - for: a\n    linear_range: [0, 1, 10]\n    tasks: [ { task: report }, { task: synthesize } ]\n';
    expectProblem(() => plan(job, { maxTasks: 15 }), { path: 'tasks[0]', includes: ['20 tasks', 'limit of 15 tasks'] });
    expect(plan(job, { maxTasks: 20 }).tasks).toHaveLength(20);
  });

  it('counts loops whose size depends on an outer variable', () => {
    const job = 'tasks:\n  - for: n\n    values: [3, 4]\n    tasks:\n      - for: k\n        linear_range: [0, 1, "${n}"]\n        tasks: [ { task: report } ]\n';
    expectProblem(() => plan(job, { maxTasks: 6 }), { path: 'tasks[0]', includes: ['7 tasks'] });
    expect(plan(job, { maxTasks: 7 }).tasks).toHaveLength(7);
  });
});

describe('collecting problems', () => {
  it('reports every problem of a document in one InvalidDocumentError', () => {
    let caught: unknown;
    try {
      plan(`
tasks:
  - { task: synthesise }
  - { task: report, ouputs: {} }
  - { task: report, params: { v: "\${nope}" } }
`);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidDocumentError);
    const paths = (caught as InvalidDocumentError).problems.map((p) => p.path);
    expect(paths).toEqual(['tasks[0].task', 'tasks[1].ouputs', 'tasks[2].params.v']);
    expect((caught as Error).message.split('\n')).toHaveLength(3);
  });
});

describe('options', () => {
  it('refuses a cap that is not a positive whole number, naming the flag', () => {
    expectProblem(() => plan('tasks: [ { task: report } ]', { maxTasks: Number('lots') }), {
      file: '',
      path: '--max-tasks',
      includes: ['expected a positive whole number of tasks, got NaN'],
    });
  });
});
