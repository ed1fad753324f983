/**
 * s3rver in a process of its own, for tests that drive the CLI with spawnSync (which
 * blocks the test's event loop, so an in-process S3 server could not answer).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface S3Process {
  endpoint: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

const SCRIPT = `
const S3rver = require('s3rver');
const [directory, bucket] = process.argv.slice(1);
new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] })
  .run().then(({ port }) => console.log(JSON.stringify({ port })));
`;

export async function startS3Process(bucket = 'orrery-test'): Promise<S3Process> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-s3rver-'));
  const child = spawn(process.execPath, ['-e', SCRIPT, directory, bucket], { cwd: path.resolve(__dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).port));
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async stop() {
      child.kill('SIGKILL');
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
