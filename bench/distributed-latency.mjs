// Distributed benchmark 2 — dependency latency: how long after a parent task is done its
// child is running, across processes. The job is K independent chains of L `true` tasks
// (c0_s0 → c0_s1 → …): each consecutive pair is a parent → child dependency, and at most K
// tasks are ready at once, so the workers always have a free slot and the figure is the
// wake-up and claim path, not a backlog. (With many two-task chains submitted at once, the
// parents fill every slot and each child waits behind the backlog of parents: that measures
// the queue, not the dependency — about a second per child on a 2-core machine.)
// K = 1: one dependency at a time, nothing else running; K = 4: four chains side by side.
// The figures come from the task database afterwards:
//   latency = child's first attempt started_at − parent's finished_at
// (both stamped by workers with Date.now() on one machine: the parent's as its success is
// recorded, the child's as its attempt is opened, just before its process is spawned).
// Each run has `orrery server` and two `orrery worker --concurrency C`, in one of two layouts:
//   split  — chain steps alternate between types a and b, one worker serves a, the other b
//            (--types), so every child is woken in another process than its parent's;
//   shared — both workers serve every type, as one would deploy them.
// On PostgreSQL idle workers are woken by NOTIFY; on MariaDB they poll (--poll, 100 ms).
import path from 'node:path';
import { fmt, freshDir, percentile, say, sleep, sqlRows, startCluster, submitJobFile, table, tempDatabase, writeJob } from './distributed-common.mjs';

const RUNS = [
  { chains: 1, layout: 'split' },
  { chains: 4, layout: 'split' },
  { chains: 4, layout: 'shared' },
];

function chainsJob(dir, chains, length) {
  const lines = ['name: chains', 'tasks:'];
  for (let c = 0; c < chains; c++) {
    for (let j = 0; j < length; j++) {
      const after = j === 0 ? '' : `, after: [c${c}_s${j - 1}]`;
      lines.push(`  - { task: ${j % 2 === 0 ? 'a' : 'b'}, name: c${c}_s${j}, params: { c: ${c}, j: ${j} }${after} }`);
    }
  }
  return writeJob(dir, `${lines.join('\n')}\n`, 'types:\n  a: { command: "true", cpu: 1 }\n  b: { command: "true", cpu: 1 }\n');
}

const LAYOUTS = {
  split: (c) => [
    ['--types', 'a', '--concurrency', String(c)],
    ['--types', 'b', '--concurrency', String(c)],
  ],
  shared: (c) => [
    ['--concurrency', String(c)],
    ['--concurrency', String(c)],
  ],
};

const FINAL = "('succeeded', 'cached', 'failed', 'upstream_failed', 'cancelled')";

async function chainsRun({ adminUrl, dialect, chains, layout, length, concurrency, serverArgs, workerArgs }) {
  const db = await tempDatabase(adminUrl, `lat_${chains}_${layout}`);
  let cluster = null;
  try {
    const dir = freshDir(`latency-${dialect}-${chains}-${layout}`);
    cluster = await startCluster({ dbUrl: db.url, dir, serverArgs, workers: LAYOUTS[layout](concurrency).map((flags) => [...flags, ...workerArgs]) });
    const jobFile = chainsJob(dir, chains, length);
    const total = chains * length;
    const started = Date.now();
    const job = await submitJobFile(db.url, jobFile, path.join(dir, 'files'));
    for (;;) {
      const [row] = await sqlRows(db.url, `SELECT count(*) AS n FROM tasks WHERE job_id = ${job.id} AND state IN ${FINAL}`);
      if (Number(row.n) === total) break;
      if (Date.now() - started > 180_000) throw new Error(`chains on ${dialect} (${layout}) did not end in 180 s: ${row.n} of ${total} tasks ended`);
      await sleep(100);
    }
    const states = await sqlRows(db.url, `SELECT state, count(*) AS n FROM tasks WHERE job_id = ${job.id} GROUP BY state`);
    const failed = await sqlRows(db.url, `SELECT t.name, a.error FROM tasks t JOIN attempts a ON a.task_id = t.id WHERE t.job_id = ${job.id} AND a.state = 'failed'`);
    const rows = await sqlRows(
      db.url,
      `SELECT p.finished_at AS parent_done, c.started_at AS child_claimed, a.started_at AS child_started,
              pa.worker AS parent_worker, a.worker AS child_worker
         FROM tasks c
         JOIN task_deps d ON d.task_id = c.id
         JOIN tasks p ON p.id = d.depends_on
         JOIN attempts a ON a.task_id = c.id AND a.number = 1
         JOIN attempts pa ON pa.task_id = p.id AND pa.number = 1
        WHERE c.job_id = ${job.id} AND p.state = 'succeeded'`,
    );
    const started_ = rows.map((r) => Number(r.child_started) - Number(r.parent_done));
    const claimed = rows.map((r) => Number(r.child_claimed) - Number(r.parent_done));
    const elsewhere = rows.filter((r) => r.parent_worker !== r.child_worker).length;
    return {
      dialect,
      chains,
      layout,
      samples: rows.length,
      expected: chains * (length - 1),
      states: Object.fromEntries(states.map((r) => [r.state, Number(r.n)])),
      failures: failed.map((f) => `${f.name}: ${f.error}`),
      p50: percentile(started_, 50),
      p90: percentile(started_, 90),
      p99: percentile(started_, 99),
      max: started_.length ? Math.max(...started_) : null,
      claimedP50: percentile(claimed, 50),
      claimedP99: percentile(claimed, 99),
      otherProcess: rows.length ? elsewhere / rows.length : null,
    };
  } finally {
    await cluster?.stop();
    await db.drop();
  }
}

