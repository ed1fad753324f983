import { describe, expect, it } from 'vitest';
import { expectProblem, plan } from './helpers.js';

const withParams = (params: string, loop = '') =>
  loop
    ? `
tasks:
  - for: x
    values: ${loop}
    tasks:
      - task: synthesize
        params: ${params}
`
    : `
tasks:
  - task: synthesize
    params: ${params}
`;

describe('expressions', () => {
  it('keeps the type of a string that is exactly one ${expr}', () => {
    const job = plan(withParams('{ n: "${x * 2}", s: "${x}", b: "${x > 1}", l: "${[x, 1]}" }', '[1.5]'));
    expect(job.tasks[0].params).toEqual({ n: 3, s: 1.5, b: true, l: [1.5, 1] });
  });

  it('interpolates ${...} inside longer strings', () => {
    const job = plan(withParams('{ label: "nsr=${x}, twice ${x * 2}", file: "evs_${x_index}.lc" }', '[14.6]'));
    expect(job.tasks[0].params).toEqual({ label: 'nsr=14.6, twice 29.2', file: 'evs_0.lc' });
  });

  it('computes with JS floats: 73 / 5 is 14.6', () => {
    const job = plan(withParams('{ v: "${73 / 5}", text: "${73 / 5} days", int: "${7 / 7}" }'));
    expect(job.tasks[0].params).toEqual({ v: 14.6, text: '14.6 days', int: 1 });
  });

  it('evaluates deep inside params: lists and nested mappings', () => {
    const job = plan(withParams('{ grid: [ { r: "${constants.R_earth * x}" }, "${x}" ], plain: [1, two] }', '[2]'));
    expect(job.tasks[0].params).toEqual({ grid: [{ r: 2 }, 2], plain: [1, 'two'] });
  });

  it('offers constants, math functions, comparisons and conditionals', () => {
    const job = plan(withParams('{ a: "${sqrt(constants.days - 706)}", b: "${x > 2 ? \'big\' : \'small\'}", c: "${floor(x / 2)}" }', '[5]'));
    expect(job.tasks[0].params).toEqual({ a: Math.sqrt(24), b: 'big', c: 2 });
  });

  it('writes $${ for a literal ${', () => {
    const job = plan(withParams('{ shell: "echo $${HOME} ${1 + 1}" }'));
    expect(job.tasks[0].params).toEqual({ shell: 'echo ${HOME} 2' });
  });

  it('does not give fresh tasks shared objects', () => {
    const job = plan(withParams('{ list: [1, 2] }', '[1, 2]'));
    expect(job.tasks[0].params.list).not.toBe(job.tasks[1].params.list);
  });

  it('reports a syntax error with the field path and the expression', () => {
    expectProblem(() => plan(withParams('{ v: "${x * }" }', '[1]')), {
      path: 'tasks[0].tasks[0].params.v',
      includes: ['invalid expression "${x *}"', 'expected an expression'],
      where: 'line 7, column 22',
    });
  });

  it('reports an unknown variable with a did-you-mean and the names available', () => {
    expectProblem(() => plan(withParams('{ v: "${xx_index + 1}" }', '[1]')), {
      path: 'tasks[0].tasks[0].params.v',
      includes: ['unknown variable "xx_index"', 'did you mean "x_index"?', 'expected one of: x, x_index, constants.R_earth'],
    });
  });

  it('reports a loop variable used outside its loop', () => {
    expectProblem(() => plan(withParams('{ v: "${nsr}" }')), {
      path: 'tasks[0].params.v',
      includes: ['unknown variable "nsr"', 'loop variables exist only inside their for: loop'],
    });
  });

  it('reports an unknown constant', () => {
    expectProblem(() => plan(withParams('{ v: "${constants.R_eart}" }')), {
      path: 'tasks[0].params.v',
      includes: ['unknown constant "constants.R_eart"', 'did you mean "constants.R_earth"?'],
    });
  });

  it('reports a division by zero once, naming the iteration', () => {
    expectProblem(() => plan(withParams('{ v: "${1 / x}" }', '[1, 0, 0]')), {
      path: 'tasks[0].tasks[0].params.v',
      includes: ['"${1 / x}" gives Infinity', 'expected a finite number', 'x=0, x_index=1'],
    });
  });

  it('reports an unclosed ${', () => {
    expectProblem(() => plan(withParams('{ v: "a ${x" }', '[1]')), {
      path: 'tasks[0].tasks[0].params.v',
      includes: ['unclosed "${"', 'expected "${expression}"'],
    });
  });

  it('reports expressions in names, outputs and after entries at their own field', () => {
    expectProblem(
      () =>
        plan(`
tasks:
  - task: synthesize
    outputs: { lc: "evs_\${idx}.lc" }
`),
      { path: 'tasks[0].outputs.lc', includes: ['unknown variable "idx"'] },
    );
  });
});

describe('expression safety', () => {
  it('refuses random(), which would make plans differ from run to run', () => {
    expectProblem(() => plan(withParams('{ v: "${random()}" }')), { path: 'tasks[0].params.v', includes: ['random'] });
  });

  it('refuses reaching JavaScript internals through members', () => {
    expectProblem(() => plan(withParams('{ v: "${x.constructor}" }', '[{ a: 1 }]')), {
      path: 'tasks[0].tasks[0].params.v',
      includes: ['invalid expression'],
    });
  });
});
