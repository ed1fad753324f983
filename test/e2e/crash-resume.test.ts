import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Project } from '../helpers/cli.js';

let p: Project;
beforeEach(() => (p = new Project('orrery-crash-')));
afterEach(() => p.remove());

const JOB = `
name: crashy
tasks:
  - for: i
    linear_range: [0, 15, 16]
    tasks:
      - task: work
        params: { i: "\${i}" }
        outputs: { out: "w_\${i_index}.txt" }
      - task: check
        inputs: { in: "w_\${i_index}.txt" }
        outputs: { out: "c_\${i_index}.txt" }
types:
  work: { command: "sleep 0.25; echo {params.i} > {outputs.out}" }
  check: { command: "sleep 0.1; cat {inputs.in} > {outputs.out}; echo checked >> {outputs.out}" }
`;

/** Attempt states per task id, read straight from the task database. */
function attemptsByTask(): Map<number, string[]> {
  const db = new Database(path.join(p.dir, '.orrery', 'orrery.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT task_id, state FROM attempts ORDER BY task_id, number').all() as Array<{ task_id: number; state: string }>;
    const out = new Map<number, string[]>();
    for (const row of rows) out.set(row.task_id, [...(out.get(row.task_id) ?? []), row.state]);
    return out;
  } finally {
    db.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForDone(atLeast: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const status = p.orrery('status', '1', '--json');
    if (status.code === 0) {
      const counts = JSON.parse(status.stdout).counts;
      if (counts.succeeded >= atLeast) return;
    }
    await sleep(50);
  }
  throw new Error(`job never reached ${atLeast} succeeded tasks`);
}

describe('kill -9 of orrery run', () => {
  it('resumes the same job without re-running completed tasks, losing or duplicating nothing', async () => {
    p.write('job.yaml', JOB);
    // attempts of each task that had finished when its run was killed: they must not grow
    const settled = new Map<number, number>();
    for (const threshold of [3, 12]) {
      const run = p.start('run', 'job.yaml', '--cores', '2');
      await waitForDone(threshold);
      run.kill('SIGKILL');
      await new Promise((r) => run.once('exit', r));
      const tasks = p.json<any[]>('tasks', '1');
      const attempts = attemptsByTask();
      for (const task of tasks.filter((t) => t.state === 'succeeded')) settled.set(task.id, attempts.get(task.id)!.length);
      expect(tasks.some((t) => t.state === 'running')).toBe(true);
    }

    expect(settled.size).toBeGreaterThanOrEqual(12);
    const final = p.orrery('run', 'job.yaml', '--cores', '2');
    expect(final.code).toBe(0);
    expect(final.stdout).toMatch(/resuming job 1/);

    const tasks = p.json<any[]>('tasks', '1');
    expect(tasks).toHaveLength(32);
    const all = attemptsByTask();
    expect([...all.values()].flat()).toContain('lost');
    for (const task of tasks) {
      expect(task.state).toBe('succeeded');
      const attempts = all.get(task.id)!;
      // exactly one attempt succeeded; the others (if any) were lost with the killed run
      expect(attempts.filter((a) => a === 'succeeded')).toHaveLength(1);
      expect(attempts.every((a) => a === 'succeeded' || a === 'lost')).toBe(true);
      if (settled.has(task.id)) expect(attempts).toHaveLength(settled.get(task.id)!);
    }
    const products = p.json<any[]>('files', '1');
    expect(products).toHaveLength(32);
    expect(products.every((f) => f.versions === 1)).toBe(true);
    p.orrery('export', '1', 'out');
    for (let i = 0; i < 16; i++) expect(p.read(`out/c_${i}.txt`)).toBe(`${i}\nchecked\n`);
    // the scratch directories of the killed attempts (half-written outputs) are gone too
    // (`.spare` holds empty directories kept for reuse)
    const fs = await import('node:fs');
    expect(fs.readdirSync(path.join(p.dir, '.orrery', 'scratch')).filter((name) => name !== '.spare')).toEqual([]);
  }, 120_000);

  it('kills the processes a killed run left behind, so only one attempt ever writes', async () => {
    const marks = p.dir;
    p.write('job.yaml', `name: orphan\ntasks: [ { task: slow, outputs: { out: o.txt } } ]\ntypes:\n  slow: { command: "sleep 3; touch ${marks}/ran_$ORRERY_ATTEMPT; echo done > {outputs.out}" }\n`);
    const run = p.start('run', 'job.yaml');
    // wait until the attempt's process exists (its pid is in the task database)
    for (let i = 0; i < 1000; i++) {
      try {
        const db = new Database(path.join(p.dir, '.orrery', 'orrery.db'), { readonly: true });
        const row = db.prepare('SELECT pid FROM attempts WHERE pid IS NOT NULL').get();
        db.close();
        if (row) break;
      } catch {
        // not created yet
      }
      await sleep(20);
    }
    run.kill('SIGKILL');
    await new Promise((r) => run.once('exit', r));
    const resumed = p.orrery('run', 'job.yaml');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/1 task\(s\) left running by an earlier run were queued again/);
    await sleep(1000);
    const fs = await import('node:fs');
    expect(fs.existsSync(path.join(marks, 'ran_2'))).toBe(true);
    expect(fs.existsSync(path.join(marks, 'ran_1'))).toBe(false);
  }, 60_000);

  it('removes a scratch directory a killed run left after recording its task done', async () => {
    // a run killed between recording a success and emptying the task's scratch directory
    // leaves the directory behind, its attempt not lost: the next run removes it too
    p.write('job.yaml', `name: leftover\ntasks: [ { task: t, outputs: { out: o.txt } } ]\ntypes:\n  t: { command: "echo done > {outputs.out}" }\n`);
    expect(p.orrery('run', 'job.yaml').code).toBe(0);
    const fs = await import('node:fs');
    const left = path.join(p.dir, '.orrery', 'scratch', '1-0123456789abcdef01234567');
    fs.mkdirSync(path.join(left, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(left, 'sub', 'half-written.txt'), 'x');
    expect(p.orrery('run', 'job.yaml').code).toBe(0);
    expect(fs.existsSync(left)).toBe(false);
  });
});
