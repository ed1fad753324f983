import { describe, expect, it } from 'vitest';
import { edgeNames, expectProblem, plan } from './helpers.js';

describe('DAG inference', () => {
  it('makes a reader depend on the writer of each product it reads', () => {
    const job = plan(`
tasks:
  - for: nsr
    values: [1, 2]
    tasks:
      - task: synthesize
        outputs: { lightcurve: "evs_\${nsr_index}.lc" }
      - task: transit_search
        name: search
        inputs: { lightcurve: "./evs_\${nsr_index}.lc" }
        outputs: { result: "evs_\${nsr_index}.json" }
  - task: report
    inputs: { a: evs_0.json, b: evs_1.json }
`);
    expect(edgeNames(job)).toEqual(['search_0>report', 'search_1>report', 'synthesize_0>search_0', 'synthesize_1>search_1']);
    expect(job.tasks[1].inputs).toEqual({ lightcurve: 'evs_0.lc' });
  });

  it('adds after: edges, resolving a name in the same iteration first', () => {
    const job = plan(`
tasks:
  - { task: synthesize, name: prepare }
  - for: i
    values: [a, b]
    tasks:
      - { task: synthesize, name: make }
      - { task: transit_search, after: [make, prepare] }
`);
    expect(edgeNames(job)).toEqual([
      'make_0>transit_search_0',
      'make_1>transit_search_1',
      'prepare>transit_search_0',
      'prepare>transit_search_1',
    ]);
    expect(job.tasks[2].after).toEqual(['make_0', 'prepare']);
  });

  it('resolves a name of an enclosing iteration from inside a nested loop', () => {
    const job = plan(`
tasks:
  - for: a
    values: [1, 2]
    tasks:
      - { task: synthesize, name: setup }
      - for: b
        values: [1, 2]
        tasks: [ { task: transit_search, name: run, after: [setup] } ]
`);
    expect(edgeNames(job)).toEqual(['setup_0>run_0_0', 'setup_0>run_0_1', 'setup_1>run_1_0', 'setup_1>run_1_1']);
  });

  it('falls back to job-wide names, including suffixed names', () => {
    const job = plan(`
tasks:
  - for: i
    values: [a, b]
    tasks: [ { task: synthesize, name: make } ]
  - { task: report, after: [make_1] }
`);
    expect(edgeNames(job)).toEqual(['make_1>report']);
  });

  it('matches glob patterns against every task name of the job', () => {
    const job = plan(`
tasks:
  - for: i
    values: [a, b, c]
    tasks: [ { task: synthesize, name: check } ]
  - { task: transit_search, name: checker }
  - { task: report, after: ["check_*"] }
`);
    expect(edgeNames(job)).toEqual(['check_0>report', 'check_1>report', 'check_2>report']);
    expect(job.tasks[4].after).toEqual(['check_0', 'check_1', 'check_2']);
  });

  it('deduplicates an edge created by both a product and after:', () => {
    const job = plan(`
tasks:
  - { task: synthesize, outputs: { lc: a.lc } }
  - { task: report, inputs: { lc: a.lc }, after: [synthesize, "synth*"] }
`);
    expect(job.edges).toEqual([[0, 1]]);
  });

  it('lets external inputs be read without a writer', () => {
    const job = plan(
      `
inputs: { "data/stars.csv": ../stars.csv }
tasks:
  - { task: synthesize, inputs: { stars: data/stars.csv, extra: extra.csv } }
`,
      { externalInputs: { './extra.csv': '/tmp/extra.csv' } },
    );
    expect(job.edges).toEqual([]);
    expect(job.externalInputs).toEqual({ 'data/stars.csv': '../stars.csv', 'extra.csv': '/tmp/extra.csv' });
  });

  it('lets --input override the job inputs: for the same product', () => {
    const job = plan('inputs: { a.csv: job.csv }\ntasks: [ { task: report, inputs: { a: a.csv } } ]', {
      externalInputs: { 'a.csv': '/abs/cli.csv' },
    });
    expect(job.externalInputs).toEqual({ 'a.csv': '/abs/cli.csv' });
  });
});

