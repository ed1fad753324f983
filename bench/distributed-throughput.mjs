// Distributed benchmark 1 — claim/complete throughput of no-op jobs on one PostgreSQL:
// Orrery's task database (the Store API of dist/, no process spawned per task) side by side
// with graphile-worker and pg-boss, in the same shape: P worker processes × C consumers
// each, one job at a time per consumer. Then, for context, end-to-end `orrery worker`
// throughput on `true` tasks (a process spawned per task).
//
// Each system gets its own fresh database with N jobs queued before its workers start;
// workers connect and prepare, then all start at a signal; the parent counts finished jobs
// in the database every 50 ms. Throughput is the steady rate between 5% and 95% of the
// queue done (so connecting and the last stragglers do not count), or up to the time cap.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, fmt, freshDir, say, sleep, startCluster, submitJobFile, table, tempDatabase, withPg, writeJob } from './distributed-common.mjs';

const CHILD = path.join(BENCH_DIR, 'distributed-queue-child.mjs');

function noopJob(dir, n, command = 'true') {
  return writeJob(
    dir,
    `name: noop\ntasks:\n  - for: i\n    linear_range: [0, ${n - 1}, ${n}]\n    tasks:\n      - task: noop\n        params: { i: "\${i_index}" }\n`,
    `types:\n  noop: { command: "${command}", cpu: 1 }\n`,
  );
}

/** Submits a job of n independent no-op tasks to the Orrery task database at `url`. */
export function submitNoop(url, dir, n, command = 'true') {
  return submitJobFile(url, noopJob(dir, n, command), path.join(dir, 'files'));
}

/** Queues n no-op jobs for `system` in the database at `url`; returns a counter of finished ones. */
async function prepare(system, url, dir, n) {
  if (system === 'orrery') {
    await submitNoop(url, dir, n);
    return (client) => client.query("SELECT count(*)::int AS n FROM tasks WHERE state = 'succeeded'").then((r) => r.rows[0].n);
  }
  if (system === 'graphile-worker') {
    const { runMigrations, Logger } = await import('graphile-worker');
    await runMigrations({ connectionString: url, logger: new Logger(() => () => {}) });
    await withPg(url, (c) => c.query(`SELECT graphile_worker.add_job('noop', json_build_object('i', i)) FROM generate_series(1, ${n}) i`));
    // graphile-worker deletes a job when it completes
    return (client) => client.query('SELECT count(*)::int AS n FROM graphile_worker._private_jobs').then((r) => n - r.rows[0].n);
  }
  const { default: PgBoss } = await import('pg-boss');
  const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue('noop');
  for (let i = 0; i < n; i += 1000) await boss.insert(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ name: 'noop', data: { i: i + k } })));
  await boss.stop({ graceful: false, wait: true });
  return (client) => client.query("SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'noop' AND state = 'completed'").then((r) => r.rows[0].n);
}

/**
 * Follows `count` (finished jobs) every 50 ms from t=0 until all n are done or capSeconds
 * pass. Returns { done, seconds, steadyRate }: steadyRate = jobs finished per second
 * between the first look at ≥5% and the first at ≥95% (or the last look).
 */
async function follow(client, count, n, capSeconds, started) {
  const marks = [];
  let done = 0;
  while (done < n && performance.now() - started < capSeconds * 1000) {
    await sleep(50);
    done = await count(client);
    marks.push([performance.now() - started, done]);
  }
  const seconds = (performance.now() - started) / 1000;
  const low = marks.find((m) => m[1] >= 0.05 * n) ?? marks[0];
  const high = marks.find((m) => m[1] >= 0.95 * n) ?? marks.at(-1);
  const steadyRate = high[0] > low[0] ? ((high[1] - low[1]) * 1000) / (high[0] - low[0]) : done / seconds;
  return { done, seconds, steadyRate, capped: done < n };
}

/**
 * What the database server spends on one benchmark database: the CPU time of its backends
 * (from /proc, so only when PostgreSQL runs on this machine; null otherwise) and the WAL
 * written (server-wide: anything else writing to the server at the same time counts too).
 * `start()` takes the first look, `stop()` the second and returns { cpuMs, walBytes }.
 */
function serverCost(client, dbName) {
  const backendCpu = async () => {
    const { rows } = await client.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
    const cpu = new Map();
    for (const { pid } of rows) {
      let stat;
      try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue; // ended since, or not a process of this machine
      }
      // utime and stime, fields 14 and 15, in clock ticks (after the command name in parentheses)
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      cpu.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS);
    }
    return rows.length > 0 && cpu.size === 0 ? null : cpu;
  };
  const lsn = async () => (await client.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0].lsn;
  let first = null;
  return {
    async start() {
      first = { cpu: await backendCpu(), lsn: await lsn() };
    },
    async stop() {
      const cpu = await backendCpu();
      const { rows } = await client.query('SELECT pg_wal_lsn_diff($1, $2)::float8 AS bytes', [await lsn(), first.lsn]);
      // a backend that connected after the first look counts from zero; one that ended in between is missed
      const cpuMs = cpu && first.cpu ? [...cpu].reduce((sum, [pid, ms]) => sum + ms - (first.cpu.get(pid) ?? 0), 0) : null;
      return { cpuMs, walBytes: rows[0].bytes };
    },
  };
}

