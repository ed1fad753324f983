/**
 * Splits a byte stream into lines for the attempt log. Lines longer than `maxLineBytes`
 * are cut into pieces (nothing is dropped, memory stays bounded); bytes that are not
 * UTF-8 become U+FFFD rather than failing the task.
 */
const decoder = new TextDecoder('utf-8', { fatal: false });

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineBytes = 64 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      this.append(chunk.subarray(start, end));
      if (newline === -1) return;
      this.emit();
      start = newline + 1;
    }
  }

  /** Emits a last line that had no newline. */
  end(): void {
    if (this.pendingBytes > 0) this.emit();
  }

  private append(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      const room = this.maxLineBytes - this.pendingBytes;
      const piece = bytes.subarray(offset, offset + room);
      this.pending.push(piece);
      this.pendingBytes += piece.length;
      offset += piece.length;
      if (this.pendingBytes >= this.maxLineBytes) this.emit();
    }
  }

  private emit(): void {
    let line = decoder.decode(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending));
    if (line.endsWith('\r')) line = line.slice(0, -1);
    this.pending = [];
    this.pendingBytes = 0;
    this.onLine(line);
  }
}
