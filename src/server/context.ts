/** What the API's routes share: the task database, the product bytes, the live feed. */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Hono } from 'hono';
import { NotFoundError } from '../core/errors.js';
import type { TaskState } from '../core/types.js';
import { LocalRepository } from '../files/local-repository.js';
import type { GroupEdge, JobRecord, Store } from '../store/store.js';
import type { AuthEnv } from './auth.js';
import type { LiveFeed } from './live-feed.js';

/** Where the bytes of a product version come from (the file repository). */
export interface ProductSource {
  /** The bytes named by sha256, or null when the repository no longer has them. */
  open(sha256: string): Promise<ReadableStream<Uint8Array> | null>;
}

/** Product bytes from a local content-addressed repository (embedded mode). */
export function localProducts(root: string): ProductSource {
  const repository = new LocalRepository(root);
  return {
    async open(sha256) {
      const file = repository.objectPath(sha256);
      try {
        await fs.access(file);
      } catch {
        return null;
      }
      return Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    },
  };
}

/**
 * Product bytes from any file repository that can open a version as a stream (the local one,
 * S3): what `orrery server` passes for distributed mode.
 */
export function productsFrom(repository: { open(sha256: string): Promise<Readable | null> }): ProductSource {
  return {
    async open(sha256) {
      const stream = await repository.open(sha256);
      return stream ? (Readable.toWeb(stream) as ReadableStream<Uint8Array>) : null;
    },
  };
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
