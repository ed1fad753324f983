/**
 * The directories of a worker's scratch space, recycled: a task's scratch directory and the
 * subdirectories its inputs and outputs sit in are emptied when the task is done and kept in
 * `<scratch root>/.spare/`, then renamed into place for a later task, instead of being
 * removed and made again. A scratch directory keeps its task file (the protocol's
 * `.orrery-task.json`), which the next task's overwrites: files are inodes too.
 *
 * Why: a rename neither frees nor allocates an inode, and on some file systems allocating
 * inodes gets slow when many were freed recently — ext4 without a journal skips every inode
 * freed in the last minute or more when it looks for a free one, so with a few directories
 * made and removed per task, thousands a minute, most of a worker's time went to that search
 * in the kernel (a 1,500-task file DAG ran 20–28% faster, with 30% less system time).
 *
 * One worker process owns a scratch root (`orrery run` holds the state directory's lock; an
 * `orrery worker` has a root of its own), so the spare directories are tracked in memory;
 * what a killed process left in `.spare/` is removed by the next one to use the root.
 */
import fs from 'node:fs';
import path from 'node:path';

const SPARE = '.spare';
/** Spare directories kept at most, of each kind; more are removed. */
const MAX_SPARE = 64;

/**
 * The directories left in a scratch root besides the spare ones: for a process that owns the
 * root and has not used it yet, what a run that died left there.
 */
export function scratchLeftovers(root: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.filter((name) => name !== SPARE).map((name) => path.join(root, name));
}

export class ScratchDirectories {
  private readonly spareRoot: string;
  /** Spare scratch directories: empty but for, perhaps, the kept file. */
  private scratches: string[] = [];
  /** Spare plain directories: empty. */
  private plain: string[] = [];
  private ready = false;
  private named = 0;

  /** `keep`: the name of the file a scratch directory keeps when it is recycled. */
  constructor(
    readonly root: string,
    private readonly keep: string,
  ) {
    this.spareRoot = path.join(root, SPARE);
  }

  /**
   * Makes a task's scratch directory, then the directories inside it that the task needs,
   * parents first (one that exists already is left as it is), from spare ones where it can.
   * The scratch directory may hold the kept file of an earlier task: overwrite it.
   */
  make(scratch: string, inside: string[]): void {
    this.clearLeftovers();
    this.place(this.scratches.pop() ?? this.plain.pop(), scratch);
    for (const dir of [...new Set(inside)].sort((a, b) => a.length - b.length)) this.place(this.plain.pop(), dir);
  }

  /**
   * Empties a task's scratch directory — files and links removed (the kept file excepted),
   * subdirectories emptied the same way — and keeps it and its subdirectories as spare
   * ones. Whatever cannot be emptied so (a task left a directory without write permission)
   * is removed whole.
   */
  discard(scratch: string): void {
    try {
      this.empty(scratch, this.keep);
      this.spare(scratch, this.scratches);
    } catch {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  /** Renames a spare directory to `dir`, or makes `dir` when there is none or that fails. */
  private place(spare: string | undefined, dir: string): void {
    if (spare !== undefined) {
      try {
        fs.renameSync(spare, dir);
        return;
      } catch (error) {
        // `dir` is there already (renaming onto a non-empty directory fails), or its parent
        // is not: make it the ordinary way and keep the spare one
        this.plain.push(spare);
        if (!['ENOTEMPTY', 'EEXIST', 'ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
      }
    }
    fs.mkdirSync(dir, { recursive: true });
  }

  private empty(dir: string, except?: string): void {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        this.empty(full);
        this.spare(full, this.plain);
      } else if (entry.name !== except || !entry.isFile()) {
        fs.unlinkSync(full);
      }
    }
  }

  private spare(dir: string, pile: string[]): void {
    if (pile.length >= MAX_SPARE) {
      fs.rmSync(dir, { recursive: true, force: true });
      return;
    }
    const name = path.join(this.spareRoot, String(this.named++));
    fs.renameSync(dir, name);
    pile.push(name);
  }

  /** On first use, what an earlier process left among the spare directories is cleared away. */
  private clearLeftovers(): void {
    if (this.ready) return;
    fs.rmSync(this.spareRoot, { recursive: true, force: true });
    fs.mkdirSync(this.spareRoot, { recursive: true });
    this.ready = true;
  }
}
