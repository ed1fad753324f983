/**
 * Workers on a shared S3 file repository: external inputs are uploaded at submission,
 * workers stage inputs from S3 and upload outputs with their sha256; `orrery export`
 * reads them back. The S3 server is s3rver (a real S3 protocol server, in-process).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Cluster } from '../helpers/cluster.js';
import { databaseKinds, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { type S3Process, startS3Process } from '../helpers/s3rver-process.js';

const kind = databaseKinds.find((k) => k !== 'sqlite');

describe.skipIf(!kind)('workers on an S3 file repository', () => {
  let s3: S3Process;
  let database: TestDatabase;
  let cluster: Cluster;
  beforeAll(async () => {
    s3 = await startS3Process();
    database = await freshDatabase(kind!);
    cluster = new Cluster(database.url, {
      ORRERY_STORE: `s3://${s3.bucket}/runs`,
      ORRERY_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    });
  });
  afterAll(async () => {
    await cluster.stop();
    await database.drop();
    await s3.stop();
  });

  it('stages inputs from S3 and uploads outputs, verified by sha256', async () => {
    cluster.write('data/words.txt', 'delta\nalpha\ncharlie\nbravo\n');
    cluster.write(
      'job.yaml',
      `
name: s3job
inputs: { "in/words.txt": data/words.txt }
tasks:
  - { task: sort, inputs: { words: in/words.txt }, outputs: { sorted: sorted.txt } }
  - { task: count, inputs: { sorted: sorted.txt }, outputs: { n: n.txt } }
types:
  sort: { command: "sort {inputs.words} > {outputs.sorted}" }
  count: { command: "wc -l < {inputs.sorted} | tr -d ' ' > {outputs.n}" }
`,
    );
    cluster.json('submit', 'job.yaml');
    cluster.server();
    cluster.worker('--exit-when-idle', '3s');
    expect((await cluster.waitForJob(1)).state).toBe('succeeded');
    expect(cluster.orrery('export', '1', 'out').code).toBe(0);
    expect(fs.readFileSync(path.join(cluster.dir, 'out/sorted.txt'), 'utf8')).toBe('alpha\nbravo\ncharlie\ndelta\n');
    expect(fs.readFileSync(path.join(cluster.dir, 'out/n.txt'), 'utf8').trim()).toBe('4');
    // nothing went to a local directory: the products live in the bucket
    expect(fs.existsSync(path.join(cluster.dir, 'files'))).toBe(false);
  });

  it('refuses a missing bucket with exit code 3, naming it', () => {
    const r = cluster.orrery('worker', '--store', 's3://no-such-bucket/x');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no-such-bucket/);
    expect(r.stderr).not.toMatch(new RegExp(s3.credentials.secretAccessKey + '(?!@)'));
  });
});
