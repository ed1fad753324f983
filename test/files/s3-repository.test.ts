/**
 * The S3 repository against a real S3 protocol server (s3rver, in-process): layout,
 * deduplication, checksums on upload, verification on download, multipart, and one-line
 * InfrastructureErrors for a missing bucket, bad credentials and unreachable endpoints.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../src/core/errors.js';
import { S3Repository, type S3RepositoryOptions } from '../../src/files/s3-repository.js';
import { CorruptObjectError } from '../../src/files/verified-write.js';
import { startS3Server, type TestS3Server } from './s3-server.js';

const MiB = 1024 * 1024;
let s3: TestS3Server;
let dir: string;
const opened: S3Repository[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-s3-'));
});
afterEach(() => {
  for (const repo of opened.splice(0)) repo.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A repository under a fresh prefix, recording the S3 commands it sends and their headers. */
function open(options: Partial<S3RepositoryOptions> = {}) {
  const repo = new S3Repository({ bucket: s3.bucket, prefix: `t/${randomUUID()}`, endpoint: s3.endpoint, credentials: s3.credentials, ...options });
  opened.push(repo);
  const commands: string[] = [];
  const headers: Record<string, string>[] = [];
  repo.client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  repo.client.middlewareStack.add(
    (next) => async (args) => {
      headers.push({ ...(args.request as { headers: Record<string, string> }).headers });
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'recordHeaders' },
  );
  return { repo, commands, headers };
}

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

