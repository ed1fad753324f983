import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Project } from '../helpers/cli.js';

let p: Project;
beforeEach(() => (p = new Project('orrery-dynamic-')));
afterEach(() => p.remove());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RESULT = (json: string) => `echo '${json}' > $ORRERY_RESULT`;
/** A command as a YAML scalar (JSON strings are valid YAML). */
const Q = (command: string) => JSON.stringify(command);

const IF_JOB = (snr: number) => `
name: cond
tasks:
  - { task: measure, name: search, params: { snr: ${snr} } }
  - if: "\${tasks.search.result.snr > 7}"
    name: decide
    then: [ { task: say, name: report, params: { msg: detected } } ]
    else: [ { task: say, name: deeper, params: { msg: deeper } } ]
  - { task: say, name: after_all, after: [decide], params: { msg: done } }
types:
  measure: { command: ${Q(RESULT('{"snr": {params.snr}}'))} }
  say: { command: "echo {params.msg}" }
`;

function states(job: string): Record<string, string> {
  return Object.fromEntries(p.json<any[]>('tasks', job).map((t) => [t.name, t.state]));
}

describe('if / then / else', () => {
  it('picks the then branch when the condition holds on the real result', () => {
    p.write('job.yaml', IF_JOB(9));
    expect(p.orrery('run', 'job.yaml').code).toBe(0);
    expect(states('cond')).toEqual({ search: 'succeeded', decide: 'succeeded', after_all: 'succeeded', report: 'succeeded' });
    expect(p.json('show', 'cond/decide').result).toMatchObject({ condition: true, branch: 'then' });
  });

  it('picks else otherwise, and tasks after the block wait for the branch', () => {
    p.write('job.yaml', IF_JOB(3));
    expect(p.orrery('run', 'job.yaml').code).toBe(0);
    expect(Object.keys(states('cond')).sort()).toEqual(['after_all', 'decide', 'deeper', 'search']);
    const tasks = p.json<any[]>('tasks', 'cond');
    const byName = Object.fromEntries(tasks.map((t) => [t.name, t]));
    expect(byName.after_all.startedAt).toBeGreaterThanOrEqual(byName.deeper.finishedAt);
  });

  it('fails the block with a clear message when the result it reads does not exist', () => {
    p.write('job.yaml', IF_JOB(9).replace('measure: { command: "', 'measure: { command: "true || '));
    expect(p.orrery('run', 'job.yaml').code).toBe(1);
    expect(p.json('show', 'cond/decide').error).toMatch(/reads tasks\.search, but no result of task search is available/);
    expect(states('cond').after_all).toBe('upstream_failed');
  });
});

describe('while', () => {
  const WHILE = (max: number, until: string) => `
name: loop
tasks:
  - while: "\${tasks.refine.result.residual > ${until}}"
    name: converge
    as: step
    max: ${max}
    tasks:
      - task: halve
        name: refine
        params: { residual: "\${1 / (4 ^ step)}" }
        outputs: { out: "r_\${step}.txt" }
  - { task: say, name: final, after: [converge] }
types:
  halve: { command: ${Q(`echo {params.residual} > {outputs.out}; ${RESULT('{"residual": {params.residual}}')}`)} }
  say: { command: "true" }
`;

  it('repeats while the condition holds on the last iteration, naming each iteration by its index', () => {
    p.write('job.yaml', WHILE(10, '0.01'));
    expect(p.orrery('run', 'job.yaml').code).toBe(0);
    const refine = p.json<any[]>('tasks', 'loop', '--type', 'halve').map((t) => t.name);
    expect(refine).toEqual(['refine_0', 'refine_1', 'refine_2', 'refine_3', 'refine_4']);
    expect(p.json('show', 'loop/converge#4').result).toMatchObject({ iteration: 4, condition: false, continue: false });
    expect(p.json<any[]>('files', 'loop').map((f) => f.path).sort()).toEqual(['r_0.txt', 'r_1.txt', 'r_2.txt', 'r_3.txt', 'r_4.txt']);
    expect(states('loop').final).toBe('succeeded');
  });

  it('stops at its maximum', () => {
    p.write('job.yaml', WHILE(3, '0'));
    expect(p.orrery('run', 'job.yaml').code).toBe(0);
    expect(p.json<any[]>('tasks', 'loop', '--type', 'halve')).toHaveLength(3);
    expect(p.json('show', 'loop/converge#2').result).toMatchObject({ iteration: 2, condition: true, continue: false, stopped: 'reached max: 3 iterations' });
  });
});

