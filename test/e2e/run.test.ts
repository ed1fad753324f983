import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ORRERY, Project } from '../helpers/cli.js';

let p: Project;
beforeEach(() => (p = new Project()));
afterEach(() => p.remove());

const pipeline = (scale = 2) => `
name: chain
tasks:
  - for: x
    values: [1, 2, 3]
    tasks:
      - task: make
        params: { n: "\${x * ${scale}}" }
        outputs: { out: "raw/n_\${x_index}.txt" }
      - task: square
        inputs: { src: "raw/n_\${x_index}.txt" }
        outputs: { out: "sq_\${x_index}.txt" }
  - task: total
    after: ["square_*"]
    outputs: { sum: total.txt }
types:
  make: { command: "echo {params.n} > {outputs.out}" }
  square: { command: 'v=$(cat {inputs.src}); echo $((v * v)) > {outputs.out}; echo "{\\"square\\": $((v * v))}" > "$ORRERY_RESULT"' }
  total: { command: "node -e \\"const t = require(process.env.ORRERY_TASK); const s = Object.values(t.results_of).reduce((a, r) => a + r.square, 0); require('fs').writeFileSync(t.outputs.sum, s + '\\\\n')\\"" }
`;

describe('orrery run', () => {
  it('runs a file-linked pipeline and ends with one JSON object', () => {
    p.write('job.yaml', pipeline());
    const result = p.json('run', 'job.yaml');
    expect(result).toMatchObject({ job: 1, state: 'succeeded', total: 7 });
    expect(result.counts.succeeded).toBe(7);
    expect(typeof result.wall_seconds).toBe('number');
    expect(p.orrery('export', 'chain', 'out').code).toBe(0);
    expect(p.read('out/total.txt').trim()).toBe(String(4 + 16 + 36));
    expect(p.read('out/raw/n_2.txt').trim()).toBe('6');
  });

  it('re-runs nothing the second time, and only what a changed parameter affects', () => {
    p.write('job.yaml', pipeline());
    expect(p.orrery('run', 'job.yaml').code).toBe(0);
    const again = p.json('run', 'job.yaml');
    expect(again.counts).toMatchObject({ cached: 7, succeeded: 0 });
    // change the scale: every make/square/total changes
    p.write('job.yaml', pipeline(3).replace('values: [1, 2, 3]', 'values: [1, 2, 4]').replace('${x * 3}', '${x * 2}'));
    const changed = p.json('run', 'job.yaml');
    // only x=4 (make_2, square_2) and the total downstream of it re-run
    expect(changed.counts).toMatchObject({ cached: 4, succeeded: 3 });
    const tasks = p.json<any[]>('tasks', String(changed.job), '--state', 'succeeded').map((t) => t.name);
    expect(tasks.sort()).toEqual(['make_2', 'square_2', 'total']);
    expect(p.json('run', 'job.yaml', '--no-cache').counts.succeeded).toBe(7);
  });

  it('gives the task protocol to the code: ORRERY_TASK, variables, placeholders, results', () => {
    p.write('data/in.csv', 'a,b\n1,2\n');
    p.write(
      'job.yaml',
      `
name: proto
inputs: { "ext/in.csv": data/in.csv }
tasks:
  - task: probe
    params: { alpha: 0.5, label: "two words", nested: { k: [1, 2] } }
    inputs: { table: ext/in.csv }
    outputs: { report: out/report.json }
types:
  probe:
    command: >-
      node -e "const fs=require('fs'); const t=JSON.parse(fs.readFileSync(process.env.ORRERY_TASK,'utf8'));
      fs.writeFileSync(t.outputs.report, JSON.stringify({ task: t, argv: process.argv.slice(1), env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('ORRERY_'))), table: fs.readFileSync(t.inputs.table, 'utf8'), cwd: process.cwd() }));
      fs.writeFileSync(process.env.ORRERY_RESULT, JSON.stringify({ rows: 1 }))" {params.label} {inputs.table} {params.alpha}
`,
    );
    expect(p.orrery('run', 'job.yaml').code).toBe(0);
    p.orrery('export', 'proto', 'out');
    const report = JSON.parse(p.read('out/out/report.json'));
    expect(report.task).toMatchObject({ job: 'proto', task: 'probe', attempt: 1, params: { alpha: 0.5, label: 'two words', nested: { k: [1, 2] } }, inputs: { table: 'ext/in.csv' }, outputs: { report: 'out/report.json' } });
    expect(report.argv).toEqual(['two words', 'ext/in.csv', '0.5']);
    expect(report.env).toMatchObject({ ORRERY_PARAM_ALPHA: '0.5', ORRERY_PARAM_LABEL: 'two words', ORRERY_PARAM_NESTED: '{"k":[1,2]}', ORRERY_INPUT_TABLE: 'ext/in.csv', ORRERY_OUTPUT_REPORT: 'out/report.json', ORRERY_JOB: 'proto', ORRERY_ATTEMPT: '1' });
    expect(report.table).toBe('a,b\n1,2\n');
    expect(report.cwd).not.toBe(p.dir);
    expect(p.json('show', 'proto/probe').result).toEqual({ rows: 1 });
  });

  it('fails an attempt whose declared output is missing or whose result is not JSON', () => {
    p.write(
      'job.yaml',
      `
name: protocol-errors
tasks:
  - { task: lazy, outputs: { out: never.txt } }
  - { task: garbled }
types:
  lazy: { command: "echo done" }
  garbled: { command: "echo '[1, 2' > $ORRERY_RESULT" }
`,
    );
    expect(p.orrery('run', 'job.yaml').code).toBe(1);
    expect(p.json('show', 'protocol-errors/lazy').error).toMatch(/did not write its declared output out \(never\.txt\)/);
    expect(p.json('show', 'protocol-errors/garbled').error).toMatch(/ORRERY_RESULT is not valid JSON/);
  });

  it('marks the downstream of a failed task upstream_failed and lets other branches finish', () => {
    p.write(
      'job.yaml',
      `
name: branches
tasks:
  - { task: crash, outputs: { out: a.txt } }
  - { task: use, name: use_a, inputs: { in: a.txt }, outputs: { out: b.txt } }
  - { task: use, name: use_b, inputs: { in: b.txt } }
  - { task: slow, outputs: { out: c.txt } }
types:
  crash: { command: "echo working; python3 -c 'raise SystemExit(\\"science broke\\")' 2>/dev/null || { echo 'Traceback: ValueError: science broke' >&2; exit 4; }", retries: 2, backoff: 20ms }
  use: { command: "cp {inputs.in} {outputs.out} 2>/dev/null || true" }
  slow: { command: "sleep 0.3; echo ok > {outputs.out}" }
`,
    );
    const r = p.orrery('run', 'job.yaml');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/failed: crash/);
    const byName = Object.fromEntries(p.json<any[]>('tasks', 'branches').map((t) => [t.name, t]));
    expect(byName.crash.state).toBe('failed');
    expect(byName.crash.attempts).toBe(3);
    expect(byName.use_a.state).toBe('upstream_failed');
    expect(byName.use_b.state).toBe('upstream_failed');
    expect(byName.slow.state).toBe('succeeded');
    expect(p.json('show', 'branches/crash').attempts).toHaveLength(3);
  });

  it('stops everything at the first failure with --fail-fast', () => {
    p.write(
      'job.yaml',
      `
name: ff
tasks:
  - { task: crash }
  - for: i
    values: [1, 2, 3, 4, 5, 6]
    tasks: [ { task: slow } ]
types:
  crash: { command: "exit 1" }
  slow: { command: "sleep 1", cpu: 1 }
`,
    );
    const r = p.json('run', 'job.yaml', '--fail-fast', '--cores', '2');
    expect(r.state).toBe('failed');
    expect(r.counts.failed).toBe(1);
    expect(r.counts.cancelled).toBeGreaterThanOrEqual(4);
  });

  it('retries failed tasks with `orrery retry` and finishes them with `orrery run JOB`', () => {
    p.write(
      'job.yaml',
      `
name: flaky
tasks:
  - { task: flaky, outputs: { out: a.txt } }
  - { task: after, inputs: { in: a.txt } }
types:
  flaky: { command: "test -f ${path.join(p.dir, 'fixed')} && echo ok > {outputs.out}" }
  after: { command: "cat {inputs.in}" }
`,
    );
    expect(p.orrery('run', 'job.yaml').code).toBe(1);
    fs.writeFileSync(path.join(p.dir, 'fixed'), '');
    const retry = p.json('retry', 'flaky');
    expect(retry.requeued).toBe(2);
    const r = p.json('run', '1');
    expect(r).toMatchObject({ job: 1, state: 'succeeded' });
    expect(r.counts.succeeded).toBe(2);
    expect(p.json('show', 'flaky/flaky').attempts.map((a: any) => a.state)).toEqual(['failed', 'succeeded']);
  });

  it('kills a task at its timeout', () => {
    p.write('job.yaml', `name: slow\ntasks: [ { task: sleepy } ]\ntypes:\n  sleepy: { command: "sleep 20", timeout: 300ms }\n`);
    const started = Date.now();
    expect(p.orrery('run', 'job.yaml').code).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(p.json('show', 'slow/sleepy').error).toMatch(/timed out after 300 ms/);
  });

  /**
   * Exports the job's products — each "cpu start end" of one task, times in nanoseconds —
   * and returns the most cores held at once: at each task's start, by the tasks running then.
   */
  function mostCoresAtOnce(job: string): number {
    expect(p.orrery('export', job, 'out').code).toBe(0);
    const spans = fs.readdirSync(path.join(p.dir, 'out')).map((name) => p.read(`out/${name}`).trim().split(' ').map(BigInt));
    const held = (start: bigint) => spans.filter(([, s, e]) => s <= start && start < e).reduce((sum, [cpu]) => sum + Number(cpu), 0);
    return Math.max(...spans.map(([, start]) => held(start)));
  }

  /**
   * A job of one-core `narrow` and two-core `wide` tasks over the given loops, each task
   * recording "cpu start end" of its command, with `work` run between the two times.
   */
  function writeSpanJob(name: string, narrowLoop: string, wideLoop: string, work: string): void {
    const type = (cpu: number) => `{ command: "s=$(date +%s%N); ${work}echo ${cpu} $s $(date +%s%N) > {outputs.span}", cpu: ${cpu} }`;
    p.write(
      'job.yaml',
      `name: ${name}
tasks:
  - for: i
    ${narrowLoop}
    tasks: [ { task: narrow, params: { i: "\${i}" }, outputs: { span: "narrow_\${i}.txt" } } ]
  - for: i
    ${wideLoop}
    tasks: [ { task: wide, params: { i: "\${i}" }, outputs: { span: "wide_\${i}.txt" } } ]
types:
  narrow: ${type(1)}
  wide: ${type(2)}
`,
    );
  }

  it('never runs more cores of tasks at once than it was given, though it stages the next task early', () => {
    writeSpanJob('cores', 'values: [0, 1, 2, 3, 4, 5]', 'values: [0, 1]', 'sleep 0.2; ');
    expect(p.json('run', 'job.yaml', '--cores', '2').counts.succeeded).toBe(8);
    expect(mostCoresAtOnce('cores')).toBeLessThanOrEqual(2);
  });

  it('never runs more cores of tasks at once than it was given while short tasks follow one another', () => {
    // short tasks end fast enough that each next one is handed the cores of one ending
    // (worker-pool.ts); `wide` ones need both cores and wait for them
    writeSpanJob('relay', 'linear_range: [0, 299, 300]', 'values: [0, 1, 2, 3, 4]', '');
    expect(p.json('run', 'job.yaml', '--cores', '2').counts.succeeded).toBe(305);
    expect(mostCoresAtOnce('relay')).toBeLessThanOrEqual(2);
  });

  it('refuses a task that needs more memory than the machine has, with a clear error', () => {
    p.write('job.yaml', `name: big\ntasks: [ { task: huge } ]\ntypes:\n  huge: { command: "true", memory: 100Ti }\n`);
    expect(p.orrery('run', 'job.yaml').code).toBe(1);
    expect(p.json('show', 'big/huge').error).toMatch(/needs 100\.0 TiB of memory but this worker pool has/);
  });

  it('cancels a job', () => {
    p.write('job.yaml', `name: c\ntasks: [ { task: a, outputs: { o: a.txt } }, { task: b, inputs: { i: a.txt } } ]\ntypes:\n  a: { command: "exit 1" }\n  b: { command: "true" }\n`);
    p.orrery('run', 'job.yaml');
    p.orrery('retry', 'c');
    const cancelled = p.json('cancel', 'c');
    expect(cancelled).toMatchObject({ cancelled: 2, state: 'cancelled' });
    expect(p.json('status', 'c').counts.cancelled).toBe(2);
  });

  it('prints one line per event when not on a terminal, and the report product at the end', () => {
    p.write('job.yaml', pipeline().replace('name: chain', 'name: chain\nreport: total.txt'));
    const r = p.orrery('run', 'job.yaml');
    expect(r.stdout).toMatch(/started\s+make_0 \(attempt 1\)/);
    expect(r.stdout).toMatch(/succeeded\s+square_2/);
    expect(r.stdout.trim().endsWith('56')).toBe(true);
  });

  it('draws a live panel with per-type progress bars on a terminal', () => {
    p.write('job.yaml', pipeline().replace("make: { command: \"", "make: { command: \"sleep 0.4; "));
    // `script` gives orrery a pseudo-terminal, as a person's shell would
    const r = spawnSync('script', ['-qec', `${process.execPath} ${ORRERY} run job.yaml`, '/dev/null'], { cwd: p.dir, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('\x1b[J');
    expect(r.stdout).toMatch(/square\s+\[[#.x]{30}\] \d\/3/);
    expect(r.stdout).toMatch(/\[#{30}\] 3\/3/);
    expect(r.stdout).toMatch(/job 1 chain: .*succeeded/);
  });

  it('shows logs, attempts and timings', () => {
    p.write('job.yaml', `name: l\ntasks: [ { task: talk } ]\ntypes:\n  talk: { command: "echo out line; echo '<b>err</b>' >&2" }\n`);
    p.orrery('run', 'job.yaml');
    expect(p.orrery('logs', 'l/talk').stdout).toBe('out line\n<b>err</b>\n');
    const shown = p.json('show', 'l/talk');
    expect(shown.attempts[0]).toMatchObject({ number: 1, state: 'succeeded', exitCode: 0 });
    expect(shown.attempts[0].wallMs).toBeGreaterThanOrEqual(0);
    const logs = p.json('logs', 'l/talk');
    expect(logs.lines.map((l: any) => l.stream)).toEqual(['stdout', 'stderr']);
  });
});

describe('bad input', () => {
  it('exits 2 naming the file and field, and writes nothing to the database', () => {
    p.write('job.yaml', `name: bad\ntasks:\n  - task: nope\n`);
    const r = p.orrery('run', 'job.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/job\.yaml/);
    expect(r.stderr).toMatch(/tasks\[0\]\.task/);
    const status = p.orrery('status', '--json');
    // either no database at all, or one without jobs
    if (status.code === 0) expect(JSON.parse(status.stdout)).toEqual([]);
    else expect(status.code).toBe(2);
  });

  it('takes external inputs from the command line, and names a missing one', () => {
    p.write('job.yaml', `name: ext\ntasks: [ { task: count, inputs: { data: raw/d.txt }, outputs: { n: n.txt } } ]\ntypes: { count: { command: "wc -l < {inputs.data} > {outputs.n}" } }\n`);
    const missing = p.orrery('run', 'job.yaml', '--input', 'raw/d.txt=nope.txt');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.txt/);
    p.write('d.txt', 'a\nb\nc\n');
    expect(p.orrery('run', 'job.yaml', '--input', 'raw/d.txt=d.txt').code).toBe(0);
    p.orrery('export', 'ext', 'out');
    expect(p.read('out/n.txt').trim()).toBe('3');
    expect(p.json<any[]>('files', 'ext').find((f) => f.path === 'raw/d.txt').producer).toBeNull();
  });

  it('exits 2 for an unknown job or task', () => {
    p.write('job.yaml', `name: ok\ntasks: [ { task: t } ]\ntypes: { t: { command: "true" } }\n`);
    p.orrery('run', 'job.yaml');
    expect(p.orrery('show', 'ok/nothing').code).toBe(2);
    expect(p.orrery('status', 'missing').code).toBe(2);
    expect(p.orrery('tasks', 'ok', '--state', 'bogus').code).toBe(2);
  });
});
