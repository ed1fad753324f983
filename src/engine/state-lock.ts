/**
 * One `orrery run` at a time per state directory. The lock file holds the owner's pid;
 * a lock whose owner is dead (kill -9, reboot) is taken over. Holding it also tells
 * the new owner that every task still marked running by the embedded worker was
 * orphaned by a dead run, so it can be re-queued at once instead of waiting out a lease.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InfrastructureError } from '../core/errors.js';

export class StateLock {
  private constructor(private readonly file: string) {}

  static acquire(stateDir: string): StateLock {
    fs.mkdirSync(stateDir, { recursive: true });
    const file = path.join(stateDir, 'run.lock');
    for (let tries = 0; tries < 3; tries++) {
      try {
        fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
        return new StateLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = Number(fs.readFileSync(file, 'utf8').trim());
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new InfrastructureError(
          `another orrery run (pid ${owner}) is using ${stateDir}; wait for it to finish, stop it, or give this run its own --state-dir`,
        );
      }
      fs.rmSync(file, { force: true });
    }
    throw new InfrastructureError(`cannot take the lock ${file}; remove it if no orrery run is active`);
  }

  release(): void {
    try {
      if (Number(fs.readFileSync(this.file, 'utf8').trim()) === process.pid) fs.rmSync(this.file);
    } catch {
      // already gone
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
