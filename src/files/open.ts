/**
 * Opens the file repository a `--store` / ORRERY_STORE value names:
 *   - a plain path or a file: URL → a LocalRepository in that directory;
 *   - s3://bucket/prefix → an S3Repository; endpoint, region and credentials come from the
 *     environment (see S3_ENVIRONMENT and docs/s3.md).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '../core/errors.js';
import { LocalRepository } from './local-repository.js';
import type { FileRepository } from './repository.js';
import type { S3RepositoryOptions } from './s3-repository.js';

/** The environment variables an s3:// repository reads, for docs and `--help`. */
export const S3_ENVIRONMENT = {
  ORRERY_S3_ENDPOINT: 'endpoint URL of an S3-compatible server (wins over AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL); unset = AWS S3',
  AWS_REGION: 'region (or AWS_DEFAULT_REGION); default us-east-1',
  AWS_ACCESS_KEY_ID: 'access key; with AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). Unset = the SDK default chain (profile, instance or pod role)',
  ORRERY_S3_FORCE_PATH_STYLE: 'true|false: path-style URLs (endpoint/bucket/key); default true when an endpoint is set',
} as const;

export interface OpenFileRepositoryOptions {
  /** Where to read the S3 settings; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Check at once that an S3 bucket exists and may be used (default true), so a bad
   * configuration fails at start-up rather than at the first task. */
  check?: boolean;
  /** Overrides for the S3 repository (timeouts, multipart sizes). */
  s3?: Partial<S3RepositoryOptions>;
}

export async function openFileRepository(url: string, options: OpenFileRepositoryOptions = {}): Promise<FileRepository> {
  if (url.startsWith('s3://')) {
    // the S3 client is loaded only when used: `orrery run` on local files starts faster
    const { S3Repository } = await import('./s3-repository.js');
    const repo = new S3Repository({ ...s3OptionsFromUrl(url, options.env ?? process.env), ...options.s3 });
    if (options.check ?? true) {
      try {
        await repo.check();
      } catch (error) {
        repo.close();
        throw error;
      }
    }
    return repo;
  }
  if (url.startsWith('file:')) return new LocalRepository(fileURLToPath(url));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new InvalidInputError('', '--store', `unsupported file repository URL "${url.split('//')[0]}//…": use a directory path, a file: URL or s3://bucket/prefix`);
  }
  return new LocalRepository(path.resolve(url));
}

/** Bucket and prefix from the URL, connection settings from the environment. */
export function s3OptionsFromUrl(url: string, env: NodeJS.ProcessEnv): S3RepositoryOptions {
  const match = /^s3:\/\/([^/?#]+)\/?([^?#]*)$/.exec(url);
  // The URL is not echoed: a mistyped one may hold a key (s3://KEY:SECRET@bucket).
  if (!match?.[1]) throw new InvalidInputError('', '--store', 'not an S3 URL: expected s3://bucket or s3://bucket/prefix');
  const bucket = match[1];
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(bucket)) {
    throw new InvalidInputError('', '--store', 'the bucket name of an s3:// URL may hold only letters, digits, ".", "-" and "_" (credentials go in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, not in the URL)');
  }
  const prefix = decodeURIComponent(match[2] ?? '').replace(/^\/+|\/+$/g, '');

  const endpointVar = (['ORRERY_S3_ENDPOINT', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'] as const).find((name) => env[name]);
  const endpoint = endpointVar ? env[endpointVar] : undefined;
  if (endpointVar && endpoint && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new InvalidInputError('', endpointVar, 'expected an http:// or https:// URL of the S3 server, e.g. http://minio.internal:9000');
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    const missing = accessKeyId ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID';
    throw new InvalidInputError('', missing, 'is not set: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together');
  }
  const credentials =
    accessKeyId && secretAccessKey
      ? { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
      : undefined;
  return {
    bucket,
    prefix,
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    credentials,
    forcePathStyle: parseFlag(env.ORRERY_S3_FORCE_PATH_STYLE, 'ORRERY_S3_FORCE_PATH_STYLE') ?? Boolean(endpoint),
  };
}

function parseFlag(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new InvalidInputError('', name, `"${value}" is not a flag: use true or false`);
}
