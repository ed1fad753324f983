/**
 * Scratch directories are recycled: emptied when a task is done and renamed into place for
 * a later one (the same inodes), never showing a later task anything an earlier one left
 * but the task file, which the later task overwrites.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScratchDirectories } from '../../src/worker/scratch-dirs.js';

const KEPT = '.orrery-task.json';

describe('scratch directories', () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-scratch-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const inode = (dir: string) => fs.statSync(dir).ino;
  const listing = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? [`${e.name}/`, ...listing(path.join(dir, e.name)).map((n) => `${e.name}/${n}`)] : [e.name]))
      .sort();

  it('makes nested directories, parents first, and leaves existing ones as they are', () => {
    const dirs = new ScratchDirectories(root, KEPT);
    const task = path.join(root, '1-a');
    dirs.make(task, [path.join(task, 'raw', 'deep'), path.join(task, 'raw')]);
    expect(listing(task)).toEqual(['raw/', 'raw/deep/']);
    fs.writeFileSync(path.join(task, 'raw', 'kept.txt'), 'x');
    dirs.make(path.join(root, '2-b'), [path.join(task, 'raw')]);
    expect(fs.readFileSync(path.join(task, 'raw', 'kept.txt'), 'utf8')).toBe('x');
  });

  it('empties a finished task directory and gives its directories to the next task, holding only the task file', () => {
    const dirs = new ScratchDirectories(root, KEPT);
    const first = path.join(root, '1-a');
    const firstDirs = [path.join(first, 'a'), path.join(first, 'b'), path.join(first, 'b', 'c')];
    dirs.make(first, firstDirs);
    const firstInode = inode(first);
    const used = new Set(firstDirs.map(inode));
    fs.writeFileSync(path.join(first, KEPT), '{"task": "first"}');
    fs.writeFileSync(path.join(first, 'stray.txt'), 'stale');
    fs.writeFileSync(path.join(first, 'b', 'c', KEPT), 'not at the top: removed');
    fs.symlinkSync('/etc/hostname', path.join(first, 'a', 'input'));
    dirs.discard(first);
    expect(fs.existsSync(first)).toBe(false);

    const second = path.join(root, '2-b');
    const secondDirs = [path.join(second, 'x'), path.join(second, 'y'), path.join(second, 'z')];
    dirs.make(second, secondDirs);
    // the same directories (inodes): the scratch directory is the first one's
    expect(inode(second)).toBe(firstInode);
    for (const dir of secondDirs) expect(used.has(inode(dir))).toBe(true);
    expect(listing(second)).toEqual([KEPT, 'x/', 'y/', 'z/']);
    expect(fs.readdirSync(root).sort()).toEqual(['.spare', '2-b']);
  });

  it('clears what an earlier process left among the spare directories before using them', () => {
    fs.mkdirSync(path.join(root, '.spare', '7', 'junk'), { recursive: true });
    fs.writeFileSync(path.join(root, '.spare', '7', 'junk', 'file'), 'old');
    const dirs = new ScratchDirectories(root, KEPT);
    const task = path.join(root, '3-c');
    dirs.make(task, []);
    expect(listing(task)).toEqual([]);
    expect(fs.readdirSync(path.join(root, '.spare'))).toEqual([]);
  });

  it('keeps at most 64 spare directories of each kind and removes the rest', () => {
    const dirs = new ScratchDirectories(root, KEPT);
    const task = path.join(root, '4-d');
    dirs.make(task, Array.from({ length: 80 }, (_, i) => path.join(task, `d${i}`)));
    dirs.discard(task);
    // 64 plain directories and the scratch directory itself
    expect(fs.readdirSync(path.join(root, '.spare'))).toHaveLength(65);
  });
});
