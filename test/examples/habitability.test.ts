// The habitability demo's science codes, run directly through the task protocol (no engine): a
// fresh scratch directory as cwd, ORRERY_TASK naming the task JSON, ORRERY_RESULT for the results.
// The last block simulates the job's `explore` in-process (breadth-first from the start point with
// the job's neighbour rule) to check that the exploration is bounded and to count its points.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const EXAMPLE = resolve(here, '../../examples/habitability');

type Result = Record<string, unknown> & {
  temperature_k: number;
  albedo: number;
  habitable: boolean;
  regime: 'snowball' | 'temperate' | 'runaway';
};
type Climate = (params: Record<string, unknown>) => { result: Result; profile: Array<Record<string, number>> };

interface TaskRun {
  status: number | null;
  stdout: string;
  stderr: string;
  result: Record<string, unknown> | undefined;
  dir: string;
  ms: number;
}
interface TaskSpec {
  params?: Record<string, unknown>;
  outputs?: Record<string, string>;
  results_of?: Record<string, unknown>;
}

const scratchDirs: string[] = [];
const timings: Record<string, number[]> = {};

/** Run one task the way a worker does: fresh scratch dir, task JSON, env. */
async function runTask(script: string, spec: TaskSpec, name = 'task'): Promise<TaskRun> {
  const dir = mkdtempSync(join(tmpdir(), 'orrery-habitability-'));
  scratchDirs.push(dir);
  const task = {
    job: 'habitability-test', task: name, attempt: 1, params: spec.params ?? {}, inputs: {},
    outputs: spec.outputs ?? {}, results_of: spec.results_of ?? {},
  };
  const taskFile = join(dir, '.orrery-task.json');
  const resultFile = join(dir, '.orrery-result.json');
  writeFileSync(taskFile, JSON.stringify(task));
  const env: NodeJS.ProcessEnv = { ...process.env, ORRERY_TASK: taskFile, ORRERY_RESULT: resultFile };
  for (const [k, v] of Object.entries(task.params)) env[`ORRERY_PARAM_${k.toUpperCase()}`] = String(v);
  for (const [k, v] of Object.entries(task.outputs)) env[`ORRERY_OUTPUT_${k.toUpperCase()}`] = v;
  const started = performance.now();
  const child = spawn(process.execPath, [join(EXAMPLE, script)], { cwd: dir, env, timeout: 30_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const status = await new Promise<number | null>((done, fail) => { child.on('error', fail); child.on('close', done); });
  const ms = performance.now() - started;
  (timings[script] ??= []).push(ms);
  const result = existsSync(resultFile) ? JSON.parse(readFileSync(resultFile, 'utf8')) : undefined;
  return { status, stdout, stderr, result, dir, ms };
}

async function model(log_co2: number, log_ch4: number): Promise<TaskRun & { result: Result }> {
  const run = await runTask('model.mjs', { params: { log_co2, log_ch4 }, outputs: { climate: 'climate.json' } }, 'model');
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run as TaskRun & { result: Result };
}

let climate: Climate;
beforeAll(async () => {
  // The model is also exported as a function (the CLI entry is guarded by an import.meta.url check).
  const url = pathToFileURL(join(EXAMPLE, 'model.mjs')).href;
  climate = ((await import(url)) as { climate: Climate }).climate;
});

afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  const lines = Object.entries(timings).map(([script, ms]) =>
    `  ${script.padEnd(10)} runs ${String(ms.length).padStart(3)}  mean ${(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(0).padStart(4)} ms  max ${Math.max(...ms).toFixed(0).padStart(4)} ms`);
  console.log(`habitability demo script timings (wall, incl. interpreter start):\n${lines.join('\n')}`);
});

