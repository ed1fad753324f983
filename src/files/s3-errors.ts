/**
 * Turns what the AWS SDK throws into one-line `InfrastructureError`s that name the
 * repository (s3://bucket/prefix) and the endpoint — never a key or secret — and say what
 * to check. The CLI maps InfrastructureError to exit code 3.
 */
import { InfrastructureError } from '../core/errors.js';

/** Where a repository lives, as it may be shown to a person. */
export interface S3Place {
  /** s3://bucket/prefix */
  url: string;
  bucket: string;
  /** The endpoint without user info, or "AWS S3 (region)". */
  endpoint: string;
}

/** The fields of SDK and Node errors that classify a failure. */
interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

export function httpStatus(error: unknown): number | undefined {
  return (error as SdkError | null)?.$metadata?.httpStatusCode;
}

/** A 404 from HeadObject/GetObject: the object is absent (the bucket is checked separately). */
export function isNotFound(error: unknown): boolean {
  const name = (error as SdkError | null)?.name;
  return name === 'NotFound' || name === 'NoSuchKey' || (httpStatus(error) === 404 && name !== 'NoSuchBucket');
}

/**
 * @param error  what the SDK (or a stream) threw
 * @param place  the repository, for the message
 * @param action what was being done, e.g. "upload objects/ab/ab12…"
 */
export function s3Failure(error: unknown, place: S3Place, action: string): InfrastructureError {
  if (error instanceof InfrastructureError) return error;
  const e = (error ?? {}) as SdkError;
  const status = httpStatus(error);
  const name = e.name ?? 'Error';
  const at = `at ${place.endpoint}`;

  if (name === 'NoSuchBucket') return bucketMissing(place);
  if (name === 'CredentialsProviderError') {
    return new InfrastructureError(
      `no S3 credentials for ${place.url} ${at}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or use an AWS profile or instance role)`,
    );
  }
  if (status === 401 || status === 403 || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied') {
    const why = name === 'Unknown' || name === 'Forbidden' ? `HTTP ${status}` : name;
    return new InfrastructureError(
      `S3 refused access to ${place.url} ${at} (${why}) during ${action}: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and that they may list, read and write bucket "${place.bucket}"`,
    );
  }
  const code = e.code ?? (name === 'TimeoutError' ? 'timed out' : undefined);
  if (code && (NETWORK_CODES.has(code) || code === 'timed out')) {
    return new InfrastructureError(
      `cannot reach the S3 endpoint ${place.endpoint} for ${place.url} (${code}) during ${action}: check ORRERY_S3_ENDPOINT / AWS_ENDPOINT_URL and that the server is running and reachable from this machine`,
    );
  }
  const detail = [name, status ? `HTTP ${status}` : '', oneLine(e.message)].filter(Boolean).join(', ');
  return new InfrastructureError(`S3 ${action} in ${place.url} ${at} failed (${detail}): check the S3 server's health and logs`);
}

export function bucketMissing(place: S3Place): InfrastructureError {
  return new InfrastructureError(
    `S3 bucket "${place.bucket}" does not exist at ${place.endpoint} (file repository ${place.url}): create the bucket or correct the bucket name in --store / ORRERY_STORE`,
  );
}

function oneLine(text: string | undefined): string {
  if (!text || text === 'UnknownError') return '';
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}
