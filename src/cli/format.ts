/** Plain-text output for people: aligned tables, durations, sizes. */
import { formatBytes } from '../core/bytes.js';
import type { TaskState } from '../core/types.js';

export function table(header: string[], rows: Array<Array<string | number | null>>): string {
  const text = rows.map((row) => row.map((cell) => (cell === null ? '' : String(cell))));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...text.map(line)].join('\n');
}

export function seconds(ms: number | null): string {
  if (ms === null) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function bytes(n: number | null): string {
  return n === null ? '' : formatBytes(n);
}

export function time(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** "3 succeeded, 1 failed" — non-zero states only, in lifecycle order. */
export function countsLine(counts: Record<TaskState, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`);
  return parts.length > 0 ? parts.join(', ') : 'no tasks';
}

export function firstLine(text: string | null): string {
  if (!text) return '';
  return clip(text.split('\n')[0]);
}

/** An error in one line: its first line and, for a traceback, its last ("exit code 1: ValueError: …"). */
export function errorSummary(text: string | null): string {
  if (!text) return '';
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const head = lines[0] ?? '';
  const last = lines.length > 1 ? lines[lines.length - 1].trim() : '';
  return clip(last ? `${head}: ${last}` : head);
}

function clip(line: string): string {
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}
