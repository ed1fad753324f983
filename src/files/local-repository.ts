/**
 * A file repository in a local directory: objects/<first two hex>/<sha256>.
 * New bytes are written to a temporary name in the same directory and renamed into
 * place, so a crash leaves either no object or a complete one. Objects are made
 * read-only; tasks get them as hard links (symbolic links where a hard link cannot be made,
 * as across file systems): a hard link is a name, where a symbolic link is an inode made and
 * freed per task (see worker/scratch-dirs.ts for why that matters).
 *
 * Taking an output in and staging an input are a handful of metadata calls on a local
 * disk: they are made synchronously (microseconds each, where an asynchronous call costs a
 * round trip through the thread pool), and small files are hashed in one read. Large
 * files are still hashed and copied as streams, so the worker never stalls on them.
 */
import { createHash, randomBytes } from 'node:crypto';
import fsSync, { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { InfrastructureError } from '../core/errors.js';
import type { FileVersion } from '../store/store.js';
import type { FileRepository } from './repository.js';

export class LocalRepository implements FileRepository {
  constructor(private readonly root: string) {}

  async putMove(file: string): Promise<FileVersion> {
    const version = await hashFile(file);
    const target = this.objectPath(version.sha256);
    if (fsSync.existsSync(target)) {
      fsSync.rmSync(file, { force: true });
      return version;
    }
    this.makeObjectDir(target);
    fsSync.chmodSync(file, 0o444);
    try {
      fsSync.renameSync(file, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await this.copyIn(file, target);
    }
    return version;
  }

  async putCopy(file: string): Promise<FileVersion> {
    const version = await hashFile(file);
    const target = this.objectPath(version.sha256);
    if (!fsSync.existsSync(target)) {
      this.makeObjectDir(target);
      await this.copyIn(file, target);
    }
    return version;
  }

  async has(sha256: string): Promise<boolean> {
    return fsSync.existsSync(this.objectPath(sha256));
  }

  async stage(sha256: string, dest: string): Promise<void> {
    const object = this.objectPath(sha256);
    if (!fsSync.existsSync(object)) {
      throw new InfrastructureError(`the file repository ${this.root} has no object ${sha256}: it was deleted or the repository moved; re-run the task that produced it`);
    }
    fsSync.mkdirSync(path.dirname(dest), { recursive: true });
    try {
      fsSync.linkSync(object, dest);
    } catch {
      // another file system (EXDEV), one without hard links (EPERM), too many links (EMLINK)
      fsSync.symlinkSync(object, dest);
    }
  }

  async open(sha256: string): Promise<Readable | null> {
    return (await this.has(sha256)) ? createReadStream(this.objectPath(sha256)) : null;
  }

  async copyOut(sha256: string, dest: string): Promise<void> {
    await fs.mkdir(path.dirname(dest), { recursive: true });
    const temp = `${dest}.orrery-${randomBytes(4).toString('hex')}`;
    await fs.copyFile(this.objectPath(sha256), temp);
    await fs.chmod(temp, 0o644);
    await fs.rename(temp, dest);
  }

  objectPath(sha256: string): string {
    return path.join(this.root, 'objects', sha256.slice(0, 2), sha256);
  }

  private makeObjectDir(target: string): void {
    fsSync.mkdirSync(path.dirname(target), { recursive: true });
  }

  private async copyIn(file: string, target: string): Promise<void> {
    const temp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    await fs.copyFile(file, temp);
    await fs.chmod(temp, 0o444);
    await fs.rename(temp, target);
  }
}

/** Files up to this size are hashed from one synchronous read. */
const SMALL_FILE = 1024 * 1024;

export async function hashFile(file: string): Promise<FileVersion> {
  const { size: statSize } = fsSync.statSync(file);
  if (statSize <= SMALL_FILE) {
    const bytes = fsSync.readFileSync(file);
    return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  }
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}
