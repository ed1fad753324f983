import { describe, expect, it } from 'vitest';
import { names, plan } from './helpers.js';

describe('loop expansion', () => {
  it('expands values: with the variable and its 0-based index', () => {
    const job = plan(`
tasks:
  - for: planet
    values: [earth, mars, "\${constants.days}"]
    tasks:
      - task: synthesize
        params: { planet: "\${planet}", i: "\${planet_index}" }
`);
    expect(job.tasks.map((t) => t.params)).toEqual([
      { planet: 'earth', i: 0 },
      { planet: 'mars', i: 1 },
      { planet: 730, i: 2 },
    ]);
    expect(job.tasks[1].loop).toEqual({ planet: 'mars', planet_index: 1 });
    expect(job.tasks[1].source).toBe('tasks[0].tasks[0]');
  });

  it('expands linear_range like numpy.linspace, ends included', () => {
    const job = plan(`
tasks:
  - for: x
    linear_range: [0, 1, 5]
    tasks: [ { task: synthesize, params: { x: "\${x}" } } ]
`);
    expect(job.tasks.map((t) => t.params.x)).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });

  it('gives [start] for a range of one value, like numpy', () => {
    const job = plan(`
tasks:
  - for: x
    linear_range: [3, 9, 1]
    tasks: [ { task: synthesize, params: { x: "\${x}" } } ]
`);
    expect(job.tasks.map((t) => t.params.x)).toEqual([3]);
  });

  it('expands log_range like numpy.geomspace, with clean 12-digit values and expression ends', () => {
    const job = plan(`
tasks:
  - for: nsr
    log_range: ["\${73 / 5}", 365, 10]
    tasks: [ { task: synthesize, params: { nsr: "\${nsr}" } } ]
`);
    const values = job.tasks.map((t) => t.params.nsr as number);
    expect(values).toHaveLength(10);
    expect(values[0]).toBe(14.6);
    expect(values[9]).toBe(365);
    values.forEach((v, k) => {
      const exact = 14.6 * (365 / 14.6) ** (k / 9);
      expect(Math.abs(v - exact) / exact).toBeLessThan(1e-11);
      expect(String(v).replace(/^0\.0*|\./g, '').length).toBeLessThanOrEqual(12);
    });
    expect(values[1]).toBe(20.8775495653);
  });

  it('nests loops into grids, outer loop first, every variable visible inside', () => {
    const job = plan(`
tasks:
  - for: a
    values: [1, 2]
    tasks:
      - for: b
        linear_range: [10, 30, 3]
        tasks:
          - task: synthesize
            params: { a: "\${a}", b: "\${b}", where: "\${a_index}-\${b_index}" }
`);
    expect(names(job)).toEqual(['synthesize_0_0', 'synthesize_0_1', 'synthesize_0_2', 'synthesize_1_0', 'synthesize_1_1', 'synthesize_1_2']);
    expect(job.tasks[4].params).toEqual({ a: 2, b: 20, where: '1-1' });
    expect(job.tasks[4].loop).toEqual({ a: 2, a_index: 1, b: 20, b_index: 1 });
  });

  it('lets an inner range use the outer loop variable', () => {
    const job = plan(`
tasks:
  - for: n
    values: [1, 3]
    tasks:
      - for: k
        linear_range: [0, "\${n - 1}", "\${n}"]
        tasks: [ { task: synthesize, params: { k: "\${k}" } } ]
`);
    expect(job.tasks.map((t) => t.params.k)).toEqual([0, 0, 1, 2]);
  });

  it('keeps tasks outside loops as they are, in document order', () => {
    const job = plan(`
tasks:
  - { task: synthesize, name: first }
  - for: i
    values: [a, b]
    tasks: [ { task: transit_search } ]
  - { task: report }
`);
    expect(names(job)).toEqual(['first', 'transit_search_0', 'transit_search_1', 'report']);
    expect(job.tasks[0].loop).toEqual({});
  });
});

describe('task names', () => {
  it('appends _<index> per enclosing loop to explicit names', () => {
    const job = plan(`
tasks:
  - for: nsr
    values: [1, 2, 3, 4]
    tasks:
      - { task: transit_search, name: search }
      - for: p
        values: [a, b]
        tasks: [ { task: synthesize, name: grid } ]
`);
    expect(names(job).slice(0, 3)).toEqual(['search_0', 'grid_0_0', 'grid_0_1']);
    expect(names(job)).toContain('search_3');
    expect(names(job)).toContain('grid_3_1');
  });

  it('uses a name holding ${...} as it is: the user made it unique', () => {
    const job = plan(`
tasks:
  - for: nsr
    values: [7, 9]
    tasks: [ { task: synthesize, name: "synth-nsr\${nsr}" } ]
`);
    expect(names(job)).toEqual(['synth-nsr7', 'synth-nsr9']);
  });

  it('names unnamed tasks after their type and numbers repeats #2, #3 in document order', () => {
    const job = plan(`
tasks:
  - task: synthesize
  - task: synthesize
  - for: i
    values: [0]
    tasks: [ { task: synthesize }, { task: synthesize } ]
  - task: synthesize
`);
    expect(names(job)).toEqual(['synthesize', 'synthesize#2', 'synthesize_0', 'synthesize_0#2', 'synthesize#3']);
  });

  it('lets explicit names win over automatic ones', () => {
    const job = plan(`
tasks:
  - task: synthesize
  - { task: report, name: synthesize }
`);
    expect(names(job)).toEqual(['synthesize#2', 'synthesize']);
  });

  it('allows a task type chosen by an expression', () => {
    const job = plan(`
tasks:
  - for: kind
    values: [synthesize, report]
    tasks: [ { task: "\${kind}" } ]
`);
    expect(job.tasks.map((t) => [t.name, t.type])).toEqual([
      ['synthesize_0', 'synthesize'],
      ['report_1', 'report'],
    ]);
    expect(Object.keys(job.types)).toEqual(expect.arrayContaining(['report', 'synthesize']));
  });
});

describe('job defaults', () => {
  it('takes the name from the file and the workdir from the name', () => {
    const job = plan('tasks: [ { task: report } ]');
    expect(job.name).toBe('job');
    expect(job.workdir).toBe('job');
    expect(job.report).toBeNull();
  });

  it('normalises the workdir and keeps the report product', () => {
    const job = plan(`
name: evs
workdir: ./runs//evs/
report: ./summary.txt
tasks: [ { task: report, outputs: { table: summary.txt } } ]
`);
    expect(job.workdir).toBe('runs/evs');
    expect(job.report).toBe('summary.txt');
  });

  it('lets job constants override orrery.yaml constants', () => {
    const job = plan(`
constants: { days: 365 }
tasks: [ { task: report, params: { d: "\${constants.days}", r: "\${constants.R_earth}" } } ]
`);
    expect(job.tasks[0].params).toEqual({ d: 365, r: 1 });
  });
});