/** Linux's USER_HZ: /proc reports CPU times in these ticks. */
const CLOCK_TICKS = 100;

/** One system: fresh database, n jobs, `procs` forked workers of `concurrency` consumers. */
async function queueRun({ system, variant = 'default', adminUrl, n, procs, concurrency, capSeconds }) {
  const db = await tempDatabase(adminUrl, `tp_${system.replace(/-/g, '')}`);
  const children = [];
  try {
    const dir = freshDir(`throughput-${system}-${variant}`);
    const count = await prepare(system, db.url, dir, n);
    for (let i = 0; i < procs; i++) {
      const child = fork(CHILD, [system, db.url, String(concurrency), variant], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push({ child, messages: [] });
      child.on('message', (m) => children[i].messages.push(m));
    }
    const waitFor = (c, type) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = c.messages.find((x) => x.type === type || x.type === 'failed');
          if (m?.type === 'failed') reject(new Error(`${system} worker failed: ${m.message}`));
          else if (m) resolve(m);
          else setTimeout(check, 10);
        };
        c.child.once('exit', (code) => setTimeout(() => reject(new Error(`${system} worker exited with code ${code}`)), 100));
        check();
      });
    await Promise.all(children.map((c) => waitFor(c, 'ready')));
    const client = new (await import('pg')).default.Client({ connectionString: db.url });
    await client.connect();
    const cost = serverCost(client, db.name);
    await cost.start();
    const started = performance.now();
    for (const c of children) c.child.send({ type: 'go' });
    const result = await follow(client, count, n, capSeconds, started);
    const server = await cost.stop();
    await client.end();
    for (const c of children) c.child.send({ type: 'stop' });
    const stopped = await Promise.all(children.map((c) => waitFor(c, 'stopped')));
    const workerCpuMs = stopped.every((m) => typeof m.cpuMs === 'number') ? stopped.reduce((s, m) => s + m.cpuMs, 0) : null;
    // per job: over the whole run, from {go} to the last look (ramp-up and stragglers included)
    const perJob = (x) => (x === null || result.done === 0 ? null : x / result.done);
    return {
      system,
      variant,
      n,
      ...result,
      handled: stopped.reduce((s, m) => s + m.handled, 0),
      cost: { serverCpuMs: perJob(server.cpuMs), workerCpuMs: perJob(workerCpuMs), walBytes: perJob(server.walBytes) },
    };
  } finally {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await sleep(100);
    await db.drop();
  }
}

/** End-to-end: `orrery worker` processes running `true` tasks, with wake-ups and heartbeats. */
async function orreryWorkerRun({ adminUrl, n, procs, concurrency, capSeconds }) {
  const db = await tempDatabase(adminUrl, 'tp_worker');
  let cluster = null;
  try {
    const dir = freshDir('throughput-orrery-worker');
    cluster = await startCluster({ dbUrl: db.url, dir, workers: Array.from({ length: procs }, () => ['--concurrency', String(concurrency)]) });
    const client = new (await import('pg')).default.Client({ connectionString: db.url });
    await client.connect();
    const started = performance.now();
    await submitNoop(db.url, dir, n);
    // from the submission on (the submission's own writes are not counted)
    const cost = serverCost(client, db.name);
    await cost.start();
    const count = (c) => c.query("SELECT count(*)::int AS n FROM tasks WHERE state = 'succeeded'").then((r) => r.rows[0].n);
    const result = await follow(client, count, n, capSeconds, started);
    const server = await cost.stop();
    await client.end();
    const perJob = (x) => (x === null || result.done === 0 ? null : x / result.done);
    return { system: 'orrery worker', variant: 'e2e', n, ...result, cost: { serverCpuMs: perJob(server.cpuMs), workerCpuMs: null, walBytes: perJob(server.walBytes) } };
  } finally {
    await cluster?.stop();
    await db.drop();
  }
}

/** CPU of the database's backends, of the worker processes, and WAL, per job. */
function costColumns(cost) {
  const ms = (x) => (x === null ? '—' : `${x.toFixed(2)} ms`);
  return [ms(cost.serverCpuMs), ms(cost.workerCpuMs), cost.walBytes === null ? '—' : `${(cost.walBytes / 1024).toFixed(2)} KB`];
}

