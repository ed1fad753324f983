/**
 * Collects an attempt's output lines for the task database: numbered, written in
 * batches, capped so a runaway code cannot fill the disk, and with the last lines of
 * each stream kept in memory for the error text (the traceback).
 */
import type { LogLine, Store } from '../store/store.js';

const TAIL_LINES = 20;
const TAIL_CHARS = 4000;

export class AttemptLog {
  private seq = 0;
  private bytes = 0;
  private truncated = false;
  private buffer: LogLine[] = [];
  private readonly tails: Record<'stdout' | 'stderr', string[]> = { stdout: [], stderr: [] };

  constructor(
    private readonly store: Store,
    private readonly attemptId: number,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  add(stream: 'stdout' | 'stderr' | 'orrery', line: string): void {
    if (stream !== 'orrery') {
      const tail = this.tails[stream];
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    }
    if (this.truncated) return;
    this.bytes += line.length;
    if (this.bytes > this.maxBytes) {
      this.truncated = true;
      line = `[orrery] log truncated: this attempt wrote more than ${this.maxBytes} bytes; later lines are not kept (the error text still shows the last lines)`;
      stream = 'orrery';
    }
    this.buffer.push({ attemptId: this.attemptId, seq: ++this.seq, stream, at: Date.now(), line });
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const lines = this.buffer;
    this.buffer = [];
    try {
      await this.store.appendLogs(lines);
    } catch (error) {
      // keep them for the next flush (the database may be restarting)
      this.buffer = lines.concat(this.buffer);
      throw error;
    }
  }

  /** The end of stderr (or of stdout when stderr is empty), for the attempt's error text. */
  tail(): string {
    const lines = this.tails.stderr.length > 0 ? this.tails.stderr : this.tails.stdout;
    const text = lines.join('\n');
    return text.length > TAIL_CHARS ? `…${text.slice(-TAIL_CHARS)}` : text;
  }
}
