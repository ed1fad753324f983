/**
 * Chaos: PostgreSQL, a server and 3 workers on 500 tasks with products, while a loop
 * SIGKILLs a random worker every few hundred milliseconds and starts a new one. Every task
 * must end succeeded, every product must have exactly one current version whose bytes
 * match its recorded sha256, and the killed attempts must be recorded as lost.
 *
 * The tasks sleep 0.1–0.2 s so that the job lasts long enough (500 tasks on 6 slots: 10 s at
 * the very least) for the loop to kill many workers however fast the rest of the system gets.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Cluster, sleep } from '../helpers/cluster.js';
import { freshDatabase, type TestDatabase } from '../helpers/databases.js';

const JOB = `
name: chaos
tasks:
  - for: i
    linear_range: [0, 249, 250]
    tasks:
      - task: produce
        params: { i: "\${i}" }
        outputs: { out: "raw/p_\${i_index}.txt" }
      - task: refine
        inputs: { in: "raw/p_\${i_index}.txt" }
        outputs: { out: "refined/r_\${i_index}.txt" }
types:
  produce: { command: "sleep 0.1$(( {params.i} % 9 )); seq 1 {params.i} > {outputs.out}; echo {params.i} >> {outputs.out}" }
  refine: { command: "sleep 0.1; sort -n {inputs.in} | tail -n 1 > {outputs.out}" }
`;

describe.skipIf(!process.env.ORRERY_TEST_POSTGRES)('chaos: workers SIGKILLed at random', () => {
  let database: TestDatabase;
  let cluster: Cluster;
  beforeAll(async () => {
    database = await freshDatabase('postgres');
    cluster = new Cluster(database.url);
  });
  afterAll(async () => {
    await cluster.stop();
    await database.drop();
  });

  it('loses no task and no product, and records the lost attempts', async () => {
    cluster.write('job.yaml', JOB);
    expect(cluster.json('submit', 'job.yaml').tasks).toBe(500);
    cluster.server('--lease', '2s');
    const startWorker = () => cluster.worker('--lease', '2s', '--concurrency', '2', '--poll', '50ms');
    const workers: ChildProcess[] = [startWorker(), startWorker(), startWorker()];
    let kills = 0;
    const deadline = Date.now() + 150_000;
    for (;;) {
      const status = cluster.json('status', '1');
      if (status.state !== 'running') break;
      if (Date.now() > deadline) throw new Error(`job still running: ${JSON.stringify(status.counts)}`);
      await sleep(200 + Math.random() * 400);
      const victim = Math.floor(Math.random() * workers.length);
      workers[victim].kill('SIGKILL');
      kills += 1;
      workers[victim] = startWorker();
    }
    const status = cluster.json('status', '1');
    expect(status.state).toBe('succeeded');
    expect(status.counts.succeeded).toBe(500);
    expect(kills).toBeGreaterThan(5);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const products = await client.query(`
        SELECT p.path, v.sha256, v.size, (SELECT count(*) FROM product_versions pv WHERE pv.product_id = p.id) AS versions
        FROM products p JOIN product_versions v ON v.id = p.current_version_id`);
      expect(products.rows).toHaveLength(500);
      for (const row of products.rows) {
        expect(Number(row.versions)).toBe(1);
        const bytes = fs.readFileSync(path.join(cluster.dir, 'files', 'objects', row.sha256.slice(0, 2), row.sha256));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(row.sha256);
        expect(bytes.length).toBe(Number(row.size));
      }
      const refined = products.rows.find((r) => r.path === 'refined/r_7.txt')!;
      expect(fs.readFileSync(path.join(cluster.dir, 'files', 'objects', refined.sha256.slice(0, 2), refined.sha256), 'utf8')).toBe('7\n');
      const attempts = await client.query(`SELECT state, count(*) AS n FROM attempts GROUP BY state`);
      const byState = Object.fromEntries(attempts.rows.map((r) => [r.state, Number(r.n)]));
      expect(byState.succeeded).toBe(500);
      expect(byState.lost).toBeGreaterThan(0);
      expect(byState.failed ?? 0).toBe(0);
      const lost = await client.query(`SELECT error FROM attempts WHERE state = 'lost' LIMIT 1`);
      expect(lost.rows[0].error).toMatch(/lease expired/);
    } finally {
      await client.end();
    }
  }, 200_000);
});
