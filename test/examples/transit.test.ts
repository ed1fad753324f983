// The transit demo's science codes, run directly through the task protocol (no engine): a fresh
// scratch directory as cwd, ORRERY_TASK naming the task JSON, ORRERY_RESULT for the results.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const EXAMPLE = resolve(here, '../../examples/transit');
const PERIOD = 17.3;
const R_EARTH = 0.009168;
const hasPython = spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0;

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
  inputs?: Record<string, string>; // name -> absolute path of the product, staged into the scratch dir
  outputs?: Record<string, string>; // name -> path relative to the scratch dir
  results_of?: Record<string, unknown>;
}

const scratchDirs: string[] = [];
const timings: Record<string, number[]> = {};

/** Run one task the way a worker does: fresh scratch dir, staged inputs, task JSON, env. */
function runTask(command: string[], spec: TaskSpec, name = 'task'): TaskRun {
  const dir = mkdtempSync(join(tmpdir(), 'orrery-transit-'));
  scratchDirs.push(dir);
  const inputs: Record<string, string> = {};
  for (const [key, src] of Object.entries(spec.inputs ?? {})) {
    copyFileSync(src, join(dir, basename(src)));
    inputs[key] = basename(src);
  }
  const task = {
    job: 'transit-test', task: name, attempt: 1, params: spec.params ?? {}, inputs,
    outputs: spec.outputs ?? {}, results_of: spec.results_of ?? {},
  };
  const taskFile = join(dir, '.orrery-task.json');
  const resultFile = join(dir, '.orrery-result.json');
  writeFileSync(taskFile, JSON.stringify(task));
  const env: NodeJS.ProcessEnv = { ...process.env, ORRERY_TASK: taskFile, ORRERY_RESULT: resultFile };
  for (const [k, v] of Object.entries(task.params)) env[`ORRERY_PARAM_${k.toUpperCase()}`] = String(v);
  for (const [k, v] of Object.entries(inputs)) env[`ORRERY_INPUT_${k.toUpperCase()}`] = v;
  for (const [k, v] of Object.entries(task.outputs)) env[`ORRERY_OUTPUT_${k.toUpperCase()}`] = v;
  const started = performance.now();
  const [cmd, ...args] = command;
  const proc = spawnSync(cmd, args, { cwd: dir, env, encoding: 'utf8', timeout: 30_000 });
  const ms = performance.now() - started;
  (timings[command.map((w) => basename(w)).join(' ')] ??= []).push(ms);
  const result = existsSync(resultFile) ? JSON.parse(readFileSync(resultFile, 'utf8')) : undefined;
  return { status: proc.status, stdout: proc.stdout, stderr: proc.stderr, result, dir, ms };
}

const node = (script: string) => [process.execPath, join(EXAMPLE, script)];
const python = (script: string) => ['python3', join(EXAMPLE, script)];

function synthesize(radius: number, noisePpm: number, seed: number): TaskRun {
  const run = runTask(node('synthesize.mjs'), {
    params: { days: 200, cadence_min: 30, radius, noise_ppm: noisePpm, period: PERIOD, seed },
    outputs: { lightcurve: 'lc.csv' },
  }, 'synth');
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run;
}
function bls(lightcurve: string): TaskRun {
  const run = runTask(node('bls.mjs'), {
    params: { period_min: 1, period_max: 40 },
    inputs: { lightcurve },
    outputs: { periodogram: 'bls.json' },
  }, 'search');
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run;
}
function check(command: string[], periodogram: string, radius: number, noisePpm: number): TaskRun {
  return runTask(command, {
    params: { period: PERIOD, radius, noise_ppm: noisePpm, snr_min: 7 },
    inputs: { search: periodogram },
  }, 'check');
}

afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  const lines = Object.entries(timings).map(([cmd, ms]) =>
    `  ${cmd.padEnd(34)} runs ${String(ms.length).padStart(2)}  mean ${(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(0).padStart(5)} ms  max ${Math.max(...ms).toFixed(0).padStart(5)} ms`);
  console.log(`transit demo script timings (wall, incl. interpreter start):\n${lines.join('\n')}`);
});

