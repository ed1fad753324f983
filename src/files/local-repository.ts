/**
 * A file repository in a local directory: objects/<first two hex>/<sha256>.
 * New bytes are written to a temporary name in the same directory and renamed into
 * place, so a crash leaves either no object or a complete one. Objects are made
 * read-only; tasks get them as symbolic links (like Nextflow's work directories).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
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
    if (await exists(target)) {
      await fs.rm(file, { force: true });
      return version;
    }
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.chmod(file, 0o444);
    try {
      await fs.rename(file, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await this.copyIn(file, target);
    }
    return version;
  }

  async putCopy(file: string): Promise<FileVersion> {
    const version = await hashFile(file);
    const target = this.objectPath(version.sha256);
    if (!(await exists(target))) {
      await fs.mkdir(path.dirname(target), { recursive: true });
      await this.copyIn(file, target);
    }
    return version;
  }

  has(sha256: string): Promise<boolean> {
    return exists(this.objectPath(sha256));
  }

  async stage(sha256: string, dest: string): Promise<void> {
    if (!(await this.has(sha256))) {
      throw new InfrastructureError(`the file repository ${this.root} has no object ${sha256}: it was deleted or the repository moved; re-run the task that produced it`);
    }
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.symlink(this.objectPath(sha256), dest);
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

  private async copyIn(file: string, target: string): Promise<void> {
    const temp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    await fs.copyFile(file, temp);
    await fs.chmod(temp, 0o444);
    await fs.rename(temp, target);
  }
}

export async function hashFile(file: string): Promise<FileVersion> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