/** `workerArgs`: extra flags for every worker (e.g. ['--poll', '2s'] to expose missed wake-ups). */
export async function latency({ adminUrl, mysqlUrl, scale, concurrency, serverArgs = [], workerArgs = [] }) {
  const length = Math.max(10, Math.round(50 * scale));
  say(`\n## Dependency latency: chains of ${length} \`true\` tasks (1 chain, then 4 side by side), orrery server + 2 orrery workers (--concurrency ${concurrency})`);
  const databases = [['PostgreSQL (LISTEN/NOTIFY)', 'postgres', adminUrl]];
  if (mysqlUrl) databases.push(['MariaDB (polls every 100 ms)', 'mysql', mysqlUrl]);
  else say('  MariaDB: not reachable, skipped (--mysql URL)');
  const results = [];
  for (const [label, dialect, url] of databases) {
    for (const { chains, layout } of RUNS) {
      const r = await chainsRun({ adminUrl: url, dialect, chains, layout, length, concurrency, serverArgs, workerArgs });
      results.push({ label, ...r });
      const lost = r.expected - r.samples;
      say(`  ${label}, ${chains} chain(s), ${layout}: p50 ${fmt.ms(r.p50)}, p99 ${fmt.ms(r.p99)} over ${r.samples} pairs${lost ? ` — ${lost} pair(s) missing: tasks ${JSON.stringify(r.states)}` : ''}`);
      for (const f of r.failures.slice(0, 3)) say(`    failed attempt: ${f}`);
    }
  }
  table(
    [
      ['database', 'chains', 'workers', 'pairs', 'p50', 'p90', 'p99', 'max', 'claimed p50', 'claimed p99', 'child elsewhere', 'tasks failed'],
      ...results.map((r) => [
        r.label,
        String(r.chains),
        r.layout === 'split' ? 'split by type' : 'shared',
        `${r.samples}/${r.expected}`,
        fmt.ms(r.p50),
        fmt.ms(r.p90),
        fmt.ms(r.p99),
        fmt.ms(r.max),
        fmt.ms(r.claimedP50),
        fmt.ms(r.claimedP99),
        r.otherProcess === null ? '—' : `${Math.round(r.otherProcess * 100)}%`,
        String((r.states.failed ?? 0) + (r.states.upstream_failed ?? 0)),
      ]),
    ],
    'Dependency latency: parent done → child running (its attempt opened); "claimed": → child claimed; "child elsewhere": in another worker process than its parent',
    'lrlrrrrrrrrr',
  );
  const pick = (chains) => results.find((r) => r.dialect === 'postgres' && r.layout === 'split' && r.chains === chains);
  const targets = [1, 4].map((chains) => {
    const r = pick(chains);
    return {
      benchmark: 'distributed',
      what: `dependency latency p50 ≤ 50 ms across processes (PostgreSQL, ${chains === 1 ? 'one chain' : `${chains} chains at once`})`,
      value: `${fmt.ms(r.p50)} (p99 ${fmt.ms(r.p99)})`,
      pass: r.p50 <= 50,
    };
  });
  for (const r of results) {
    const bad = (r.states.failed ?? 0) + (r.states.upstream_failed ?? 0);
    if (bad > 0) targets.push({ benchmark: 'distributed', what: `every chain task succeeds (${r.dialect}, ${r.chains} chain(s), ${r.layout})`, value: `${bad} failed or upstream_failed`, pass: false });
  }
  return { figures: { length, concurrency, results }, targets };
}
