import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cluster, exited, sleep } from '../helpers/cluster.js';
import { databaseKinds, freshDatabase, type TestDatabase } from '../helpers/databases.js';

const servers = databaseKinds.filter((k) => k !== 'sqlite');

const PIPELINE = `
name: grid
tasks:
  - for: x
    values: [1, 2, 3, 4, 5, 6]
    tasks:
      - task: make
        params: { x: "\${x}" }
        outputs: { out: "m_\${x_index}.txt" }
      - task: square
        inputs: { in: "m_\${x_index}.txt" }
        outputs: { out: "s_\${x_index}.txt" }
  - task: total
    after: ["square_*"]
    outputs: { sum: total.txt }
types:
  make: { command: "echo {params.x} > {outputs.out}" }
  square: { command: 'v=$(cat {inputs.in}); echo $((v * v)) > {outputs.out}; echo "{\\"sq\\": $((v * v))}" > $ORRERY_RESULT' }
  total: { command: "node -e \\"const t=require(process.env.ORRERY_TASK); const s=Object.values(t.results_of).reduce((a,r)=>a+r.sq,0); require('fs').writeFileSync(t.outputs.sum, String(s)); require('fs').writeFileSync(process.env.ORRERY_RESULT, JSON.stringify({sum:s}))\\"" }
`;

const SLOW = (seconds: number) => `name: slow\ntasks: [ { task: slow, outputs: { out: o.txt } } ]\ntypes:\n  slow: { command: "sleep ${seconds}; echo done > {outputs.out}" }\n`;

