/**
 * Peak memory of a running process tree, sampled from /proc (Linux). A process's
 * VmHWM is its own peak resident set, so one sample while it lives is enough for it;
 * for the tree we keep the largest sum of current resident sets seen, and the largest
 * single peak. Processes shorter than the sampling period may go unmeasured (null).
 */
import fs from 'node:fs';

const PAGE_KB = 1024;

export class TreeMemorySampler {
  private peak: number | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly rootPid: number,
    private readonly periodMs = 100,
  ) {}

  start(): void {
    if (process.platform !== 'linux') return;
    this.timer = setInterval(() => this.sample(), this.periodMs);
    this.timer.unref();
  }

  stop(): number | null {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.peak;
  }

  private sample(): void {
    let sum = 0;
    let maxHwm = 0;
    for (const pid of descendants(this.rootPid)) {
      const status = readStatus(pid);
      if (!status) continue;
      sum += status.rssKb;
      maxHwm = Math.max(maxHwm, status.hwmKb);
    }
    const bytes = Math.max(sum, maxHwm) * PAGE_KB;
    if (bytes > 0) this.peak = Math.max(this.peak ?? 0, bytes);
  }
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
