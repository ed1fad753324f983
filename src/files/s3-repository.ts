/**
 * A file repository in an S3-compatible bucket, with the local repository's layout:
 * `<prefix>/objects/<first two hex>/<sha256>`.
 *
 * Why a partial upload never becomes visible:
 * - An object's key is the sha256 of its bytes, computed before the upload. A single PUT is
 *   atomic in S3: the key shows either nothing (or its previous, identical bytes) or the
 *   complete new body, never a prefix of it. A multipart upload (files above
 *   `multipartThreshold`) creates no object until CompleteMultipartUpload; a failed one is
 *   aborted, and one cut short by a killed process leaves only invisible parts (a bucket
 *   lifecycle rule "abort incomplete multipart uploads" reclaims them).
 * - Each upload carries the SHA-256 of what it sends (x-amz-checksum-sha256: of the whole
 *   body for a PUT — the object's own name —, of each part for multipart), so a server that
 *   checks checksums (AWS S3, MinIO, Ceph RGW, …) refuses bytes damaged on the way.
 * - For multipart the file is hashed again as it streams out; if it changed since it was
 *   hashed (an external input being rewritten), the object is deleted and the put fails.
 * - Reads trust nothing: stage() and copyOut() hash the bytes as they arrive into a temporary
 *   file and rename it into place only if they match the name, so a task never reads a
 *   corrupt or truncated input, whatever the server does (the test server checks nothing).
 * - The worker records a product version only after putMove/putCopy returned, so a version
 *   in the task database always names a complete object.
 *
 * Needs s3:ListBucket (HeadBucket, and so that an absent object answers 404 rather than
 * 403), s3:GetObject, s3:PutObject, and for multipart cleanup s3:AbortMultipartUpload and
 * s3:DeleteObject.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { InfrastructureError } from '../core/errors.js';
import type { FileVersion } from '../store/store.js';
import { hashFile } from './local-repository.js';
import type { FileRepository } from './repository.js';
import { bucketMissing, httpStatus, isNotFound, type S3Place, s3Failure } from './s3-errors.js';
import { CorruptObjectError, HashingStream, writeVerified } from './verified-write.js';

const MiB = 1024 * 1024;

export interface S3RepositoryOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing slash ('' = bucket root). */
  prefix?: string;
  /** Endpoint URL of a non-AWS server (MinIO, Ceph, …); omitted = AWS S3. */
  endpoint?: string;
  /** Default 'us-east-1'. */
  region?: string;
  /** Omitted = the SDK's default chain (environment, profile, instance or pod role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Path-style URLs (endpoint/bucket/key). Default: true when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Files larger than this (bytes) go up in parts. Default 64 MiB. */
  multipartThreshold?: number;
  /** Part size of multipart uploads (bytes, at least 5 MiB). Default 16 MiB. */
  partSize?: number;
  /** Parts uploaded at once; memory use is about partSize × this. Default 4. */
  partConcurrency?: number;
  /** Tries per request, counting the first (the SDK's standard retry with backoff). Default 3. */
  maxAttempts?: number;
  /** Give up connecting after this many ms. Default 5000. */
  connectionTimeoutMs?: number;
  /** Give up on a connection idle this long in the middle of a request. Default 60000. */
  socketTimeoutMs?: number;
}

export class S3Repository implements FileRepository {
  /** The SDK client (exposed for tests and for tools that need the same connection). */
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly place: S3Place;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly partConcurrency: number;
  private bucketChecked: Promise<void> | null = null;

