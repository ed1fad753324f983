/**
 * The file repository port: content-addressed storage of product bytes. A product
 * version names its bytes by sha256, so a version is either wholly present or absent —
 * never half-written — and identical outputs are stored once.
 */
import type { Readable } from 'node:stream';
import type { FileVersion } from '../store/store.js';

export interface FileRepository {
  /** Hashes a finished file and takes it into the repository (the file is moved away). */
  putMove(file: string): Promise<FileVersion>;
  /** Hashes a file and copies it in, leaving the original (external inputs). */
  putCopy(file: string): Promise<FileVersion>;
  has(sha256: string): Promise<boolean>;
  /** Makes the bytes available at `dest` for a task to read. */
  stage(sha256: string, dest: string): Promise<void>;
  /** The bytes as a stream (for downloads and printing), or null when the repository lacks them. */
  open(sha256: string): Promise<Readable | null>;
  /** Writes a plain copy of the bytes to `dest`. */
  copyOut(sha256: string, dest: string): Promise<void>;
  /** Releases connections (S3); a no-op for the local repository. */
  close?(): void;
}
