/** State colours for canvases (graph, charts); styles.css uses the same ones. */
import type { TaskState } from './api.js';

export const STATE_COLORS: Record<TaskState | 'lost', string> = {
  succeeded: '#2f9e44',
  cached: '#74b816',
  running: '#1c7ed6',
  queued: '#74c0fc',
  waiting: '#ced4da',
  failed: '#e03131',
  upstream_failed: '#f08c00',
  cancelled: '#868e96',
  lost: '#ae3ec9',
};

export function stateColor(state: string): string {
  return STATE_COLORS[state as TaskState] ?? '#adb5bd';
}
