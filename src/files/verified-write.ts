/**
 * Writing bytes that arrive from elsewhere (a remote repository) so that a reader never
 * sees wrong or partial content: the bytes go to a temporary name beside the destination,
 * their sha256 is computed as they stream past, and only bytes that hash to the name they
 * were fetched under are renamed into place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InfrastructureError } from '../core/errors.js';
import type { FileVersion } from '../store/store.js';

/** Stored bytes do not hash to their content address: the repository holds a corrupt copy. */
export class CorruptObjectError extends InfrastructureError {
  override name = 'CorruptObjectError';
}

/** A pass-through stream that hashes (sha256) and counts what flows through it. */
export class HashingStream extends Transform {
  // ES private fields: lib-storage reads a body's `size` property as its length
  readonly #hash = createHash('sha256');
  #bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    callback(null, chunk);
  }

  /** The version of everything that passed; call once, after the stream ended. */
  version(): FileVersion {
    return { sha256: this.#hash.digest('hex'), size: this.#bytes };
  }
}

/**
 * Streams `source` into `dest` (mode `mode`) if and only if its bytes hash to
 * `expected`; otherwise removes the temporary file and throws `mismatch(actual)`.
 */
export async function writeVerified(
  source: NodeJS.ReadableStream,
  dest: string,
  expected: string,
  mode: number,
  mismatch: (actual: FileVersion) => Error,
): Promise<void> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const temp = `${dest}.orrery-${randomBytes(4).toString('hex')}`;
  const hashing = new HashingStream();
  try {
    await pipeline(source, hashing, createWriteStream(temp, { mode: 0o600 }));
    const actual = hashing.version();
    if (actual.sha256 !== expected) throw mismatch(actual);
    await fs.chmod(temp, mode);
    await fs.rename(temp, dest);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}
