import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../helpers/cli.js';

const examples = path.resolve(__dirname, '../../examples/transit');
const hasPython = (() => {
  try {
    execFileSync('python3', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

let p: Project;
beforeEach(() => (p = new Project('orrery-demo-')));
afterEach(() => p.remove());

describe('the transit demo', () => {
  it('runs end to end and prints the detection-vs-noise table', () => {
    const r = p.orrery('run', path.join(examples, 'job.yaml'), '--quiet');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/job 1 \(transit\) succeeded: 49 succeeded/);
    expect(r.stdout).toMatch(/white noise \| Rp = 1 R_earth/);
    // the boundary is real: the biggest planet at the lowest noise is found, the smallest at the highest noise is not
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d+ ppm \|/.test(l));
    expect(rows).toHaveLength(4);
    expect(rows[0].split('|').slice(-1)[0]).toMatch(/yes/);
    expect(rows[3].split('|')[1]).toMatch(/no/);
    const results = p.json<any[]>('tasks', 'transit', '--type', 'check');
    expect(results).toHaveLength(16);
    expect(results.every((t) => typeof t.result.detected === 'boolean')).toBe(true);
  }, 120_000);

  it.skipIf(!hasPython)('gives the same verdicts with the Python check', () => {
    const js = p.orrery('run', path.join(examples, 'job.yaml'), '--quiet');
    const py = p.orrery('run', path.join(examples, 'job-python.yaml'), '--quiet');
    expect(py.code).toBe(0);
    const table = (out: string) => out.split('\n').filter((l) => /^\s+\d+ ppm \|/.test(l));
    expect(table(py.stdout)).toEqual(table(js.stdout));
    // the synthesis and search are shared with the first job: taken from the cache
    expect(py.stdout).toMatch(/32 cached/);
  }, 120_000);
});

describe('the habitability demo', () => {
  it('explores outward from Earth to the edges of the habitable region and prints the map', () => {
    const job = path.resolve(__dirname, '../../examples/habitability/job.yaml');
    const r = p.orrery('run', job, '--quiet');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/#/);
    const models = p.json<any[]>('tasks', 'habitability', '--type', 'model');
    const names = models.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    const habitable = models.filter((t) => t.result.habitable);
    expect(habitable.length).toBeGreaterThan(20);
    // the region is bounded: some neighbours were run and found snowball or runaway
    expect(models.some((t) => t.result.regime === 'snowball')).toBe(true);
    expect(models.some((t) => t.result.regime === 'runaway')).toBe(true);
    const files = p.json<any[]>('files', 'habitability').map((f) => f.path);
    expect(files).toContain('habitability_map.svg');
  }, 240_000);
});