describe('DAG errors', () => {
  it('reports a product read but written by no task, with a did-you-mean', () => {
    expectProblem(
      () =>
        plan(`
tasks:
  - { task: synthesize, outputs: { lc: evs_0.lc } }
  - { task: transit_search, inputs: { lc: evs_O.lc } }
`),
      {
        path: 'tasks[1].inputs.lc',
        includes: ['no task writes product "evs_O.lc"', 'did you mean "evs_0.lc"?', 'expected the output path of another task'],
        where: 'line 4, column 43',
      },
    );
  });

  it('reports two writers of one product, naming both tasks and fields', () => {
    expectProblem(
      () =>
        plan(`
tasks:
  - { task: synthesize, name: a, outputs: { lc: out.lc } }
  - { task: synthesize, name: b, outputs: { curve: ./out.lc } }
`),
      {
        path: 'tasks[1].outputs.curve',
        includes: ['product "out.lc" is written by two tasks', 'a (tasks[0].outputs.lc)', 'b (tasks[1].outputs.curve)', 'expected one writer per product'],
      },
    );
  });

  it('reports once, with a hint, when every iteration writes the same product', () => {
    expectProblem(
      () =>
        plan(`
tasks:
  - for: i
    values: [1, 2, 3]
    tasks: [ { task: synthesize, outputs: { lc: same.lc } } ]
`),
      { path: 'tasks[0].tasks[0].outputs.lc', includes: ['synthesize_0', 'synthesize_1', 'loop variable'] },
    );
  });

  it('reports a task reading what it writes as a cycle', () => {
    expectProblem(() => plan('tasks: [ { task: synthesize, inputs: { a: x.lc }, outputs: { b: x.lc } } ]'), {
      path: 'tasks[0].inputs.a',
      includes: ['cycle: synthesize -> synthesize', 'writes itself'],
    });
  });

  it('prints a cycle as a -> b -> c -> a with the field creating each edge', () => {
    const problem = expectProblem(
      () =>
        plan(`
tasks:
  - { task: synthesize, name: a, inputs: { x: c.out }, outputs: { y: a.out } }
  - { task: synthesize, name: b, inputs: { x: a.out }, outputs: { y: b.out } }
  - { task: synthesize, name: c, after: [b], outputs: { y: c.out } }
`),
      { path: 'tasks[1].inputs.x', includes: ['cycle: a -> b -> c -> a', 'expected tasks without circular dependencies'] },
    );
    expect(problem.message).toContain('a -> b: tasks[1].inputs.x reads "a.out", written by a');
    expect(problem.message).toContain('b -> c: tasks[2].after[0] = "b"');
    expect(problem.message).toContain('c -> a: tasks[0].inputs.x reads "c.out", written by c');
  });

  it('reports an after: name that matches no task, with a did-you-mean', () => {
    expectProblem(
      () =>
        plan(`
tasks:
  - { task: synthesize, name: prepare }
  - { task: report, after: [prepar] }
`),
      { path: 'tasks[1].after[0]', includes: ['no task is named "prepar"', 'did you mean "prepare"?', 'expected the name of a task'] },
    );
  });

  it('reports a glob that matches nothing', () => {
    expectProblem(() => plan('tasks: [ { task: report, after: ["check_*"] } ]'), {
      path: 'tasks[0].after[0]',
      includes: ['no task name matches the pattern "check_*"'],
    });
  });

  it('reports a product that is both an external input and an output', () => {
    expectProblem(() => plan('inputs: { a.csv: a.csv }\ntasks: [ { task: report, outputs: { t: a.csv } } ]'), {
      path: 'tasks[0].outputs.t',
      includes: ['"a.csv" is an external input'],
    });
  });

  it('reports a report: product nobody writes', () => {
    expectProblem(() => plan('report: summary.txt\ntasks: [ { task: report, outputs: { t: summary.csv } } ]'), {
      path: 'report',
      includes: ['no task writes "summary.txt"', 'did you mean "summary.csv"?'],
    });
  });
});

describe('after: hints', () => {
  it('suggests a glob when the name belongs to a loop body', () => {
    expectProblem(
      () =>
        plan(`
tasks:
  - for: i
    values: [1, 2]
    tasks: [ { task: synthesize, name: search } ]
  - { task: report, after: [search] }
`),
      { path: 'tasks[1].after[0]', includes: ['no task is named "search"', 'write "search_*"'] },
    );
  });
});