export async function throughput({ adminUrl, scale, procs, concurrency, repeat }) {
  const n = Math.max(200, Math.round(4000 * scale));
  const capSeconds = Math.max(4, 12 * scale);
  const slots = `${procs} process${procs > 1 ? 'es' : ''} × concurrency ${concurrency}`;
  say(`\n## Queue throughput: no-op jobs on PostgreSQL, ${slots} for every system`);
  say(`  ${fmt.int(n)} jobs queued per run, each run capped at ${capSeconds} s; steady rate between 5% and 95% done`);
  const runs = [
    { label: 'Orrery (Store API: claim → succeed)', system: 'orrery', variant: 'default' },
    { label: 'graphile-worker (defaults)', system: 'graphile-worker', variant: 'default' },
    { label: 'pg-boss (work() × C, batchSize 1)', system: 'pg-boss', variant: 'default' },
    { label: 'graphile-worker, batched (localQueue 500)', system: 'graphile-worker', variant: 'batched', context: true },
    { label: `pg-boss, batched (batchSize ${concurrency * 25})`, system: 'pg-boss', variant: 'batched', context: true },
  ];
  const results = runs.map(() => []);
  for (let r = 0; r < repeat; r++) {
    for (const [i, run] of runs.entries()) {
      const result = await queueRun({ system: run.system, variant: run.variant, adminUrl, n, procs, concurrency, capSeconds });
      results[i].push(result);
      say(`  ${run.label}: ${fmt.int(result.done)} done in ${fmt.seconds(result.seconds)}${result.capped ? ' (cap)' : ''}, ${fmt.rate(result.steadyRate)}`);
    }
  }
  const e2eN = Math.max(100, Math.round(1500 * scale));
  const e2e = [];
  for (let r = 0; r < repeat; r++) {
    const result = await orreryWorkerRun({ adminUrl, n: e2eN, procs, concurrency, capSeconds });
    e2e.push(result);
    say(`  orrery worker (e2e, \`true\` tasks): ${fmt.int(result.done)} done in ${fmt.seconds(result.seconds)}${result.capped ? ' (cap)' : ''}, ${fmt.rate(result.steadyRate)}`);
  }

  const median = (list) => [...list].sort((a, b) => a.steadyRate - b.steadyRate)[Math.floor((list.length - 1) / 2)];
  const chosen = results.map(median);
  const orrery = chosen[0].steadyRate;
  const graphile = chosen[1].steadyRate;
  table(
    [
      ['system', 'jobs done', 'wall', 'jobs/s (steady)', 'Orrery ÷ this', 'DB CPU/job', 'workers CPU/job', 'WAL/job'],
      ...runs.map((run, i) => [
        run.label,
        fmt.int(chosen[i].done) + (chosen[i].capped ? ' (cap)' : ''),
        fmt.seconds(chosen[i].seconds),
        fmt.rate(chosen[i].steadyRate),
        i === 0 ? '' : fmt.ratio(orrery / chosen[i].steadyRate),
        ...costColumns(chosen[i].cost),
      ]),
    ],
    `Queue throughput on PostgreSQL — ${slots}, no-op jobs, ${repeat} run(s), median (the batched rows hold more than ${concurrency} jobs per process at once: context, not equal concurrency); per job: CPU of the database's backends and of the worker processes, WAL written by the server`,
    'lrrrrrrr',
  );
  const worker = median(e2e);
  table(
    [
      ['system', 'tasks done', 'wall', 'tasks/s (steady)', 'vs Orrery Store API', 'DB CPU/task', 'WAL/task'],
      [
        `orrery worker × ${procs}, --concurrency ${concurrency}, \`true\` tasks`,
        fmt.int(worker.done) + (worker.capped ? ' (cap)' : ''),
        fmt.seconds(worker.seconds),
        fmt.rate(worker.steadyRate),
        fmt.ratio(worker.steadyRate / orrery),
        ...costColumns(worker.cost).filter((_, i) => i !== 1),
      ],
    ],
    'End to end, for context: real workers, a process spawned per task (wall counted from submission; the database figures from the end of the submission)',
    'lrrrrrr',
  );
  return {
    figures: {
      shape: { processes: procs, concurrency, jobs: n, capSeconds, cores: os.availableParallelism() },
      queue: Object.fromEntries(
        runs.map((run, i) => [
          `${run.system}/${run.variant}`,
          { jobsPerSecond: chosen[i].steadyRate, done: chosen[i].done, seconds: chosen[i].seconds, runs: results[i].map((x) => x.steadyRate), perJob: chosen[i].cost },
        ]),
      ),
      orreryWorkerE2e: { tasksPerSecond: worker.steadyRate, done: worker.done, seconds: worker.seconds, tasks: e2eN, perTask: worker.cost },
    },
    targets: [
      {
        benchmark: 'distributed',
        what: `queue throughput ≥ graphile-worker's (${slots})`,
        value: `${fmt.rate(orrery)} vs ${fmt.rate(graphile)} (${fmt.ratio(orrery / graphile)})`,
        pass: orrery >= graphile,
      },
    ],
  };
}
