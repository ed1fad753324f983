/**
 * `orrery server` serves the HTTP API and the dashboard beside its engine, and the CLI
 * pointed at it with --server prints exactly what it prints reading the task database
 * itself — outputs, errors and exit codes — while retry and cancel need the admin token.
 * Every Orrery runs as a real process (spawnSync blocks this one), talking real HTTP.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORRERY } from '../helpers/cli.js';
import { Cluster, exited } from '../helpers/cluster.js';
import { databaseKinds, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { type S3Process, startS3Process } from '../helpers/s3rver-process.js';

const ADMIN = 'admin-token-for-remote-tests';
const READER = 'read-token-for-remote-tests';

/** Three tasks that succeed and one that fails until the file `flag` exists. */
const job = (flag: string) => `
name: grid
tasks:
  - for: x
    values: [1, 2, 3]
    tasks:
      - task: make
        params: { x: "\${x}" }
        outputs: { out: "m_\${x_index}.txt" }
  - task: flaky
    after: ["make_*"]
    outputs: { out: f.txt }
types:
  make: { command: "echo {params.x} > {outputs.out}; echo made {params.x}; echo '{\\"x\\": {params.x}}' > $ORRERY_RESULT" }
  flaky:
    command: "echo trying; if [ -f ${flag} ]; then echo ok > {outputs.out}; else echo 'Traceback (most recent call last):' >&2; echo 'ValueError: not yet' >&2; exit 1; fi"
    retries: 0
`;

const SLOW = `name: slow\ntasks: [ { task: slow, outputs: { out: o.txt } } ]\ntypes:\n  slow: { command: "sleep 60; echo done > {outputs.out}" }\n`;

/** What the CLI read through the server must equal: the same command on the database. */
const READS = [
  ['status'],
  ['status', 'grid'],
  ['tasks', '1'],
  ['tasks', 'grid', '--state', 'failed'],
  ['show', 'grid/flaky'],
  ['logs', '1/make_0', '--attempt', '1'],
  ['files', '1'],
  ['workers', '--all'],
  // mistakes: the same message and exit code 2
  ['status', 'nope'],
  ['logs', 'grid/flaky', '--attempt', '9'],
];

/** `orrery ARGS` without blocking this process, so many run at once. */
function orreryAsync(cluster: Cluster, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ORRERY, ...args], { cwd: cluster.dir, env: cluster.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.each(databaseKinds)('the CLI through `orrery server` on %s', (kind) => {
  let database: TestDatabase;
  let cluster: Cluster;
  let server: ChildProcess;
  let url: string;
  let flag: string;
  // --db names no database: the answers can only come from the server
  const remote = (...args: string[]) => cluster.orrery(...args, '--server', url, '--db', '/nonexistent/orrery.db');

  beforeAll(async () => {
    database = await freshDatabase(kind);
    cluster = new Cluster(database.url);
    flag = path.join(cluster.dir, 'flag');
    cluster.write('job.yaml', job(flag));
    expect(cluster.json('submit', 'job.yaml')).toMatchObject({ job: 1, tasks: 4 });
    server = cluster.server('--token', ADMIN);
    url = await cluster.apiUrl(server);
    const worker = cluster.worker('--concurrency', '2');
    expect((await cluster.waitForJob(1)).state).toBe('failed');
    // a quiet fleet: `orrery workers` reads the same twice
    worker.kill('SIGTERM');
    expect(await exited(worker)).toBe(0);
  });

  afterAll(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  it('prints the same with --server as reading the database, as text and as JSON, errors and exit codes too', async () => {
    const cases = READS.flatMap((args) => [args, [...args, '--json']]);
    // a few at a time: each is a Node process starting up
    for (let i = 0; i < cases.length; i += 4) {
      const results = await Promise.all(
        cases.slice(i, i + 4).map(async (args) => ({
          args: args.join(' '),
          direct: await orreryAsync(cluster, args),
          viaApi: await orreryAsync(cluster, [...args, '--server', url, '--db', '/nonexistent/orrery.db']),
        })),
      );
      for (const { args, direct, viaApi } of results) expect({ args, ...viaApi }).toEqual({ args, ...direct });
    }
  }, 240_000);

  it('really printed the job, not two identical errors', () => {
    expect(remote('status', '1', '--json').stdout).toMatch(/"state": "failed"/);
    expect(JSON.parse(remote('tasks', '1', '--json').stdout).map((t: any) => t.name)).toEqual(['make_0', 'make_1', 'make_2', 'flaky']);
    const shown = JSON.parse(remote('show', 'grid/flaky', '--json').stdout);
    expect(shown.upstream).toEqual(['make_0', 'make_1', 'make_2']);
    expect(shown.attempts[0].error).toMatch(/ValueError: not yet/);
    expect(remote('logs', 'grid/make_1').stdout).toBe('made 2\n');
    expect(remote('status', 'nope').code).toBe(2);
  });

  it('downloads a product from the file repository', async () => {
    const response = await fetch(`${url}api/jobs/1/files/m_2.txt`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('3\n');
  });

  it('refuses retry without the admin token, in one line naming the server; with it, workers run the tasks again', async () => {
    const none = remote('retry', 'grid/flaky');
    expect(none.code).toBe(3);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/retry and cancel need the admin token of the Orrery server at http:\/\/127\.0\.0\.1:\d+.*--token/);
    const wrong = remote('retry', 'grid/flaky', '--token', 'not-the-admin-token');
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/the token given .* is not it/);
    expect(wrong.stderr).not.toMatch(/not-the-admin-token/);
    expect(cluster.json('status', '1').counts.failed).toBe(1);

    fs.writeFileSync(flag, '');
    const retried = remote('retry', 'grid/flaky', '--token', ADMIN, '--json');
    expect(JSON.parse(retried.stdout)).toEqual({ job: 1, requeued: 1 });
    cluster.worker('--exit-when-idle', '2s');
    expect((await cluster.waitForJob(1)).state).toBe('succeeded');
    expect(JSON.parse(remote('show', 'grid/flaky', '--json').stdout).attempts.map((a: any) => a.state)).toEqual(['failed', 'succeeded']);
    // ORRERY_TOKEN works as --token does
    const again = cluster.orrery('retry', 'grid', '--server', url);
    expect(again.code).toBe(3);
    cluster.env.ORRERY_TOKEN = ADMIN;
    try {
      expect(cluster.orrery('retry', 'grid', '--server', url).stdout).toBe('job 1 (grid): 0 task(s) queued again\n');
    } finally {
      delete cluster.env.ORRERY_TOKEN;
    }
  });

  it('cancels a running job through the API: its worker stops the task', async () => {
    cluster.write('slow.yaml', SLOW);
    expect(cluster.json('submit', 'slow.yaml').job).toBe(2);
    const worker = cluster.worker();
    await cluster.waitFor('the slow task to start', () => cluster.json('status', '2').counts.running === 1);
    const cancelled = remote('cancel', 'slow', '--token', ADMIN);
    expect(cancelled).toMatchObject({ code: 0, stdout: 'job 2 (slow): 1 task(s) cancelled; job is cancelled\n' });
    expect(cluster.json('status', '2')).toMatchObject({ state: 'cancelled', counts: { cancelled: 1 } });
    worker.kill('SIGTERM');
    await exited(worker);
  });

  it('stops cleanly on SIGTERM, engine and API alike; the CLI then says it cannot reach it', async () => {
    server.kill('SIGTERM');
    expect(await exited(server)).toBe(0);
    expect(cluster.logs.get(server)).toMatch(/server: stopped/);
    const r = remote('status');
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`cannot reach the Orrery server at ${url.replace(/\/$/, '')}`);
  });
});

