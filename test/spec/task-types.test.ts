import { describe, expect, it } from 'vitest';
import { parseCpu, parseDuration, parseMemory } from '../../src/spec/units.js';
import { expectProblem, plan, problemsOf } from './helpers.js';

const useA = 'tasks: [ { task: a } ]';
const withType = (type: string, extra = '') => `${extra}\ntypes:\n  a: ${type}\n`;

describe('task types', () => {
  it('applies defaults: cpu 1, memory 0, no timeout, no retries, 1 s backoff', () => {
    const job = plan(useA, { config: withType('{ command: run.sh }') });
    expect(job.types).toEqual({
      a: { name: 'a', command: 'run.sh', cpu: 1, memory: 0, timeoutMs: null, retries: 0, backoffMs: 1000, qc: null, env: {}, pool: null, image: null },
    });
  });

  it('converts units and keeps every field', () => {
    const job = plan(useA, {
      config: withType('{ command: run.sh, cpu: "500m", memory: 1.5Gi, timeout: 1h30m, retries: 3, backoff: 500ms, qc: check.sh, env: { N: 4, MODE: fast }, image: img:1 }'),
    });
    expect(job.types.a).toMatchObject({
      cpu: 0.5,
      memory: 1.5 * 2 ** 30,
      timeoutMs: 5_400_000,
      retries: 3,
      backoffMs: 500,
      qc: 'check.sh',
      env: { N: '4', MODE: 'fast' },
      image: 'img:1',
    });
  });

  it('accepts resources: {cpu, memory} as another spelling', () => {
    const job = plan(useA, { config: withType('{ command: x, resources: { cpu: 2, memory: 4Gi } }') });
    expect(job.types.a).toMatchObject({ cpu: 2, memory: 4 * 2 ** 30 });
  });

  it('inherits cpu, memory and image from its pool when it sets none', () => {
    const pools = 'pools:\n  big: { image: sci:2, cpu: 4, memory: 8Gi, max_workers: 3 }';
    const job = plan(useA, { config: withType('{ command: x, pool: big, cpu: 1 }', pools) });
    expect(job.types.a).toMatchObject({ cpu: 1, memory: 8 * 2 ** 30, image: 'sci:2', pool: 'big' });
  });

  it('lists every declared type: control blocks and spawned tasks may use types no static task uses', () => {
    const job = plan('tasks: [ { task: report } ]');
    expect(Object.keys(job.types)).toContain('report');
    expect(Object.keys(job.types).length).toBeGreaterThan(1);
  });

  it('lets inline job types override orrery.yaml types by name, and work without orrery.yaml', () => {
    const job = plan('types:\n  report: { command: inline.sh }\ntasks: [ { task: report } ]');
    expect(job.types.report.command).toBe('inline.sh');
    const alone = plan('types:\n  a: { command: alone.sh }\ntasks: [ { task: a } ]', { config: null });
    expect(alone.types.a.command).toBe('alone.sh');
  });

  it('refuses a bare number as memory, saying to add a unit', () => {
    expectProblem(() => plan(useA, { config: withType('{ command: x, memory: 512 }') }), {
      file: 'orrery.yaml',
      path: 'types.a.memory',
      includes: ['a bare number is ambiguous, add a unit (e.g. 512Mi'],
      where: 'line 3, column 28',
    });
  });

  it('refuses an unknown memory unit and an invalid duration', () => {
    expectProblem(() => plan(useA, { config: withType('{ command: x, memory: 2GB }') }), {
      file: 'orrery.yaml',
      path: 'types.a.memory',
      includes: ['unknown unit "GB"', 'write 2G without the B'],
    });
    expectProblem(() => plan(useA, { config: withType('{ command: x, timeout: ten minutes }') }), {
      file: 'orrery.yaml',
      path: 'types.a.timeout',
      includes: ['expected a duration such as 90s, 10m, 1h30m or 500ms', 'got "ten minutes"'],
    });
  });

  it('refuses both spellings of resources at once', () => {
    expectProblem(() => plan(useA, { config: withType('{ command: x, memory: 1Gi, resources: { cpu: 2 } }') }), {
      file: 'orrery.yaml',
      path: 'types.a.resources',
      includes: ['not both'],
    });
  });

  it('refuses negative retries, a missing command and an unknown pool', () => {
    expectProblem(() => plan(useA, { config: withType('{ command: x, retries: -1 }') }), {
      file: 'orrery.yaml',
      path: 'types.a.retries',
      includes: ['expected a whole number >= 0, got the number -1'],
    });
    expectProblem(() => plan(useA, { config: withType('{ cpu: 1 }') }), {
      file: 'orrery.yaml',
      path: 'types.a.command',
      includes: ['is required: expected the shell command'],
    });
    expectProblem(() => plan(useA, { config: withType('{ command: x, pool: sciense }', 'pools: { science: { cpu: 1 } }') }), {
      file: 'orrery.yaml',
      path: 'types.a.pool',
      includes: ['unknown pool "sciense"', 'did you mean "science"?'],
    });
  });

  it('does not report tasks of a type that is itself invalid', () => {
    const problems = problemsOf(() => plan(useA, { config: withType('{ command: x, cpu: -1 }') }));
    expect(problems.map((p) => p.message)).toEqual([
      'orrery.yaml:line 3, column 25: types.a.cpu: expected a positive number of cores, e.g. 1, 0.5 or "500m", got -1',
    ]);
  });
});

describe('units', () => {
  it('parses Kubernetes memory quantities', () => {
    expect(parseMemory('512Mi')).toBe(512 * 2 ** 20);
    expect(parseMemory('4Gi')).toBe(4 * 2 ** 30);
    expect(parseMemory('2G')).toBe(2e9);
    expect(parseMemory('1000M')).toBe(1e9);
    expect(parseMemory('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(parseMemory(0)).toBe(0);
    expect(parseMemory(512)).toMatch(/add a unit/);
    expect(parseMemory('512')).toMatch(/has no unit/);
  });

  it('parses durations; a bare number is seconds', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration(2.5)).toBe(2500);
    expect(parseDuration('1 hour')).toMatch(/expected a duration/);
  });

  it('parses cores and millicores', () => {
    expect(parseCpu(2)).toBe(2);
    expect(parseCpu('250m')).toBe(0.25);
    expect(parseCpu(0)).toMatch(/positive/);
  });
});
