/**
 * A real S3 protocol server for tests: s3rver (npm), in this process, on 127.0.0.1 and a
 * random port, storing under a temporary directory. Its quirks (see docs/s3.md): it checks
 * the access key id but not a SigV4 signature, and it verifies no checksum (neither
 * x-amz-checksum-sha256 nor Content-MD5), so the tests prove integrity on the read side.
 */
import fs from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
// s3rver ships no type declarations; the little used here is typed below.
// @ts-ignore
import S3rver from 's3rver';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}

export interface TestS3Server {
  endpoint: string;
  bucket: string;
  /** s3rver's built-in account; it only checks that the key id exists. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

export async function startS3Server(bucket = 'orrery-test'): Promise<TestS3Server> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-s3rver-'));
  const Server = S3rver as unknown as new (options: object) => S3rverInstance;
  const server = new Server({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async stop() {
      server.httpServer?.closeAllConnections();
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
