/** What the API's routes share: the task database, the product bytes, the live feed. */
import type { Hono } from 'hono';
import { NotFoundError } from '../core/errors.js';
import type { TaskState } from '../core/types.js';
import { LocalRepository } from '../files/local-repository.js';
import type { FileRepository } from '../files/repository.js';
import type { GroupEdge, JobRecord, Store } from '../store/store.js';
import type { AuthEnv } from './auth.js';
import type { LiveFeed } from './live-feed.js';

/**
 * Where the bytes of a product version come from: the job's file repository (local or S3,
 * as `openFileRepository` opens it). Only `open` is needed.
 */
export type ProductSource = Pick<FileRepository, 'open'>;

/** Product bytes from a local content-addressed repository directory (tests, benchmarks). */
export function localProducts(root: string): ProductSource {
  return new LocalRepository(root);
}

export interface ApiContext {
  store: Store;
  products: ProductSource;
  feed: LiveFeed;
  /** Said after a retry: how the re-queued tasks will run (e.g. "run `orrery run 3`"). */
  retryHint(job: JobRecord): string;
  groupEdges(jobId: number, total: number): Promise<GroupEdge[]>;
  /** Milliseconds between two looks at a followed log. */
  pollMs: number;
}

export type ApiApp = Hono<AuthEnv>;

export function totalOf(counts: Record<TaskState, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/**
 * The edges between a job's task groups change only when tasks are added (by spawning or
 * dynamic loops), so they are kept per job and recomputed when its task count changes.
 */
export function groupEdgeCache(store: Store): ApiContext['groupEdges'] {
  const cache = new Map<number, { total: number; edges: Promise<GroupEdge[]> }>();
  return (jobId, total) => {
    const hit = cache.get(jobId);
    if (hit && hit.total === total) return hit.edges;
    const edges = store.groupEdges(jobId);
    cache.set(jobId, { total, edges });
    edges.catch(() => cache.delete(jobId));
    return edges;
  };
}

export function notFound(what: string): never {
  throw new NotFoundError(what);
}