const EXPLORE = `
name: disc
tasks:
  - explore: region
    start: { x: 0.0, y: 0.0 }
    step: { x: 0.1, y: 0.1 }
    bounds: { x: [-1, 1], y: [-1, 1] }
    neighbours: axis
    neighbours_if: "\${tasks.probe.result.stable}"
    budget: 500
    tasks:
      - task: probe
        params: { x: "\${x}", y: "\${y}" }
        outputs: { out: "p_\${x_index}_\${y_index}.txt" }
  - { task: count, after: [region] }
types:
  probe: { command: "sleep 0.05; awk -v x={params.x} -v y={params.y} 'BEGIN { s = (x*x + y*y <= 0.0400001) ? \\"true\\" : \\"false\\"; printf \\"{\\\\\\"stable\\\\\\": %s}\\", s > ENVIRON[\\"ORRERY_RESULT\\"]; print x, y > \\"{outputs.out}\\" }'" }
  count: { command: "true" }
`;

/** The disc x² + y² ≤ 0.04 on a 0.1 grid: 13 points; with its one-step boundary, 25. */
function expectDisc(job: string) {
  const probes = p.json<any[]>('tasks', job, '--type', 'probe');
  const points = probes.map((t) => t.name).sort();
  expect(new Set(points).size).toBe(points.length);
  expect(points).toHaveLength(25);
  const stable = probes.filter((t) => t.result.stable).map((t) => t.name.replace('probe_', ''));
  expect(stable.sort()).toEqual(['-1_-1', '-1_0', '-1_1', '-2_0', '0_-1', '0_-2', '0_0', '0_1', '0_2', '1_-1', '1_0', '1_1', '2_0'].sort());
  for (const t of probes.filter((t) => !t.result.stable)) {
    const [i, j] = t.name.replace('probe_', '').split('_').map(Number);
    expect(i * i + j * j).toBeGreaterThan(4);
    // every visited unstable point is one step from a stable one
    expect(stable.some((s) => {
      const [a, b] = s.split('_').map(Number);
      return Math.abs(a - i) + Math.abs(b - j) === 1;
    })).toBe(true);
  }
}

