// One worker process of the queue-throughput benchmark (forked by distributed-throughput.mjs):
//   node distributed-queue-child.mjs SYSTEM DB_URL CONCURRENCY [VARIANT]
// SYSTEM is orrery | graphile-worker | pg-boss. The process connects and prepares, sends
// {ready}, starts its CONCURRENCY consumers of no-op jobs on {go}, and stops on {stop}
// (then sends {stopped, handled}). Every system gets the same shape: CONCURRENCY jobs in
// flight at once in this process, each consumer taking one job at a time (except the
// "batched" variants, which are labelled as such in the report).
import os from 'node:os';
import { distImport, sleep } from './distributed-common.mjs';

const [system, url, concurrencyArg, variant = 'default'] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
let handled = 0;
// this process's CPU while the consumers run: from {go} to {stop}, sent with {stopped}
let cpuAtGo = null;
let cpuMs = null;

const send = (message) => process.send?.(message);
const nextMessage = (type) =>
  new Promise((resolve) => {
    const on = (m) => {
      if (m?.type === type) {
        process.off('message', on);
        resolve(m);
      }
    };
    process.on('message', on);
  });
process.on('message', (m) => {
  if (m?.type === 'go') cpuAtGo = process.cpuUsage();
  if (m?.type === 'stop' && cpuAtGo) {
    const { user, system } = process.cpuUsage(cpuAtGo);
    cpuMs = (user + system) / 1000;
  }
});

async function orrery() {
  const { openStore } = await distImport('store/open.js');
  const store = await openStore(url);
  const worker = `bench-${os.hostname()}:${process.pid}`;
  const host = os.hostname();
  let stopping = false;
  const usage = { wallMs: 0, cpuMs: 0, peakRss: 0 };
  // the no-op task: claim one task (which opens its attempt) and record its success — the
  // store calls an `orrery worker` makes per task, without the process it would spawn. Like
  // the other systems' consumers, it takes whatever job comes first: no `room` (fitting tasks
  // into free cores and memory). And like them it has one job at a time, but asks for the
  // next while the last one's success is recorded: graphile-worker's worker does not wait for
  // completeJob before it gets its next job, and an `orrery worker` claims for the slot a task
  // has left while it records that task's outcome.
  const scratchRoot = os.tmpdir();
  const claimOne = () => store.claim({ worker, host, scratchRoot, limit: 1, leaseMs: 30_000 });
  const consumer = async () => {
    let next = claimOne();
    while (!stopping) {
      const claims = await next;
      if (claims.length === 0) {
        await sleep(5);
        next = claimOne();
        continue;
      }
      const [claim] = claims;
      next = claimOne();
      const ok = await store.succeed(claim, {
        cacheKey: `bench-${claim.task.id}`,
        outputs: {},
        result: null,
        exitCode: 0,
        usage,
      });
      if (!ok) throw new Error(`task ${claim.task.id}: success fenced out`);
      handled += 1;
    }
    // the claim asked for last is handed back: its task goes to the queue at once
    for (const claim of await next) await store.requeueLost({ taskId: claim.task.id, leaseToken: claim.leaseToken }, 'benchmark stopped');
  };
  send({ type: 'ready' });
  await nextMessage('go');
  const consumers = Array.from({ length: concurrency }, consumer);
  await nextMessage('stop');
  stopping = true;
  await Promise.all(consumers);
  await store.close();
}

async function graphileWorker() {
  const { run, runMigrations } = await import('graphile-worker');
  await runMigrations({ connectionString: url, logger: quietGraphileLogger(await import('graphile-worker')) });
  // the documented no-op setup: a task list with one task that does nothing
  const options = {
    connectionString: url,
    concurrency,
    noHandleSignals: true,
    pollInterval: 2000,
    logger: quietGraphileLogger(await import('graphile-worker')),
    taskList: {
      noop: async () => {
        handled += 1;
      },
    },
  };
  if (variant === 'batched') {
    // graphile-worker's performance preset (worker.graphile.org/docs/performance):
    // a local queue that locks jobs 500 at a time, completions batched
    options.preset = { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } };
    options.maxPoolSize = Math.max(10, concurrency + 2);
  }
  send({ type: 'ready' });
  await nextMessage('go');
  const runner = await run(options);
  await nextMessage('stop');
  await runner.stop();
}

function quietGraphileLogger(gw) {
  return new gw.Logger(() => (level, message) => {
    if (level === 'error') process.stderr.write(`graphile-worker: ${message}\n`);
  });
}

async function pgBoss() {
  const { default: PgBoss } = await import('pg-boss');
  const boss = new PgBoss({ connectionString: url, max: Math.max(10, concurrency + 2), supervise: false, schedule: false });
  boss.on('error', (error) => process.stderr.write(`pg-boss: ${error.message}\n`));
  await boss.start();
  send({ type: 'ready' });
  await nextMessage('go');
  // pg-boss 10 has no per-worker concurrency option: each work() is one polling consumer,
  // so CONCURRENCY consumers of batchSize 1 (default variant); pollingIntervalSeconds at
  // its minimum (0.5 s). The batched variant: one consumer fetching CONCURRENCY × 25 jobs.
  const batched = variant === 'batched';
  const consumers = batched ? 1 : concurrency;
  const batchSize = batched ? concurrency * 25 : 1;
  for (let i = 0; i < consumers; i++) {
    await boss.work('noop', { batchSize, pollingIntervalSeconds: 0.5 }, async (jobs) => {
      handled += jobs.length;
    });
  }
  await nextMessage('stop');
  await boss.stop({ graceful: true, wait: true, timeout: 5000 });
}

const systems = { orrery, 'graphile-worker': graphileWorker, 'pg-boss': pgBoss };
if (!systems[system]) {
  process.stderr.write(`unknown system ${system}\n`);
  process.exit(2);
}
// the parent went away (crashed, interrupted): do not linger
process.on('disconnect', () => process.exit(0));
try {
  await systems[system]();
  await new Promise((resolve) => process.send({ type: 'stopped', handled, cpuMs }, resolve));
  process.exit(0);
} catch (error) {
  process.stderr.write(`${system}: ${error.stack ?? error.message}\n`);
  send({ type: 'failed', message: error.message });
  process.exit(1);
}