describe('habitability demo: model.mjs', () => {
  it('puts present Earth (280 ppm CO2, 0.7 ppm CH4) in a temperate climate near 288 K', async () => {
    const run = await model(2.45, -0.15);
    const r = run.result;
    expect(r).toMatchObject({ log_co2: 2.45, log_ch4: -0.15, habitable: true, regime: 'temperate', equilibrium: true });
    expect(Math.abs(r.temperature_k - 288)).toBeLessThan(10);
    expect(r.albedo).toBeGreaterThan(0.25);
    expect(r.albedo).toBeLessThan(0.35);
    expect(r.pco2_ubar as number).toBeCloseTo(281.8, 1);
    // Polar ice caps, ice-free tropics.
    expect(r.ice_line_deg as number).toBeGreaterThan(50);
    expect(r.ice_line_deg as number).toBeLessThan(80);
    expect(r.temperature_equator_k as number).toBeGreaterThan(r.temperature_pole_k as number);
    // The output holds the result and the latitude profile.
    const out = JSON.parse(readFileSync(join(run.dir, 'climate.json'), 'utf8'));
    expect(out.result).toEqual(r);
    expect(out.profile).toHaveLength(45);
    expect(out.profile[0].lat_deg).toBeLessThan(1);
    expect(out.profile.at(-1).lat_deg).toBeGreaterThan(80);
    expect(run.stdout).toMatch(/T = 288\.\d K .* -> temperate/);
  });

  it('freezes into a snowball with very little greenhouse gas', async () => {
    const r = (await model(0, -3)).result;
    expect(r).toMatchObject({ habitable: false, regime: 'snowball' });
    expect(r.temperature_k).toBeLessThan(250);
    expect(r.albedo).toBeGreaterThan(0.5);
    expect(r.ice_fraction).toBe(1);
  });

  it('runs away with very much greenhouse gas', async () => {
    const r = (await model(6, 3)).result;
    expect(r).toMatchObject({ habitable: false, regime: 'runaway' });
    expect(r.temperature_k).toBeGreaterThan(340);
  });

  it('warms monotonically with CO2, from snowball through temperate to runaway', async () => {
    // Through the protocol every half decade, two at a time (as a 2-core worker would run them) ...
    const line = Array.from({ length: 13 }, (_, i) => i * 0.5);            // log_co2 0 .. 6
    const results: Result[] = [];
    for (let i = 0; i < line.length; i += 2) {
      const runs = await Promise.all(line.slice(i, i + 2).map((log_co2) => model(log_co2, -0.15)));
      results.push(...runs.map((run) => run.result));
    }
    // ... and in-process every quarter decade, which must agree.
    const fine = Array.from({ length: 25 }, (_, i) => climate({ log_co2: i * 0.25, log_ch4: -0.15 }).result);
    for (let i = 0; i < line.length; i++) expect(results[i]).toEqual(fine[2 * i]);
    for (const series of [results, fine]) {
      for (let i = 1; i < series.length; i++) {
        expect(series[i].temperature_k, `log_co2 ${series[i].log_co2}`).toBeGreaterThan(series[i - 1].temperature_k);
      }
      // Each regime is one contiguous stretch, in this order.
      expect(series.map((r) => r.regime).join(' ').replace(/(\w+)( \1)+/g, '$1')).toBe('snowball temperate runaway');
    }
  });

  it('takes partial pressures too; a CO2 doubling warms by 3-4 K; CH4-rich air makes a cooling haze', () => {
    expect(climate({ co2_ppm: 280, ch4_ppm: 0.7 }).result.temperature_k).toBeCloseTo(287.9, 0);
    // Doubling CO2: a climate sensitivity of about 3-4 K.
    const sensitivity = climate({ co2_ppm: 560, ch4_ppm: 0.7 }).result.temperature_k - climate({ co2_ppm: 280, ch4_ppm: 0.7 }).result.temperature_k;
    expect(sensitivity).toBeGreaterThan(2.5);
    expect(sensitivity).toBeLessThan(4.5);
    // CH4/CO2 > 0.1 makes an organic haze that cools; without it the same atmosphere is warmer.
    const hazy = climate({ log_co2: 2.45, log_ch4: 2.35 }).result;
    const clear = climate({ log_co2: 2.45, log_ch4: 2.35, haze: false }).result;
    expect(hazy.haze_albedo as number).toBeGreaterThan(0.05);
    expect(clear.haze_albedo).toBe(0);
    expect(clear.temperature_k).toBeGreaterThan(hazy.temperature_k + 5);
  });

  it('fails with one readable line when a param is missing', async () => {
    const run = await runTask('model.mjs', { params: { log_co2: 2.45 }, outputs: { climate: 'climate.json' } });
    expect(run.status).not.toBe(0);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/model\.mjs: error: param log_ch4 .* or ch4_ppm is required/);
    expect(existsSync(join(run.dir, 'climate.json'))).toBe(false);
  });
});