describe.each(servers)('distributed mode on %s', (kind) => {
  let database: TestDatabase;
  let cluster: Cluster;
  beforeEach(async () => {
    database = await freshDatabase(kind);
    cluster = new Cluster(database.url);
  });
  afterEach(async () => {
    await cluster.stop();
    await database.drop();
  });

  it('runs a job submitted from anywhere on workers, with the same results as embedded mode', async () => {
    cluster.write('job.yaml', PIPELINE);
    const submitted = cluster.json('submit', 'job.yaml');
    expect(submitted).toMatchObject({ job: 1, name: 'grid', tasks: 13 });
    cluster.server();
    cluster.worker('--concurrency', '2');
    cluster.worker('--concurrency', '2');
    const status = await cluster.waitForJob(1);
    expect(status.state).toBe('succeeded');
    expect(status.counts.succeeded).toBe(13);
    const distributed = cluster.json('show', 'grid/total').result;
    // the same job, embedded, in a state directory of its own
    const embedded = cluster.orrery('run', 'job.yaml', '--db', `${cluster.dir}/embedded.db`, '--store', `${cluster.dir}/embedded-files`, '--json');
    expect(JSON.parse(embedded.stdout).state).toBe('succeeded');
    const local = cluster.json('show', 'grid/total', '--db', `${cluster.dir}/embedded.db`).result;
    expect(distributed).toEqual({ sum: 91 });
    expect(local).toEqual(distributed);
  });

  it('re-queues the task of a SIGKILLed worker when its lease expires, as a lost attempt', async () => {
    // long enough that the worker is surely killed mid-task, however slow `orrery show` is here
    cluster.write('job.yaml', SLOW(4));
    cluster.server('--lease', '1500ms');
    const doomed = cluster.worker('--lease', '1500ms');
    cluster.json('submit', 'job.yaml');
    await cluster.waitFor('the task to start', () => cluster.json('show', '1/slow').attempts.length === 1);
    doomed.kill('SIGKILL');
    const killedAt = Date.now();
    cluster.worker('--lease', '1500ms');
    const status = await cluster.waitForJob(1);
    expect(status.state).toBe('succeeded');
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    const attempts = cluster.json('show', 'slow/slow').attempts;
    expect(attempts.map((a: any) => a.state)).toEqual(['lost', 'succeeded']);
    expect(attempts[0].error).toMatch(/lease expired/);
    expect(cluster.json('show', 'slow/slow').attempts.length).toBe(2);
    expect(cluster.json<any[]>('workers', '--all').find((w) => w.state === 'lost')).toBeDefined();
  });

  it('drains on SIGTERM: a task that outlives the grace period goes back to the queue at once', async () => {
    cluster.write('job.yaml', SLOW(20));
    cluster.server('--lease', '30s');
    const worker = cluster.worker('--grace', '300ms');
    cluster.json('submit', 'job.yaml');
    await cluster.waitFor('the task to start', () => cluster.json('show', '1/slow').attempts.length === 1);
    worker.kill('SIGTERM');
    expect(await exited(worker)).toBe(0);
    // queued again at once, long before the 30 s lease would have expired
    const task = cluster.json('show', 'slow/slow');
    expect(task.state).toBe('queued');
    expect(task.attempts[0].state).toBe('lost');
    expect(task.attempts[0].error).toMatch(/stopped \(SIGTERM\)/);
    expect(task.attempts).toHaveLength(1);
  });

  it('lets a draining worker finish its task within the grace period', async () => {
    cluster.write('job.yaml', SLOW(1));
    cluster.server();
    const worker = cluster.worker('--grace', '20s');
    cluster.json('submit', 'job.yaml');
    await cluster.waitFor('the task to start', () => cluster.json('show', '1/slow').attempts.length === 1);
    worker.kill('SIGTERM');
    expect(await exited(worker)).toBe(0);
    expect(cluster.json('show', 'slow/slow').state).toBe('succeeded');
  });

  it('pauses claiming with `orrery drain` and carries on with `orrery resume`; lists workers', async () => {
    cluster.write('job.yaml', PIPELINE);
    cluster.server();
    expect(cluster.json('drain')).toEqual({ pool: '*', paused: true });
    cluster.worker();
    cluster.json('submit', 'job.yaml');
    await cluster.waitFor('the worker to register', () => cluster.json<any[]>('workers').length === 1);
    await sleep(1500);
    expect(cluster.json('status', '1').counts.succeeded).toBe(0);
    const [worker] = cluster.json<any[]>('workers');
    expect(worker).toMatchObject({ state: 'active', pool: null });
    expect(worker.host).toBeTruthy();
    cluster.json('resume');
    expect((await cluster.waitForJob(1)).state).toBe('succeeded');
  });

  it('serves only its pool and types, and exits when idle', async () => {
    cluster.write(
      'job.yaml',
      `name: pools\ntasks: [ { task: a }, { task: b } ]\npools: {}\ntypes:\n  a: { command: "true" }\n  b: { command: "true" }\n`.replace('pools: {}\n', ''),
    );
    cluster.server();
    cluster.json('submit', 'job.yaml');
    const onlyA = cluster.worker('--types', 'a', '--exit-when-idle', '1s');
    expect(await exited(onlyA)).toBe(0);
    const tasks = Object.fromEntries(cluster.json<any[]>('tasks', '1').map((t) => [t.name, t.state]));
    expect(tasks).toEqual({ a: 'succeeded', b: 'queued' });
  });

  it('never lets a worker that lost its lease overwrite the winner', async () => {
    cluster.write('job.yaml', `name: race\ntasks: [ { task: slow, outputs: { out: o.txt } } ]\ntypes:\n  slow: { command: "sleep 2; echo attempt $ORRERY_ATTEMPT > {outputs.out}" }\n`);
    cluster.server('--lease', '1s');
    const frozen = cluster.worker('--lease', '1s');
    cluster.json('submit', 'job.yaml');
    await cluster.waitFor('the task to start', () => cluster.json('show', '1/slow').attempts.length === 1);
    frozen.kill('SIGSTOP'); // no heartbeats: its lease expires while its command keeps running
    cluster.worker('--lease', '1s');
    const status = await cluster.waitForJob(1);
    frozen.kill('SIGCONT');
    await sleep(3000);
    expect(status.state).toBe('succeeded');
    const files = cluster.json<any[]>('files', '1');
    expect(files).toHaveLength(1);
    expect(files[0].versions).toBe(1);
    cluster.orrery('export', '1', 'out');
    const fs = await import('node:fs');
    expect(fs.readFileSync(`${cluster.dir}/out/o.txt`, 'utf8')).toBe('attempt 2\n');
    expect(cluster.json('show', 'race/slow').attempts.map((a: any) => a.state)).toEqual(['lost', 'succeeded']);
  });

  it('explores with several workers, each point once', async () => {
    cluster.write(
      'job.yaml',
      `
name: disc
tasks:
  - explore: region
    start: { x: 0, y: 0 }
    step: { x: 1, y: 1 }
    bounds: { x: [-5, 5], y: [-5, 5] }
    neighbours: diagonal
    neighbours_if: "\${tasks.probe.result.stable}"
    tasks:
      - task: probe
        params: { x: "\${x}", y: "\${y}" }
types:
  probe: { command: ${JSON.stringify(`if [ $(( {params.x}*{params.x} + {params.y}*{params.y} )) -le 2 ]; then v=true; else v=false; fi; printf '{"stable": %s}' $v > $ORRERY_RESULT`)} }
`,
    );
    cluster.json('submit', 'job.yaml');
    cluster.server();
    cluster.worker('--concurrency', '3');
    cluster.worker('--concurrency', '3');
    const status = await cluster.waitForJob(1);
    if (status.state !== 'succeeded') throw new Error(JSON.stringify(cluster.json<any[]>('tasks', '1', '--state', 'failed').map((t) => [t.name, t.error])));
    const probes = cluster.json<any[]>('tasks', '1', '--type', 'probe');
    // stable: the 9 points with x² + y² ≤ 2; visited: those and their diagonal neighbours, a 5×5 square
    expect(probes).toHaveLength(25);
    expect(probes.filter((t) => t.result.stable)).toHaveLength(9);
  });

  it.runIf(kind === 'postgres')('keeps an idle worker off the database while notifications arrive, and still wakes it at once', async () => {
    cluster.write('job.yaml', PIPELINE);
    cluster.server();
    cluster.worker();
    await cluster.waitFor('the worker to register', () => cluster.json<any[]>('workers').length === 1);
    const commits = async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query('SELECT xact_commit::int AS n FROM pg_stat_database WHERE datname = current_database()');
        return rows[0].n as number;
      } finally {
        await client.end();
      }
    };
    const before = await commits();
    await sleep(3000);
    // heartbeats and the server's reaper write a few times a second; a worker looking for
    // work every 100 ms would add 20
    expect(((await commits()) - before) / 3).toBeLessThan(10);
    cluster.json('submit', 'job.yaml');
    expect((await cluster.waitForJob(1)).state).toBe('succeeded');
    // woken by the submission's notification, not by its next look (5 s later at most)
    const first = cluster.json('show', 'grid/make_0');
    expect(first.startedAt - first.queuedAt).toBeLessThan(2500);
  });

  it('says in one line, with exit code 3, that the database cannot be used — without the password', () => {
    const bad = database.url.replace(/:\/\/([^:]+):[^@]+@/, '://$1:wrong-secret@');
    const r = cluster.orrery('status', '--db', bad);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/\*\*\*@/);
    expect(r.stderr).not.toMatch(/wrong-secret/);
    const unreachable = cluster.orrery('status', '--db', database.url.replace(/@[^/]+\//, '@127.0.0.1:1/'));
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/cannot use the task database/);
  });
});