describe('transit demo: synthesize.mjs', () => {
  it('writes a seeded time,flux light curve with the injected transit depth', () => {
    const run = synthesize(4, 60, 3);
    const csv = readFileSync(join(run.dir, 'lc.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('time,flux');
    expect(csv.length - 1).toBe(9600); // 200 days at 30 min
    expect(run.result?.n_points).toBe(9600);
    expect(run.result?.depth_ppm as number).toBeCloseTo((4 * R_EARTH) ** 2 * 1e6, 3);
    // Kepler's third law for a Sun-like star: a 17.3 d central transit lasts about 4.8 h.
    expect(run.result?.duration_hours as number).toBeGreaterThan(4.5);
    expect(run.result?.duration_hours as number).toBeLessThan(5.1);
    expect([11, 12]).toContain(run.result?.n_transits);
    // Same seed, same bytes; another seed, another light curve.
    const again = synthesize(4, 60, 3);
    expect(readFileSync(join(again.dir, 'lc.csv'), 'utf8')).toBe(readFileSync(join(run.dir, 'lc.csv'), 'utf8'));
    const other = synthesize(4, 60, 4);
    expect(readFileSync(join(other.dir, 'lc.csv'), 'utf8')).not.toBe(readFileSync(join(run.dir, 'lc.csv'), 'utf8'));
  });

  it('fails with one readable line when a param is missing', () => {
    const run = runTask(node('synthesize.mjs'), { params: { noise_ppm: 100, period: PERIOD }, outputs: { lightcurve: 'lc.csv' } });
    expect(run.status).not.toBe(0);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/synthesize\.mjs: error: param radius must be a number/);
  });
});

describe('transit demo: synthesize -> bls -> check through the task protocol', () => {
  // A 4 R_earth planet in 60 ppm noise (depth 1345 ppm) and a 1 R_earth planet in 1500 ppm (84 ppm).
  let bigBls: TaskRun;
  let tinyBls: TaskRun;
  beforeAll(() => {
    bigBls = bls(join(synthesize(4, 60, 3).dir, 'lc.csv'));
    tinyBls = bls(join(synthesize(1, 1500, 30).dir, 'lc.csv'));
  });

  it('BLS finds the big planet at the injected period, depth and duration', () => {
    const summary = JSON.parse(readFileSync(join(bigBls.dir, 'bls.json'), 'utf8'));
    expect(Math.abs(summary.best.period / PERIOD - 1)).toBeLessThan(0.001);
    expect(summary.best.depth_ppm).toBeGreaterThan(0.85 * 1345);
    expect(summary.best.depth_ppm).toBeLessThan(1.15 * 1345);
    expect(summary.best.duration_hours).toBeGreaterThan(3.5);
    expect(summary.best.duration_hours).toBeLessThan(6);
    expect(summary.best.snr).toBeGreaterThan(50);
    expect(summary.best.sde).toBeGreaterThan(9);
    expect([11, 12]).toContain(summary.best.n_transits);
    expect(summary.grid.n_frequencies).toBeGreaterThan(5000);
    expect(summary.peaks.length).toBeGreaterThan(0);
    expect(bigBls.result).toMatchObject({ best_period: summary.best.period, snr: summary.best.snr, sde: summary.best.sde });
  });

  it('check.mjs: the big planet is detected at the right period', () => {
    const run = check(node('check.mjs'), join(bigBls.dir, 'bls.json'), 4, 60);
    expect(run.status).toBe(0);
    expect(run.result).toMatchObject({ noise_ppm: 60, radius: 4, detected: true, period_match: 'P' });
    expect(Math.abs((run.result?.best_period as number) / PERIOD - 1)).toBeLessThan(0.01);
    expect(run.result?.snr as number).toBeGreaterThan(7);
  });

  it('check.mjs: the tiny planet in high noise is not detected', () => {
    const run = check(node('check.mjs'), join(tinyBls.dir, 'bls.json'), 1, 1500);
    expect(run.status).toBe(0);
    expect(run.result).toMatchObject({ noise_ppm: 1500, radius: 1, detected: false });
    expect(run.result?.snr as number).toBeLessThan(7);
  });

  it('check.mjs counts the 2x period alias as detected and says so; a wrong period is not', () => {
    const fake = (period: number, snr: number) => {
      const dir = mkdtempSync(join(tmpdir(), 'orrery-transit-'));
      scratchDirs.push(dir);
      writeFileSync(join(dir, 'fake.json'), JSON.stringify({ best: { period, snr, sde: 10, depth_ppm: 300 } }));
      return join(dir, 'fake.json');
    };
    expect(check(node('check.mjs'), fake(2 * PERIOD * 1.004, 9), 2, 100).result).toMatchObject({ detected: true, period_match: '2P' });
    expect(check(node('check.mjs'), fake(PERIOD / 2, 9), 2, 100).result).toMatchObject({ detected: true, period_match: 'P/2' });
    expect(check(node('check.mjs'), fake(PERIOD, 6.9), 2, 100).result).toMatchObject({ detected: false, period_match: 'P' });
    expect(check(node('check.mjs'), fake(PERIOD * 1.02, 30), 2, 100).result).toMatchObject({ detected: false, period_match: 'none' });
  });

  it.skipIf(!hasPython)('check.py gives the same verdicts as check.mjs', () => {
    for (const [summary, radius, noise] of [[bigBls, 4, 60], [tinyBls, 1, 1500]] as const) {
      const js = check(node('check.mjs'), join(summary.dir, 'bls.json'), radius, noise);
      const py = check(python('check.py'), join(summary.dir, 'bls.json'), radius, noise);
      expect(py.stderr).toBe('');
      expect(py.status).toBe(0);
      expect(py.result).toEqual(js.result);
    }
  });

  it('the QC script accepts a real periodogram and rejects a broken one', () => {
    const good = join(bigBls.dir, 'bls.json');
    const ok = spawnSync(process.execPath, [join(EXAMPLE, 'check-periodogram.mjs'), good], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    const summary = JSON.parse(readFileSync(good, 'utf8'));
    summary.best.snr = null;
    const bad = join(bigBls.dir, 'broken.json');
    writeFileSync(bad, JSON.stringify(summary));
    const ko = spawnSync(process.execPath, [join(EXAMPLE, 'check-periodogram.mjs'), bad], { encoding: 'utf8' });
    expect(ko.status).toBe(1);
    expect(ko.stderr).toMatch(/QC failed: .*best\.snr must be a finite number/);
  });
});

describe('transit demo: report.mjs', () => {
  const verdict = (noise: number, radius: number, detected: boolean, snr: number, match = detected ? 'P' : 'none') => ({
    noise_ppm: noise, radius, detected, snr, best_period: PERIOD, period_match: match, injected_period: PERIOD,
    snr_min: 7, period_tol: 0.01, baseline_days: 200, cadence_min: 30, n_points: 9600,
  });

  it('tabulates detection vs noise from the checks in results_of', () => {
    const results_of = {
      check_0_0: verdict(60, 1, true, 12.3),
      check_0_1: verdict(60, 4, true, 201.7),
      check_1_0: verdict(1500, 1, false, 4.1),
      check_1_1: verdict(1500, 4, true, 9.5, '2P'),
      synth_0_0: { n_points: 9600, depth_ppm: 84 }, // not a verdict: ignored
    };
    const run = runTask(node('report.mjs'), { params: { R_earth: R_EARTH }, outputs: { table: 'detection_table.txt' }, results_of }, 'report');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const table = readFileSync(join(run.dir, 'detection_table.txt'), 'utf8');
    expect(run.stdout).toBe(table);
    expect(table).toMatch(/^Transit detection vs noise/);
    expect(table).toContain('Rp = 1 R_earth');
    expect(table).toContain('depth 84 ppm');
    expect(table).toContain('depth 1345 ppm');
    const rows = table.split('\n');
    const row60 = rows.find((l) => /^\s*60 ppm \|/.test(l));
    const row1500 = rows.find((l) => /^\s*1500 ppm \|/.test(l));
    expect(row60).toMatch(/yes \(SNR 12\.3\)\s+\| yes \(SNR 201\.7\)/);
    expect(row1500).toMatch(/no \(SNR 4\.1\)\s+\| yes\* \(SNR 9\.5\)/);
    expect(table).toContain('Recovered 3 of 4 injected planets.');
    expect(run.result).toEqual({ cells: 4, detected: 3 });
  });

  it('fails with a clear message when results_of is empty', () => {
    const run = runTask(node('report.mjs'), { outputs: { table: 'detection_table.txt' }, results_of: {} }, 'report');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/results_of is empty/);
    expect(existsSync(join(run.dir, 'detection_table.txt'))).toBe(false);
  });
});

describe('transit demo: job documents', () => {
  const load = (file: string) => parseYaml(readFileSync(join(EXAMPLE, file), 'utf8'));

  it('every task type used exists in orrery.yaml and every script it runs exists', () => {
    const types = load('orrery.yaml').types as Record<string, { command: string; qc?: string }>;
    const used = new Set<string>();
    const walk = (tasks: Array<Record<string, unknown>>) => {
      for (const t of tasks) {
        if (typeof t.task === 'string') used.add(t.task);
        if (Array.isArray(t.tasks)) walk(t.tasks as Array<Record<string, unknown>>);
      }
    };
    walk(load('job.yaml').tasks);
    walk(load('job-python.yaml').tasks);
    expect([...used].sort()).toEqual(['bls', 'check', 'check_py', 'report', 'synthesize']);
    for (const name of used) {
      expect(types[name], `type ${name}`).toBeDefined();
      for (const command of [types[name].command, types[name].qc].filter(Boolean) as string[]) {
        const script = command.split(/\s+/).find((w) => w.startsWith('./'));
        expect(script, command).toBeDefined();
        expect(existsSync(join(EXAMPLE, script!)), script).toBe(true);
      }
    }
  });

  it('job-python.yaml is job.yaml with the check step in Python', () => {
    const js = load('job.yaml');
    const py = load('job-python.yaml');
    expect(py.name).not.toBe(js.name);
    expect(py.workdir).not.toBe(js.workdir);
    const swapped = JSON.parse(JSON.stringify(py.tasks).replaceAll('"check_py"', '"check"'));
    expect(swapped).toEqual(js.tasks);
    expect({ ...py, name: js.name, workdir: js.workdir, tasks: js.tasks }).toEqual(js);
  });
});