describe('habitability demo: map.mjs', () => {
  const point = (log_co2: number, log_ch4: number, regime: 'snowball' | 'temperate' | 'runaway', temperature_k: number) =>
    ({ log_co2, log_ch4, regime, habitable: regime === 'temperate', temperature_k, albedo: 0.3 });

  it('draws the explored grid: rows CH4, columns CO2, a character per point, . where not explored', async () => {
    const results_of = {
      'model_0_0': point(2.45, -0.15, 'temperate', 288.1),
      'model_-1_0': point(2.2, -0.15, 'temperate', 285),
      'model_-2_0': point(1.95, -0.15, 'snowball', 231),
      'model_1_0': point(2.7, -0.15, 'runaway', 345.5),
      'model_0_1': point(2.45, 0.35, 'temperate', 290),
      'model_1_-1': point(2.7, -0.65, 'temperate', 291),
      'report': { note: 'not a model result' },                          // ignored
    };
    const run = await runTask('map.mjs', { outputs: { map: 'map.svg', table: 'map.txt' }, results_of }, 'map');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const text = readFileSync(join(run.dir, 'map.txt'), 'utf8');
    expect(run.stdout).toBe(text);
    const rows = text.split('\n');
    const row = (label: string) => rows.find((l) => new RegExp(`^\\s*${label.replace('.', '\\.')} \\| `).test(l))!.split(' | ')[1];
    // Columns 1.95, 2.20, 2.45, 2.70; rows 0.35 (top), -0.15, -0.65 (bottom).
    const top = rows.findIndex((l) => /^\s*0\.35 \|/.test(l));
    expect(rows[top + 1]).toMatch(/^\s*-0\.15 \|/);
    expect(rows[top + 2]).toMatch(/^\s*-0\.65 \|/);
    expect(row('0.35')).toBe('. . # .');
    expect(row('-0.15')).toBe('* # # ^');
    expect(row('-0.65')).toBe('. . . #');
    expect(text).toContain('log10 pCO2 [ubar]');
    expect(text).toContain('log10 pCH4 [ubar]');
    expect(text).toMatch(/1\.95\s+2\.45/);                                  // column labels
    expect(text).toContain('Explored 6 points: 4 habitable, 1 snowball, 1 runaway.');
    expect(text).toMatch(/-0\.15 \| 231 285 288 346/);                     // temperature table
    expect(run.result).toMatchObject({ explored: 6, habitable: 4, snowball: 1, runaway: 1, columns: 4, rows: 3 });
    const svg = readFileSync(join(run.dir, 'map.svg'), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.trim()).toMatch(/<\/svg>$/);
    expect(svg.match(/<rect [^>]*fill="#3a9a5b"[^>]*><title>/g)).toHaveLength(4); // habitable cells
    expect(svg.match(/<rect [^>]*fill="#f3f3f3"[^>]*><title>not explored/g)).toHaveLength(6);
    expect(svg).toContain('<circle');                                        // Earth today is on the map
  });

  it('fails with a clear message when results_of has no model results', async () => {
    const empty = await runTask('map.mjs', { outputs: { map: 'map.svg', table: 'map.txt' }, results_of: {} }, 'map');
    expect(empty.status).not.toBe(0);
    expect(empty.stderr).toMatch(/map\.mjs: error: results_of is empty: this task must run after the exploration/);
    expect(existsSync(join(empty.dir, 'map.txt'))).toBe(false);
    expect(existsSync(join(empty.dir, 'map.svg'))).toBe(false);
    const other = await runTask('map.mjs', { outputs: { map: 'map.svg', table: 'map.txt' }, results_of: { synth_0: { points: 3 } } }, 'map');
    expect(other.status).not.toBe(0);
    expect(other.stderr).toMatch(/none of the results in results_of \(synth_0\) is a model result/);
  });
});

