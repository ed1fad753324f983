/**
 * `--store` / ORRERY_STORE values: which repository they open, and the settings an s3://
 * repository takes from the environment.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfrastructureError, InvalidInputError } from '../../src/core/errors.js';
import { LocalRepository } from '../../src/files/local-repository.js';
import { openFileRepository, s3OptionsFromUrl } from '../../src/files/open.js';
import { S3Repository } from '../../src/files/s3-repository.js';
import { startS3Server, type TestS3Server } from './s3-server.js';

let s3: TestS3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

describe('openFileRepository', () => {
  it('opens a directory path or a file: URL as a local repository', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-open-'));
    try {
      const byPath = await openFileRepository(path.relative(process.cwd(), dir));
      expect(byPath).toBeInstanceOf(LocalRepository);
      expect((byPath as LocalRepository).objectPath('ab12')).toBe(path.join(dir, 'objects', 'ab', 'ab12'));
      const byUrl = await openFileRepository(pathToFileURL(dir).href);
      expect((byUrl as LocalRepository).objectPath('ab12')).toBe(path.join(dir, 'objects', 'ab', 'ab12'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('opens s3://bucket/prefix with the endpoint and keys of the environment, and it works', async () => {
    const env = { ORRERY_S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey };
    const repo = await openFileRepository(`s3://${s3.bucket}/runs/2024`, { env });
    try {
      expect(repo).toBeInstanceOf(S3Repository);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-open-'));
      fs.writeFileSync(path.join(dir, 'x.txt'), 'x');
      const version = await repo.putMove(path.join(dir, 'x.txt'));
      expect((repo as S3Repository).objectKey(version.sha256)).toMatch(/^runs\/2024\/objects\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
      expect(await repo.has(version.sha256)).toBe(true);
      fs.rmSync(dir, { recursive: true, force: true });
    } finally {
      (repo as S3Repository).close();
    }
  });

  it('checks the bucket at once, so a worker with a wrong --store stops at start-up (exit 3)', async () => {
    const env = { ORRERY_S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
    const error = await openFileRepository('s3://missing-bucket/p', { env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toContain('S3 bucket "missing-bucket" does not exist at http://127.0.0.1:');
  });

  it('refuses other URL schemes with what it accepts (exit 2)', async () => {
    await expect(openFileRepository('gs://bucket/x')).rejects.toThrow(InvalidInputError);
    await expect(openFileRepository('gs://bucket/x')).rejects.toThrow(/use a directory path, a file: URL or s3:\/\/bucket\/prefix/);
  });
});

describe('s3OptionsFromUrl', () => {
  it('reads bucket and prefix from the URL, and defaults to AWS in us-east-1 with the SDK credential chain', () => {
    expect(s3OptionsFromUrl('s3://data/orrery/', {})).toEqual({
      bucket: 'data',
      prefix: 'orrery',
      endpoint: undefined,
      region: 'us-east-1',
      credentials: undefined,
      forcePathStyle: false,
    });
    expect(s3OptionsFromUrl('s3://data', {}).prefix).toBe('');
  });

  it('takes ORRERY_S3_ENDPOINT over AWS_ENDPOINT_URL, and uses path-style addressing with an endpoint', () => {
    const options = s3OptionsFromUrl('s3://data/p', {
      AWS_ENDPOINT_URL: 'http://other:9000',
      ORRERY_S3_ENDPOINT: 'http://minio.lab:9000',
      AWS_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
    });
    expect(options).toMatchObject({ endpoint: 'http://minio.lab:9000', region: 'eu-west-3', forcePathStyle: true });
    expect(options.credentials).toEqual({ accessKeyId: 'id', secretAccessKey: 'secret', sessionToken: 'token' });
    expect(s3OptionsFromUrl('s3://data', { AWS_ENDPOINT_URL: 'http://other:9000' }).endpoint).toBe('http://other:9000');
    expect(s3OptionsFromUrl('s3://data', { AWS_ENDPOINT_URL: 'http://x:1', ORRERY_S3_FORCE_PATH_STYLE: 'false' }).forcePathStyle).toBe(false);
    expect(s3OptionsFromUrl('s3://data', { ORRERY_S3_FORCE_PATH_STYLE: 'true' }).forcePathStyle).toBe(true);
  });

  it('names the variable at fault, and never echoes a URL that may hold a secret', () => {
    expect(() => s3OptionsFromUrl('s3://data', { AWS_ACCESS_KEY_ID: 'id' })).toThrow(/AWS_SECRET_ACCESS_KEY: is not set/);
    expect(() => s3OptionsFromUrl('s3://data', { ORRERY_S3_ENDPOINT: 'minio:9000' })).toThrow(/ORRERY_S3_ENDPOINT: expected an http:\/\/ or https:\/\/ URL/);
    expect(() => s3OptionsFromUrl('s3://data', { ORRERY_S3_FORCE_PATH_STYLE: 'maybe' })).toThrow(/ORRERY_S3_FORCE_PATH_STYLE: "maybe" is not a flag/);
    let error: unknown;
    try {
      s3OptionsFromUrl('s3://AKIA:hunter2@data/p', {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain('credentials go in AWS_ACCESS_KEY_ID');
    expect((error as Error).message).not.toContain('hunter2');
  });
});
