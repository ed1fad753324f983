// Distributed benchmark 3 — a worker killed with SIGKILL: how long until its task runs
// elsewhere. `orrery server` and two `orrery worker --concurrency 1` processes share a fresh
// PostgreSQL database; a job of one long task (`sleep 600`) is submitted; once it runs, the
// worker running it is SIGKILLed, and the database is watched (every 20 ms) until the task's
// first attempt is recorded `lost` (re-queued by the server) and its second attempt starts
// on the other worker. With the default lease (30 s) and a short one (5 s) for reference;
// server and workers get the same --lease. Expected: the lease left at the kill (a lease is
// renewed every second) + up to one reaper period (lease/4, at most 5 s) + a wake-up.
// Samples run side by side, each in its own database (their waits are sleeps, not work).
import path from 'node:path';
import { fmt, freshDir, say, sleep, sqlRows, startCluster, submitJobFile, table, tempDatabase, until, writeJob } from './distributed-common.mjs';

async function killRun({ adminUrl, lease, sample }) {
  const db = await tempDatabase(adminUrl, `kill_${lease}_${sample}`);
  let cluster = null;
  const pids = new Set();
  try {
    const dir = freshDir(`failover-${lease}-${sample}`);
    cluster = await startCluster({
      dbUrl: db.url,
      dir,
      serverArgs: ['--lease', lease],
      workers: [
        ['--lease', lease, '--concurrency', '1'],
        ['--lease', lease, '--concurrency', '1'],
      ],
    });
    const jobFile = writeJob(dir, 'name: long\ntasks:\n  - { task: long, name: long }\n', 'types:\n  long: { command: "sleep 600", cpu: 1 }\n');
    const job = await submitJobFile(db.url, jobFile, path.join(dir, 'files'));
    const running = await until(
      async () => {
        const [row] = await sqlRows(
          db.url,
          `SELECT t.id, t.worker, t.lease_expires_at, a.pid FROM tasks t JOIN attempts a ON a.task_id = t.id AND a.number = 1 WHERE t.job_id = ${job.id} AND t.state = 'running' AND a.pid IS NOT NULL`,
        );
        return row;
      },
      { everyMs: 20, timeoutMs: 30_000, what: 'the long task to run' },
    );
    pids.add(Number(running.pid));
    // worker ids are host:pid:random
    const victimPid = Number(String(running.worker).split(':').at(-2));
    const victim = cluster.workers.find((w) => w.pid === victimPid);
    if (!victim) throw new Error(`task runs on ${running.worker}, not one of this benchmark's workers`);
    // let a heartbeat or two pass, as for a worker that has been running its task a while
    await sleep(1500);
    const [lease0] = await sqlRows(db.url, `SELECT lease_expires_at FROM tasks WHERE id = ${running.id}`);
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await victim.exited;
    const second = await until(
      async () => {
        const [row] = await sqlRows(db.url, `SELECT started_at, pid, worker FROM attempts WHERE task_id = ${running.id} AND number = 2`);
        return row;
      },
      { everyMs: 20, timeoutMs: 120_000, what: 'the task to run again' },
    );
    const [first] = await sqlRows(db.url, `SELECT state, finished_at, error FROM attempts WHERE task_id = ${running.id} AND number = 1`);
    if (second.pid) pids.add(Number(second.pid));
    if (first.state !== 'lost') throw new Error(`the killed worker's attempt is recorded ${first.state}, expected lost`);
    return {
      lease,
      leaseLeftMs: Number(lease0.lease_expires_at) - killedAt,
      requeuedMs: Number(first.finished_at) - killedAt,
      runningMs: Number(second.started_at) - killedAt,
      error: first.error,
      otherWorker: second.worker !== running.worker,
    };
  } finally {
    await cluster?.stop();
    // the killed worker's `sleep` outlives it (its own process group): end it, and the second one
    await sleep(200);
    for (const row of await sqlRows(db.url, 'SELECT pid FROM attempts WHERE pid IS NOT NULL').catch(() => [])) pids.add(Number(row.pid));
    for (const pid of pids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await db.drop();
  }
}

export async function failover({ adminUrl, scale }) {
  const samples = { '30s': scale >= 1 ? 2 : 1, '5s': scale >= 1 ? 3 : 1 };
  say(`\n## Failover: SIGKILL the worker running a task; time until the task runs on the other worker (${samples['30s']} + ${samples['5s']} samples, side by side)`);
  const runs = [];
  for (const [lease, n] of Object.entries(samples)) for (let i = 0; i < n; i++) runs.push(killRun({ adminUrl, lease, sample: i }));
  const results = await Promise.all(runs);
  for (const r of results) say(`  lease ${r.lease}: re-queued after ${fmt.seconds(r.requeuedMs / 1000)}, running again after ${fmt.seconds(r.runningMs / 1000)} (lease left at the kill: ${fmt.seconds(r.leaseLeftMs / 1000)})`);
  const byLease = Object.keys(samples).map((lease) => {
    const list = results.filter((r) => r.lease === lease);
    const avg = (key) => list.reduce((s, r) => s + r[key], 0) / list.length;
    return { lease, list, leaseLeftMs: avg('leaseLeftMs'), requeuedMs: avg('requeuedMs'), runningMs: avg('runningMs'), worstRunningMs: Math.max(...list.map((r) => r.runningMs)) };
  });
  table(
    [
      ['lease (server and workers)', 'samples', 'lease left at kill', 'kill → re-queued (lost)', 'kill → running elsewhere', 'worst'],
      ...byLease.map((b) => [b.lease === '30s' ? '30 s (default)' : b.lease.replace('s', ' s'), String(b.list.length), fmt.seconds(b.leaseLeftMs / 1000), fmt.seconds(b.requeuedMs / 1000), fmt.seconds(b.runningMs / 1000), fmt.seconds(b.worstRunningMs / 1000)]),
    ],
    'Failover after SIGKILL of a worker (means over the samples)',
    'lrrrrr',
  );
  const def = byLease.find((b) => b.lease === '30s');
  return {
    figures: { samples: results, byLease: byLease.map(({ list, ...rest }) => rest) },
    targets: [
      {
        benchmark: 'distributed',
        what: 'SIGKILLed worker: task running elsewhere within lease + reaper period (30 s + 5 s)',
        value: fmt.seconds(def.worstRunningMs / 1000),
        pass: def.worstRunningMs <= 36_000,
      },
    ],
  };
}