// ---- the exploration, simulated --------------------------------------------------------------------
interface Explore {
  explore: string;
  start: Record<string, number>;
  step: Record<string, number>;
  bounds: Record<string, [number, number]>;
  neighbours: string;
  neighbours_if: string;
  budget: number;
  tasks: Array<{ task: string; params: Record<string, string>; outputs: Record<string, string> }>;
}
const load = (file: string) => parseYaml(readFileSync(join(EXAMPLE, file), 'utf8'));

/**
 * Breadth-first exploration as the job describes it: start at index 0 in every dimension, run the
 * model at each point once, and queue a point's in-bounds ±1-step neighbours only if its result
 * is habitable, up to the budget. Values are rounded like the engine's ranges (12 digits).
 */
function simulate(spec: Explore) {
  const dims = Object.keys(spec.start);
  const valueAt = (d: string, i: number) => Number((spec.start[d] + i * spec.step[d]).toPrecision(12));
  const inBounds = (d: string, i: number) => {
    const v = spec.start[d] + i * spec.step[d];
    return v >= spec.bounds[d][0] - 1e-9 && v <= spec.bounds[d][1] + 1e-9;
  };
  const visited = new Map<string, { index: number[]; result: Result }>();
  const queued = new Set<string>([dims.map(() => 0).join(',')]);
  const queue: number[][] = [dims.map(() => 0)];
  while (queue.length > 0 && visited.size < spec.budget) {
    const index = queue.shift()!;
    const params = Object.fromEntries(dims.map((d, k) => [d, valueAt(d, index[k])]));
    const { result } = climate(params);
    visited.set(index.join(','), { index, result });
    if (!result.habitable) continue;
    for (let k = 0; k < dims.length; k++) {
      for (const s of [-1, 1]) {
        const next = [...index];
        next[k] += s;
        if (!inBounds(dims[k], next[k]) || queued.has(next.join(','))) continue;
        queued.add(next.join(','));
        queue.push(next);
      }
    }
  }
  let gridSize = 1;
  for (const d of dims) {
    let n = 0;
    for (let i = -1000; i <= 1000; i++) if (inBounds(d, i)) n++;
    gridSize *= n;
  }
  return { dims, visited, gridSize, exhausted: queue.length === 0 };
}

