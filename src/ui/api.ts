/** The dashboard's view of the HTTP API (docs/dashboard.md): typed fetches, same origin. */

export type TaskState = 'waiting' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'cached' | 'upstream_failed';
export type Counts = Record<TaskState, number>;
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const STATES: TaskState[] = ['succeeded', 'cached', 'running', 'queued', 'waiting', 'failed', 'upstream_failed', 'cancelled'];

export interface Info {
  version: string;
  mode: string;
  access: 'none' | 'read' | 'admin';
}

export interface JobSummary {
  id: number;
  name: string;
  state: string;
  workdir: string;
  sourceFile: string | null;
  createdAt: number;
  finishedAt: number | null;
  counts: Counts;
  total: number;
}

export interface TaskRow {
  id: number;
  jobId: number;
  name: string;
  type: string;
  state: TaskState;
  loop: JsonObject;
  source: string;
  attempts: number;
  maxAttempts: number;
  worker: string | null;
  error: string | null;
  queuedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface JobDetail extends JobSummary {
  types: Array<{ type: string; counts: Counts; total: number }>;
  failures: { total: number; tasks: Array<TaskRow & { errorText: string | null }> };
}

export interface TaskPage {
  total: number;
  limit: number;
  offset: number;
  tasks: TaskRow[];
}

export interface GraphNode {
  id: string;
  kind: 'group' | 'task';
  type: string;
  source?: string;
  counts?: Counts;
  total?: number;
  loopVariables?: string[];
  expandable?: boolean;
  firstTaskId?: number;
  taskId?: number;
  name?: string;
  state?: TaskState;
  group?: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: Array<{ from: string; to: string }>;
}

export interface Attempt {
  id: number;
  taskId: number;
  number: number;
  state: string;
  worker: string;
  host: string;
  pid: number | null;
  startedAt: number;
  finishedAt: number | null;
  exitCode: number | null;
  signal: string | null;
  wallMs: number | null;
  cpuMs: number | null;
  peakRss: number | null;
  error: string | null;
}

export interface TimelineAttempt {
  id: number;
  taskId: number;
  taskName: string;
  taskType: string;
  number: number;
  state: string;
  worker: string;
  host: string;
  startedAt: number;
  finishedAt: number | null;
}

export interface ProductRef {
  name: string;
  path: string;
  sha256: string | null;
  size: number | null;
  versions: number;
  qcPassed: boolean | null;
  producer: string | null;
  producerTaskId: number | null;
  download: string | null;
}

export interface TaskLink {
  id: number;
  name: string;
  type: string;
  state: TaskState;
}

export interface TaskDetail {
  id: number;
  jobId: number;
  name: string;
  type: string;
  state: TaskState;
  params: JsonObject;
  loop: JsonObject;
  source: string;
  result: JsonObject | null;
  error: string | null;
  attempts: Attempt[];
  maxAttempts: number;
  worker: string | null;
  createdAt: number;
  queuedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  cacheKey: string | null;
  job: { id: number; name: string; state: string };
  inputs: ProductRef[];
  outputs: ProductRef[];
  upstream: TaskLink[];
  downstream: TaskLink[];
  upstreamTotal: number;
  downstreamTotal: number;
  cachedFrom: { id: number; name: string; jobId: number } | null;
}

export interface LogLine {
  attemptId: number;
  seq: number;
  stream: 'stdout' | 'stderr' | 'orrery';
  at: number;
  line: string;
}

export interface Logs {
  attempt: { id: number; number: number; state: string } | null;
  cachedFrom: { id: number; name: string } | null;
  done: boolean;
  lines: LogLine[];
}

export interface Results {
  type: string;
  total: number;
  columns: { loop: string[]; params: string[]; results: string[] };
  rows: Array<{ id: number; name: string; state: TaskState; loop: JsonObject; params: JsonObject; result: JsonObject }>;
}

export interface Worker {
  worker: string;
  host: string;
  running: Array<{ taskId: number; taskName: string; jobId: number; startedAt: number }>;
  attempts: number;
  failed: number;
  lastSeen: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function get<T>(path: string): Promise<T> {
  const response = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!response.ok) throw new ApiError(response.status, await errorOf(response));
  return (await response.json()) as T;
}

export async function post<T>(path: string): Promise<T> {
  const response = await fetch(path, { method: 'POST', credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!response.ok) throw new ApiError(response.status, await errorOf(response));
  return (await response.json()) as T;
}

async function errorOf(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: string };
    return body.error ?? `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

/** `?a=1&b=x` from the defined values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
