/**
 * What the worker relies on from any file repository (src/files/repository.ts), one suite
 * looped over the local directory and an S3 bucket served by s3rver.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalRepository } from '../../src/files/local-repository.js';
import type { FileRepository } from '../../src/files/repository.js';
import { S3Repository } from '../../src/files/s3-repository.js';
import { startS3Server, type TestS3Server } from './s3-server.js';

let s3: TestS3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

const backends: Record<string, (dir: string) => { repo: FileRepository; close(): void }> = {
  local: (dir) => ({ repo: new LocalRepository(path.join(dir, 'repo')), close() {} }),
  s3: () => {
    // a fresh prefix per test: each test sees an empty repository
    const repo = new S3Repository({ bucket: s3.bucket, prefix: `contract/${randomUUID()}`, endpoint: s3.endpoint, credentials: s3.credentials });
    return { repo, close: () => repo.close() };
  },
};

const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe.each(Object.keys(backends))('file repository contract: %s', (backend) => {
  let dir: string;
  let repo: FileRepository;
  let close: () => void;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `orrery-files-${backend}-`));
    ({ repo, close } = backends[backend]!(dir));
  });
  afterEach(() => {
    close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, content: string | Buffer): string {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  }

  it('putCopy names the bytes by sha256 and size, keeps the original, and has() finds them', async () => {
    const file = write('out/a.txt', 'transit depth 84 ppm\n');
    const version = await repo.putCopy(file);
    expect(version).toEqual({ sha256: sha('transit depth 84 ppm\n'), size: 21 });
    expect(fs.readFileSync(file, 'utf8')).toBe('transit depth 84 ppm\n');
    expect(await repo.has(version.sha256)).toBe(true);
  });

  it('putMove takes the file away from the scratch directory', async () => {
    const file = write('out/b.bin', Buffer.from([0, 1, 2, 3, 255]));
    const version = await repo.putMove(file);
    expect(fs.existsSync(file)).toBe(false);
    expect(version.size).toBe(5);
    expect(await repo.has(version.sha256)).toBe(true);
  });

  it('has() is false for bytes never stored', async () => {
    expect(await repo.has(sha('never stored'))).toBe(false);
  });

  it('stage() makes the bytes readable at the destination, creating its directories', async () => {
    const version = await repo.putMove(write('out/c.csv', 'nsr,snr\n14.6,9.1\n'));
    const dest = path.join(dir, 'scratch', 'inputs', 'deep', 'c.csv');
    await repo.stage(version.sha256, dest);
    expect(fs.readFileSync(dest, 'utf8')).toBe('nsr,snr\n14.6,9.1\n');
  });

  it('copyOut() writes a plain, writable 0644 file, not a link', async () => {
    const version = await repo.putCopy(write('d.txt', 'export me'));
    const dest = path.join(dir, 'export', 'job', 'd.txt');
    await repo.copyOut(version.sha256, dest);
    const stat = fs.lstatSync(dest);
    expect(stat.isFile()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o644);
    expect(fs.readFileSync(dest, 'utf8')).toBe('export me');
    expect(fs.readdirSync(path.dirname(dest))).toEqual(['d.txt']);
  });

  it('stores identical bytes once: a second put of the same content returns the same version', async () => {
    const first = await repo.putMove(write('e1.txt', 'same bytes'));
    const second = await repo.putCopy(write('e2.txt', 'same bytes'));
    expect(second).toEqual(first);
    const dest = path.join(dir, 'e.txt');
    await repo.copyOut(first.sha256, dest);
    expect(fs.readFileSync(dest, 'utf8')).toBe('same bytes');
  });

  it('an empty output is a product like any other', async () => {
    const version = await repo.putMove(write('empty.txt', ''));
    expect(version).toEqual({ sha256: sha(''), size: 0 });
    const dest = path.join(dir, 'staged-empty.txt');
    await repo.stage(version.sha256, dest);
    expect(fs.readFileSync(dest).length).toBe(0);
  });
});
