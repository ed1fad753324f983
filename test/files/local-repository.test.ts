/**
 * How the local file repository stages inputs: hard links where it can (a name for the
 * object's inode, nothing allocated or freed), symbolic links across file systems.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalRepository } from '../../src/files/local-repository.js';

describe('local file repository staging', () => {
  let dir: string;
  let repo: LocalRepository;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-local-repo-'));
    repo = new LocalRepository(path.join(dir, 'repo'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function stored(content: string) {
    const file = path.join(dir, 'out.txt');
    fs.writeFileSync(file, content);
    return repo.putMove(file);
  }

  it('stages an input as a read-only hard link to its object on the same file system', async () => {
    const version = await stored('flux 1.0\n');
    const dest = path.join(dir, 'scratch', 'in', 'lc.txt');
    await repo.stage(version.sha256, dest);
    const staged = fs.lstatSync(dest);
    expect(staged.isSymbolicLink()).toBe(false);
    expect(staged.ino).toBe(fs.statSync(repo.objectPath(version.sha256)).ino);
    expect(staged.mode & 0o222).toBe(0);
    expect(fs.readFileSync(dest, 'utf8')).toBe('flux 1.0\n');
    // removing the staged name leaves the object
    fs.unlinkSync(dest);
    expect(fs.readFileSync(repo.objectPath(version.sha256), 'utf8')).toBe('flux 1.0\n');
  });

  const other = fs.existsSync('/dev/shm') && fs.statSync('/dev/shm').dev !== fs.statSync(os.tmpdir()).dev ? '/dev/shm' : null;
  it.runIf(other !== null)('stages a symbolic link where the scratch directory is on another file system', async () => {
    const version = await stored('flux 2.0\n');
    const elsewhere = fs.mkdtempSync(path.join(other!, 'orrery-stage-'));
    try {
      const dest = path.join(elsewhere, 'lc.txt');
      await repo.stage(version.sha256, dest);
      expect(fs.lstatSync(dest).isSymbolicLink()).toBe(true);
      expect(fs.readFileSync(dest, 'utf8')).toBe('flux 2.0\n');
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
