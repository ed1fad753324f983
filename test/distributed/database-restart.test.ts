/**
 * The database is the only state: restarting PostgreSQL in the middle of a run makes the
 * server and the workers reconnect with backoff, say so once, and carry on; nothing is
 * lost or duplicated. The test has a PostgreSQL server of its own so it can restart it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, sleep } from '../helpers/cluster.js';
import { PrivatePostgres } from '../helpers/private-postgres.js';

const JOB = `
name: steady
tasks:
  - for: i
    linear_range: [0, 59, 60]
    tasks:
      - task: step
        params: { i: "\${i}" }
        outputs: { out: "s_\${i_index}.txt" }
types:
  step: { command: "sleep 0.2; echo {params.i} > {outputs.out}" }
`;

describe.skipIf(!process.env.ORRERY_TEST_POSTGRES || !PrivatePostgres.available())('a PostgreSQL restart mid-run', () => {
  const postgres = new PrivatePostgres(55_000 + Math.floor(Math.random() * 1000));
  let cluster: Cluster;
  beforeAll(() => {
    postgres.start();
    cluster = new Cluster(postgres.url);
  });
  afterAll(async () => {
    await cluster.stop();
    postgres.remove();
  });

  it('is ridden out by server and workers: every task succeeds once', async () => {
    cluster.write('job.yaml', JOB);
    cluster.json('submit', 'job.yaml');
    const server = cluster.server('--lease', '5s');
    const workers = [cluster.worker('--lease', '5s', '--concurrency', '2'), cluster.worker('--lease', '5s', '--concurrency', '2')];
    await cluster.waitFor('some progress', () => cluster.json('status', '1').counts.succeeded >= 10);
    postgres.restart();
    await sleep(500);
    postgres.restart();
    const status = await cluster.waitForJob(1, 90_000);
    expect(status.state).toBe('succeeded');
    expect(status.counts.succeeded).toBe(60);
    const files = cluster.json<any[]>('files', '1');
    expect(files).toHaveLength(60);
    expect(files.every((f) => f.versions === 1)).toBe(true);
    for (const child of [server, ...workers]) {
      const log = cluster.logs.get(child)!;
      // reported once per outage, not once per failed query
      expect(log.match(/unreachable/g)?.length ?? 0).toBeLessThanOrEqual(4);
    }
    const workerLogs = () => workers.map((w) => cluster.logs.get(w)!).join('\n');
    expect(workerLogs()).toMatch(/task database unreachable/);
    // "back" is said once the database has answered for a couple of seconds without an error
    await cluster.waitFor('a worker to say the database is back', () => /reachable again/.test(workerLogs()), 15_000);
    expect(cluster.logs.get(server)).not.toMatch(/internal error/);
  }, 150_000);
});