async function readObject(repo: S3Repository, key: string): Promise<Buffer> {
  const got = await repo.client.send(new GetObjectCommand({ Bucket: repo.bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('S3Repository', () => {
  it('stores objects at <prefix>/objects/<first two hex>/<sha256> with their SHA-256 checksum', async () => {
    const { repo, commands, headers } = open();
    const version = await repo.putCopy(write('a.txt', 'flux 1.0\n'));
    const key = `${repo.prefix}/objects/${version.sha256.slice(0, 2)}/${version.sha256}`;
    expect(repo.objectKey(version.sha256)).toBe(key);
    expect((await readObject(repo, key)).toString()).toBe('flux 1.0\n');
    const put = headers[commands.indexOf('PutObjectCommand')]!;
    expect(put['x-amz-checksum-sha256']).toBe(Buffer.from(version.sha256, 'hex').toString('base64'));
  });

  it('uploads identical bytes once: the second put only asks whether the object exists', async () => {
    const { repo, commands } = open();
    await repo.putMove(write('a.bin', Buffer.alloc(1000, 3)));
    expect(commands.filter((c) => c === 'PutObjectCommand')).toHaveLength(1);
    commands.length = 0;
    const again = await repo.putMove(write('b.bin', Buffer.alloc(1000, 3)));
    expect(commands).toEqual(['HeadObjectCommand']);
    expect(again.size).toBe(1000);
    expect(fs.existsSync(path.join(dir, 'b.bin'))).toBe(false);
  });

  it('stages inputs as real read-only files, not links, verified against their sha256', async () => {
    const { repo } = open();
    const version = await repo.putMove(write('in.dat', 'period 240 d\n'));
    const dest = path.join(dir, 'scratch', 'in.dat');
    await repo.stage(version.sha256, dest);
    const stat = fs.lstatSync(dest);
    expect(stat.isFile()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o444);
    expect(sha(fs.readFileSync(dest))).toBe(version.sha256);
  });

  it('refuses an object whose bytes were changed behind its back, leaving nothing at the destination', async () => {
    const { repo } = open();
    const version = await repo.putCopy(write('good.txt', 'the real result'));
    const key = repo.objectKey(version.sha256);
    await repo.client.send(new PutObjectCommand({ Bucket: repo.bucket, Key: key, Body: 'the real resulT' }));
    const dest = path.join(dir, 'scratch', 'good.txt');
    const error = await repo.stage(version.sha256, dest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptObjectError);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toContain(key);
    expect((error as Error).message).toContain(`hash to ${sha('the real resulT')}`);
    expect(fs.readdirSync(path.dirname(dest))).toEqual([]);
    await expect(repo.copyOut(version.sha256, path.join(dir, 'export.txt'))).rejects.toThrow(/is corrupt/);
  });

  it('repairs a stored object of the wrong size when the right bytes are put again', async () => {
    const { repo } = open();
    const content = 'complete product';
    const key = repo.objectKey(sha(content));
    await repo.client.send(new PutObjectCommand({ Bucket: repo.bucket, Key: key, Body: 'complete' }));
    await repo.putCopy(write('p.txt', content));
    expect((await readObject(repo, key)).toString()).toBe(content);
  });

  it('says which object is missing when asked to stage bytes it does not hold', async () => {
    const { repo } = open();
    const missing = sha('gone');
    await expect(repo.stage(missing, path.join(dir, 'x'))).rejects.toThrow(new RegExp(`object ${missing} is missing from s3://${s3.bucket}/t/`));
  });

  it('uploads a file above the multipart threshold in parts, and reads it back intact', async () => {
    const { repo, commands } = open({ multipartThreshold: 5 * MiB, partSize: 5 * MiB });
    const big = Buffer.alloc(5 * MiB + 4096);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    const file = write('big.bin', big);
    const version = await repo.putMove(file);
    expect(version).toEqual({ sha256: sha(big), size: big.length });
    expect(fs.existsSync(file)).toBe(false);
    expect(commands.filter((c) => c !== 'HeadObjectCommand' && c !== 'HeadBucketCommand')).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
    ]);
    const dest = path.join(dir, 'staged.bin');
    await repo.stage(version.sha256, dest);
    expect(sha(fs.readFileSync(dest))).toBe(version.sha256);
  });

  it('leaves no object behind when a multipart upload fails half way', async () => {
    const { repo, commands } = open({ multipartThreshold: 5 * MiB, partSize: 5 * MiB, maxAttempts: 1, partConcurrency: 1 });
    let parts = 0;
    repo.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand' && ++parts === 2) throw Object.assign(new Error('connection reset by peer'), { code: 'ECONNRESET' });
        return next(args);
      },
      { step: 'initialize', name: 'failSecondPart' },
    );
    const big = Buffer.alloc(6 * MiB, 7);
    const file = write('big.bin', big);
    const error = await repo.putMove(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toMatch(/^cannot reach the S3 endpoint .* \(ECONNRESET\) during multipart upload /);
    expect(fs.existsSync(file)).toBe(true);
    expect(commands).toContain('AbortMultipartUploadCommand');
    expect(await repo.has(sha(big))).toBe(false);
  });

  it('removes a multipart upload whose file changed while it was being sent', async () => {
    const { repo } = open({ multipartThreshold: 5 * MiB, partSize: 5 * MiB, partConcurrency: 1 });
    const file = write('external.bin', Buffer.alloc(6 * MiB, 1));
    const original = sha(fs.readFileSync(file));
    repo.client.middlewareStack.add(
      (next, context) => async (args) => {
        // the first part has been read; somebody rewrites the end of the file meanwhile
        if (context.commandName === 'CreateMultipartUploadCommand') fs.writeFileSync(file, Buffer.alloc(6 * MiB, 1).fill(2, 6 * MiB - 1024));
        return next(args);
      },
      { step: 'initialize', name: 'rewriteFile' },
    );
    await expect(repo.putCopy(file)).rejects.toThrow(/external\.bin changed while it was uploaded to s3:\/\/orrery-test\/t\/.*: the upload was removed/);
    expect(await repo.has(original)).toBe(false);
  });
});

describe('S3Repository infrastructure errors', () => {
  it('names the missing bucket and what to do, on the first operation', async () => {
    const { repo } = open({ bucket: 'no-such-bucket' });
    const error = await repo.has(sha('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toMatch(/^S3 bucket "no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+ .*create the bucket/);
    expect((error as Error).message).not.toContain('\n');
    await expect(repo.putCopy(write('a', 'a'))).rejects.toThrow(/"no-such-bucket" does not exist/);
  });

  it('reports refused credentials without printing them', async () => {
    const secret = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCY';
    const { repo } = open({ credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: secret } });
    const error = await repo.putCopy(write('a', 'a')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toMatch(/S3 refused access to s3:\/\/orrery-test\/t\/.* check AWS_ACCESS_KEY_ID \/ AWS_SECRET_ACCESS_KEY/);
    expect((error as Error).message).not.toContain(secret);
    expect((error as Error).message).not.toContain('AKIAUNKNOWN');
  });

  it('fails fast with the endpoint named when nothing listens there (default retries)', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const { repo } = open({ endpoint });
    const started = Date.now();
    const error = await repo.has(sha('x')).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toContain(`cannot reach the S3 endpoint ${endpoint} for s3://orrery-test/t/`);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('gives up on a server that accepts connections but never answers', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
      const { repo } = open({ endpoint, socketTimeoutMs: 300, maxAttempts: 2 });
      const started = Date.now();
      const error = await repo.has(sha('x')).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as Error).message).toContain(`cannot reach the S3 endpoint ${endpoint}`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