describe('a server bound beyond loopback', () => {
  const kind = databaseKinds[0];
  let database: TestDatabase;
  let cluster: Cluster;
  let url: string;

  beforeAll(async () => {
    database = await freshDatabase(kind);
    cluster = new Cluster(database.url);
    cluster.write('job.yaml', job(path.join(cluster.dir, 'flag')));
    cluster.json('submit', 'job.yaml');
    url = await cluster.apiUrl(cluster.server('--host', '0.0.0.0', '--read-token', READER));
  });

  afterAll(async () => {
    await cluster?.stop();
    await database?.drop();
  });

  it('printed the generated admin token inside its address, once', () => {
    const log = cluster.allLogs();
    expect(log).toMatch(/dashboard and HTTP API: http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}/);
    expect(log).toMatch(/viewers need the read-only token/);
  });

  it('tells a CLI without a token, or with a wrong one, which token to give', () => {
    const none = cluster.orrery('status', '--server', url);
    expect(none.code).toBe(3);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/needs a token: pass --token T or set ORRERY_TOKEN/);
    const wrong = cluster.orrery('tasks', '1', '--server', url, '--token', 'some-wrong-token');
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/does not accept the token given/);
    expect(wrong.stderr).not.toMatch(/some-wrong-token/);
  });

  it('lets the read-only token read, but not retry', () => {
    expect(cluster.orrery('status', '1', '--server', url, '--token', READER)).toEqual(cluster.orrery('status', '1'));
    const retry = cluster.orrery('retry', '1', '--server', url, '--token', READER);
    expect(retry.code).toBe(3);
    expect(retry.stderr).toMatch(/need the admin token/);
  });
});

describe('the server with --no-api', () => {
  it('runs the engine alone', async () => {
    const database = await freshDatabase(databaseKinds[0]);
    const cluster = new Cluster(database.url);
    try {
      cluster.orrery('status'); // creates the schema
      const server = cluster.server('--no-api');
      await cluster.waitFor('the engine to start', () => /engine running/.test(cluster.logs.get(server) ?? ''));
      expect(cluster.logs.get(server)).not.toMatch(/HTTP API/);
      server.kill('SIGINT');
      expect(await exited(server)).toBe(0);
    } finally {
      await cluster.stop();
      await database.drop();
    }
  });
});

describe('downloads through `orrery server` from an S3 file repository', () => {
  let s3: S3Process;
  let database: TestDatabase;
  let cluster: Cluster;

  beforeAll(async () => {
    s3 = await startS3Process();
    database = await freshDatabase(databaseKinds[databaseKinds.length - 1]);
    cluster = new Cluster(database.url, {
      ORRERY_STORE: `s3://${s3.bucket}/runs`,
      ORRERY_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    await database?.drop();
    await s3?.stop();
  });

  it('streams the bytes of a product from the bucket', async () => {
    cluster.write('job.yaml', job(path.join(cluster.dir, 'flag')));
    cluster.json('submit', 'job.yaml');
    const url = await cluster.apiUrl(cluster.server());
    cluster.worker('--exit-when-idle', '2s');
    await cluster.waitForJob(1);
    const response = await fetch(`${url}api/jobs/grid/files/m_0.txt`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(await response.text()).toBe('1\n');
    expect(fs.existsSync(path.join(cluster.dir, 'files'))).toBe(false);
    expect((await fetch(`${url}api/jobs/grid/files/nope.txt`)).status).toBe(404);
  });
});