describe('explore', () => {
  it('visits exactly the stable region and its one-step boundary, each point once', () => {
    p.write('job.yaml', EXPLORE);
    expect(p.orrery('run', 'job.yaml').code).toBe(0);
    expectDisc('disc');
    expect(states('disc').count).toBe('succeeded');
    const csv = p.orrery('results', 'disc', '--type', 'probe', '--format', 'csv').stdout.trim().split('\n');
    expect(csv[0]).toBe('task,type,state,params.x,params.y,result.stable');
    expect(csv).toHaveLength(26);
    expect(csv).toContain('probe_0_0,probe,succeeded,0,0,true');
  });

  it('stops at its budget of points', () => {
    p.write('job.yaml', EXPLORE.replace('budget: 500', 'budget: 7'));
    expect(p.orrery('run', 'job.yaml').code).toBe(0);
    expect(p.json<any[]>('tasks', 'disc', '--type', 'probe')).toHaveLength(7);
  });

  it('continues the same exploration after kill -9, without duplicates or gaps', async () => {
    // probes slow enough that each kill lands mid-job: polling `orrery status` takes a few
    // hundred milliseconds, and the job must not have ended before the second kill
    p.write('job.yaml', EXPLORE.replace('sleep 0.05', 'sleep 0.3'));
    for (const after of [6, 15]) {
      const run = p.start('run', 'job.yaml');
      for (let i = 0; i < 300; i++) {
        const r = p.orrery('status', '1', '--json');
        if (r.code === 0 && JSON.parse(r.stdout).counts.succeeded >= after) break;
        await sleep(50);
      }
      run.kill('SIGKILL');
      await new Promise((r) => run.once('exit', r));
    }
    const r = p.orrery('run', 'job.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/resuming job 1/);
    expectDisc('1');
    const db = new Database(path.join(p.dir, '.orrery', 'orrery.db'), { readonly: true });
    const succeeded = db.prepare("SELECT t.name, count(*) AS n FROM attempts a JOIN tasks t ON t.id = a.task_id WHERE a.state = 'succeeded' GROUP BY t.name HAVING n > 1").all();
    db.close();
    expect(succeeded).toEqual([]);
  }, 120_000);
});

describe('tasks that add tasks (ORRERY_SPAWN)', () => {
  const SPAWNER = (lines: string[]) => `
name: spawn
tasks:
  - { task: plan, outputs: { seed: seed.txt } }
  - { task: say, name: final, after: [plan] }
types:
  plan: { command: ${Q(`echo 5 > {outputs.seed}; printf '%s\\n' ${lines.map((l) => `'${l}'`).join(' ')} > $ORRERY_SPAWN`)} }
  fit: { command: ${Q(`cat {inputs.seed} > {outputs.out}; ${RESULT('{"k": {params.k}}')}`)} }
  say: { command: "true" }
`;

  it('adds the spawned tasks after the attempt succeeds, once each, before tasks waiting on the spawner', () => {
    const fit = (k: number) => `{"task": "fit", "params": {"k": ${k}}, "inputs": {"seed": "seed.txt"}, "outputs": {"out": "fit_${k}.txt"}}`;
    p.write('job.yaml', SPAWNER([fit(1), fit(2), fit(1)]));
    expect(p.orrery('run', 'job.yaml').code).toBe(0);
    const fits = p.json<any[]>('tasks', 'spawn', '--type', 'fit');
    expect(fits).toHaveLength(2);
    expect(fits.map((t) => t.result.k).sort()).toEqual([1, 2]);
    const byName = Object.fromEntries(p.json<any[]>('tasks', 'spawn').map((t) => [t.name, t]));
    expect(byName.final.startedAt).toBeGreaterThanOrEqual(Math.max(...fits.map((t) => t.finishedAt)));
  });

  it('fails the attempt with the validation error of an invalid spawn', () => {
    p.write('job.yaml', SPAWNER(['{"task": "nope"}']));
    expect(p.orrery('run', 'job.yaml').code).toBe(1);
    const error = p.json('show', 'spawn/plan').error;
    expect(error).toMatch(/ORRERY_SPAWN of task plan/);
    expect(error).toMatch(/unknown task type "nope"/);
    expect(p.json<any[]>('tasks', 'spawn')).toHaveLength(2);
  });

  it('refuses a spawned task reading a product nobody writes', () => {
    p.write('job.yaml', SPAWNER(['{"task": "fit", "params": {"k": 1}, "inputs": {"seed": "missing.txt"}, "outputs": {"out": "x.txt"}}']));
    expect(p.orrery('run', 'job.yaml').code).toBe(1);
    expect(p.json('show', 'spawn/plan').error).toMatch(/no task of the job writes product "missing\.txt"/);
  });
});

describe('validation of blocks at submission', () => {
  it('names the field inside a branch', () => {
    p.write('job.yaml', IF_JOB(9).replace('{ task: say, name: deeper, params: { msg: deeper } }', '{ task: say, name: deeper, parms: {} }'));
    const r = p.orrery('validate', 'job.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tasks\[1\]\.else\[0\]/);
    expect(r.stderr).toMatch(/parms/);
  });

  it('checks explore dimensions', () => {
    p.write('job.yaml', EXPLORE.replace('bounds: { x: [-1, 1], y: [-1, 1] }', 'bounds: { x: [-1, 1] }').replace('step: { x: 0.1, y: 0.1 }', 'step: { x: 0.1, z: 0.1 }'));
    const r = p.orrery('validate', 'job.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expected a value for dimension "y"/);
    expect(r.stderr).toMatch(/"z" is not a dimension of start/);
  });
});