describe('habitability demo: the job and its exploration', () => {
  const job = load('job.yaml');
  const spec = job.tasks[0] as Explore;

  it('every task type used exists in orrery.yaml and every script it runs exists', () => {
    const types = load('orrery.yaml').types as Record<string, { command: string }>;
    const used = [spec.tasks[0].task, job.tasks[1].task];
    expect(used).toEqual(['model', 'map']);
    for (const name of used) {
      const script = types[name].command.split(/\s+/).find((w) => w.startsWith('./'));
      expect(existsSync(join(EXAMPLE, script!)), script).toBe(true);
    }
  });

  it('uses the explore block: model per point, map after the exploration, the table as the report', () => {
    expect(spec).toMatchObject({
      explore: 'climate', neighbours: 'axis', neighbours_if: '${tasks.model.result.habitable}',
      start: { log_co2: 2.45, log_ch4: -0.15 },
    });
    expect(spec.tasks[0].params).toEqual({ log_co2: '${log_co2}', log_ch4: '${log_ch4}' });
    expect(spec.tasks[0].outputs.climate).toBe('climate_${log_co2_index}_${log_ch4_index}.json');
    expect(job.tasks[1]).toMatchObject({ task: 'map', after: ['climate'] });
    expect(job.report).toBe(job.tasks[1].outputs.table);
    // The start is Earth today.
    expect(10 ** spec.start.log_co2).toBeCloseTo(280, -1);
    expect(10 ** spec.start.log_ch4).toBeCloseTo(0.7, 1);
  });

  it('explores a bounded habitable region plus its one-step boundary, well within the budget', async () => {
    const started = performance.now();
    const { visited, gridSize, exhausted } = simulate(spec);
    const ms = performance.now() - started;
    const points = [...visited.values()];
    const habitable = points.filter((p) => p.result.habitable);
    const count = (regime: string) => points.filter((p) => p.result.regime === regime).length;
    console.log(`habitability exploration (simulated in-process, ${ms.toFixed(0)} ms): ${points.length} points of a ` +
      `${gridSize}-point grid (budget ${spec.budget}): ${habitable.length} habitable, ${count('snowball')} snowball, ${count('runaway')} runaway`);

    // It stopped by itself, before the budget and before covering the grid.
    expect(exhausted).toBe(true);
    expect(points.length).toBeLessThan(spec.budget);
    expect(points.length).toBeLessThan(gridSize);
    expect(habitable.length).toBeGreaterThanOrEqual(30);
    expect(habitable.length).toBeLessThanOrEqual(160);
    // Bounded by physics along CO2: both edges are reached, and no habitable point lies on a CO2
    // bound (the snowball edge is on the low side, the runaway edge on the high side).
    expect(count('snowball')).toBeGreaterThan(0);
    expect(count('runaway')).toBeGreaterThan(0);
    const [lo, hi] = spec.bounds.log_co2;
    for (const p of habitable) {
      const v = p.result.log_co2 as number;
      expect(v - spec.step.log_co2).toBeGreaterThanOrEqual(lo - 1e-9);
      expect(v + spec.step.log_co2).toBeLessThanOrEqual(hi + 1e-9);
    }
    for (const p of points.filter((q) => q.result.regime === 'snowball')) {
      const warmer = visited.get([p.index[0] + 1, p.index[1]].join(','));
      if (warmer) expect(warmer.result.regime).not.toBe('runaway');
    }
    // Visited = habitable points + their non-habitable neighbours: every non-habitable point
    // has a habitable neighbour (the start is habitable).
    const key = (i: number[]) => i.join(',');
    for (const p of points.filter((q) => !q.result.habitable)) {
      const [i, j] = p.index;
      const around = [[i - 1, j], [i + 1, j], [i, j - 1], [i, j + 1]].map((n) => visited.get(key(n)));
      expect(around.some((n) => n?.result.habitable), `point ${key(p.index)}`).toBe(true);
    }
    expect(visited.get('0,0')!.result.habitable).toBe(true);

    // map.mjs draws the simulated exploration: results_of keyed by task name, model_<i>_<j>.
    const results_of = Object.fromEntries(points.map((p) => [`model_${p.index.join('_')}`, p.result]));
    const run = await runTask('map.mjs', { outputs: { map: 'habitability_map.svg', table: 'habitability_map.txt' }, results_of }, 'map');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.result).toMatchObject({ explored: points.length, habitable: habitable.length });
    const text = readFileSync(join(run.dir, 'habitability_map.txt'), 'utf8');
    expect(text).toContain(`Explored ${points.length} points: ${habitable.length} habitable`);
    const earthRow = text.split('\n').find((l) => /^\s*-0\.15 \| [#*^. ]+$/.test(l))!;
    expect(earthRow).toMatch(/^\s*-0\.15 \| [. ]*\*( #)+ \^/);            // snowball, temperate, runaway
  });
});