  constructor(options: S3RepositoryOptions) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.multipartThreshold = options.multipartThreshold ?? 64 * MiB;
    this.partSize = Math.max(options.partSize ?? 16 * MiB, 5 * MiB);
    this.partConcurrency = options.partConcurrency ?? 4;
    const region = options.region ?? 'us-east-1';
    this.place = {
      url: `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`,
      bucket: this.bucket,
      endpoint: options.endpoint ? displayEndpoint(options.endpoint) : `AWS S3 (${region})`,
    };
    // The SDK warns on Node 20 about its releases after 2027; Orrery supports Node 20 and pins
    // the SDK through its lock file, so the warning would only alarm people running tasks.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client({
      region,
      endpoint: options.endpoint,
      credentials: options.credentials,
      forcePathStyle: options.forcePathStyle ?? Boolean(options.endpoint),
      maxAttempts: options.maxAttempts ?? 3,
      // Checksums only where we ask for them (SHA-256, below): the SDK's default CRC32 in
      // aws-chunked trailers is not understood by many S3-compatible servers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 5_000,
        socketTimeout: options.socketTimeoutMs ?? 60_000,
      },
    });
  }

  /** Fails with a clear InfrastructureError unless the bucket exists and may be used. */
  check(): Promise<void> {
    this.bucketChecked ??= this.client.send(new HeadBucketCommand({ Bucket: this.bucket })).then(
      () => undefined,
      (error: unknown) => {
        this.bucketChecked = null;
        throw httpStatus(error) === 404 ? bucketMissing(this.place) : s3Failure(error, this.place, 'the bucket check');
      },
    );
    return this.bucketChecked;
  }

  async putMove(file: string): Promise<FileVersion> {
    const version = await this.put(file);
    await fs.rm(file, { force: true });
    return version;
  }

  putCopy(file: string): Promise<FileVersion> {
    return this.put(file);
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.head(sha256)) !== null;
  }

  /** Downloads into dest as a read-only file; bytes that do not match their sha256 are refused. */
  async stage(sha256: string, dest: string): Promise<void> {
    await this.download(sha256, dest, 0o444);
  }

  async copyOut(sha256: string, dest: string): Promise<void> {
    await this.download(sha256, dest, 0o644);
  }

  /** The object's bytes as they come from S3 (not verified here: `stage` and `copyOut` verify). */
  async open(sha256: string): Promise<Readable | null> {
    await this.check();
    const key = this.objectKey(sha256);
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return got.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw s3Failure(error, this.place, `download ${key}`);
    }
  }

  objectKey(sha256: string): string {
    const key = `objects/${sha256.slice(0, 2)}/${sha256}`;
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /** Closes the client's sockets. */
  close(): void {
    this.client.destroy();
  }

  private async put(file: string): Promise<FileVersion> {
    await this.check();
    const stat = await fs.stat(file);
    if (stat.size > this.multipartThreshold) return this.putMultipart(file);
    // Up to the threshold the body is held in memory: hashed and sent from the same bytes,
    // and retried by the SDK from a buffer (a consumed file stream cannot be resent).
    const body = await fs.readFile(file);
    const checked: FileVersion = { sha256: createHash('sha256').update(body).digest('hex'), size: body.length };
    if ((await this.head(checked.sha256)) === checked.size) return checked;
    const key = this.objectKey(checked.sha256);
    await this.send(`upload ${key}`, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ChecksumSHA256: base64(checked.sha256),
        }),
      ),
    );
    return checked;
  }

  private async putMultipart(file: string): Promise<FileVersion> {
    const version = await hashFile(file);
    if ((await this.head(version.sha256)) === version.size) return version;
    const key = this.objectKey(version.sha256);
    const hashing = new HashingStream();
    // pipeline (not pipe) so that a read error fails the upload instead of stalling it.
    const body = pipeline(createReadStream(file), hashing, () => {});
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentLength: version.size, ChecksumAlgorithm: 'SHA256' },
      partSize: this.partSize,
      queueSize: this.partConcurrency,
      // aborted below, so that a failing abort cannot hide why the upload failed
      leavePartsOnError: true,
    });
    try {
      await upload.done();
    } catch (error) {
      if (upload.uploadId) {
        const abort = new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: upload.uploadId });
        // parts never form an object; if the abort fails too, a lifecycle rule reclaims them
        await this.client.send(abort).catch(() => {});
      }
      throw s3Failure(error, this.place, `multipart upload ${key}`);
    }
    const sent = hashing.version();
    if (sent.sha256 !== version.sha256 || sent.size !== version.size) {
      await this.send(`delete ${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
      throw new InfrastructureError(`${file} changed while it was uploaded to ${this.place.url}: the upload was removed; make sure nothing writes the file, then retry`);
    }
    return version;
  }

  /** The stored object's size, or null when it is absent. */
  private async head(sha256: string): Promise<number | null> {
    await this.check();
    const key = this.objectKey(sha256);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw s3Failure(error, this.place, `looking up ${key}`);
    }
  }

  private async download(sha256: string, dest: string, mode: number): Promise<void> {
    await this.check();
    const key = this.objectKey(sha256);
    const action = `download ${key}`;
    let body: NodeJS.ReadableStream;
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      body = got.Body as NodeJS.ReadableStream;
    } catch (error) {
      if (isNotFound(error)) {
        throw new InfrastructureError(
          `object ${sha256} is missing from ${this.place.url} at ${this.place.endpoint}: it was deleted or never uploaded; run the task that produced it again (orrery retry)`,
        );
      }
      throw s3Failure(error, this.place, action);
    }
    const corrupt = (actual: FileVersion) =>
      new CorruptObjectError(
        `object ${key} in ${this.place.url} is corrupt: its ${actual.size} bytes hash to ${actual.sha256}, not to its name; delete it and run the task that produced it again (orrery retry)`,
      );
    await this.send(action, () => writeVerified(body, dest, sha256, mode, corrupt));
  }

  private async send<T>(action: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw s3Failure(error, this.place, action);
    }
  }
}

function base64(sha256hex: string): string {
  return Buffer.from(sha256hex, 'hex').toString('base64');
}

/** The endpoint as it may be printed: no user info, no query. */
export function displayEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(an invalid endpoint URL)';
  }
}
