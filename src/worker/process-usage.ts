/**
 * Peak memory of running process trees, sampled from /proc (Linux). A process's VmHWM is
 * its own peak resident set, so one sample while it lives is enough for it; for a tree we
 * keep the largest sum of current resident sets seen, and the largest single peak. The
 * launcher's figure (ru_maxrss, the largest single process) covers commands of any length;
 * this adds what only the sum shows, for trees that run for a while: one timer samples
 * every tree watched, each from its second tick on, so a command shorter than the sampling
 * period costs nothing here and goes unmeasured (null).
 */
import fs from 'node:fs';

const PAGE_KB = 1024;

/** One tree a TreeMemorySampler watches, and the largest figure seen for it so far. */
export class WatchedTree {
  peak: number | null = null;
  /** Not sampled yet: it was watched after the last tick. */
  fresh = true;

  constructor(readonly rootPid: number) {}
}

export class TreeMemorySampler {
  private readonly trees = new Set<WatchedTree>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly periodMs = 100) {}

  watch(rootPid: number): WatchedTree {
    const tree = new WatchedTree(rootPid);
    this.trees.add(tree);
    if (this.timer === null && process.platform === 'linux') {
      this.timer = setInterval(tick, this.periodMs, this);
      this.timer.unref();
    }
    return tree;
  }

  /** Stops watching a tree; returns its peak in bytes, or null when it was never measured. */
  unwatch(tree: WatchedTree): number | null {
    this.trees.delete(tree);
    return tree.peak;
  }

  sampleAll(): void {
    // the timer stops after a tick with nothing to watch, not at every unwatch: between
    // two short commands it would be made and cleared again for nothing
    if (this.trees.size === 0) {
      clearInterval(this.timer!);
      this.timer = null;
      return;
    }
    for (const tree of this.trees) {
      if (tree.fresh) tree.fresh = false;
      else sample(tree);
    }
  }
}

function tick(sampler: TreeMemorySampler): void {
  sampler.sampleAll();
}

function sample(tree: WatchedTree): void {
  let sum = 0;
  let maxHwm = 0;
  for (const pid of descendants(tree.rootPid)) {
    const status = readStatus(pid);
    if (!status) continue;
    sum += status.rssKb;
    maxHwm = Math.max(maxHwm, status.hwmKb);
  }
  const bytes = Math.max(sum, maxHwm) * PAGE_KB;
  if (bytes > 0) tree.peak = Math.max(tree.peak ?? 0, bytes);
}

/** The pid and all its descendants, via /proc/<pid>/task/<pid>/children. */
export function descendants(root: number): number[] {
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    try {
      const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      if (children) for (const child of children.split(/\s+/)) stack.push(Number(child));
    } catch {
      // the process ended between listing and reading
    }
  }
  return out;
}

function readStatus(pid: number): { rssKb: number; hwmKb: number } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+)/.exec(text);
    const hwm = /VmHWM:\s+(\d+)/.exec(text);
    return { rssKb: rss ? Number(rss[1]) : 0, hwmKb: hwm ? Number(hwm[1]) : 0 };
  } catch {
    return null;
  }
}

/** Start time of a process (clock ticks after boot), to tell a reused pid from the original. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return null;
  }
}
