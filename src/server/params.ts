/** The HTTP API's query parameters, validated at the edge (zod); handlers get typed values. */
import type { Context } from 'hono';
import { z } from 'zod';
import { allTaskStates } from '../core/states.js';
import type { JsonValue, TaskState } from '../core/types.js';
import type { TaskFilter } from '../store/store.js';

/** A bad request: the message names the parameter and what is expected. */
export class BadRequestError extends Error {
  override name = 'BadRequestError';
}

const count = (max: number, fallback: number) => z.coerce.number().int().min(0).max(max).default(fallback);

const taskListSchema = z.object({
  state: z.enum(allTaskStates as [TaskState, ...TaskState[]]).optional(),
  type: z.string().min(1).max(255).optional(),
  name: z.string().min(1).max(512).optional(),
  source: z.string().min(1).max(1024).optional(),
  limit: count(1000, 50),
  offset: count(10_000_000, 0),
});

const logSchema = z.object({
  attempt: z.coerce.number().int().min(1).optional(),
  tail: z.coerce.number().int().min(1).max(100_000).optional(),
  after: z.coerce.number().int().min(-1).optional(),
  limit: count(100_000, 10_000),
  follow: z.enum(['0', '1', 'true', 'false']).optional(),
});

function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new BadRequestError(`query parameter ${issue.path.join('.') || '?'}: ${issue.message}`);
}

/** A loop value as typed in a URL: JSON when it parses (`2`, `true`, `"a"`), the text otherwise. */
function loopValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** `?state=failed&type=bls&name=search_1&loop.noise_index=2&limit=50&offset=100` */
export function taskListQuery(c: Context): TaskFilter & { limit: number; offset: number } {
  const query = c.req.query();
  const parsed = parse(taskListSchema, query);
  const loop: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(query)) if (key.startsWith('loop.') && key.length > 5) loop[key.slice(5)] = loopValue(value);
  return { ...parsed, ...(Object.keys(loop).length > 0 ? { loop } : {}) };
}

export function logQuery(c: Context) {
  const parsed = parse(logSchema, c.req.query());
  return { ...parsed, follow: parsed.follow === '1' || parsed.follow === 'true' };
}

/** A yes/no query parameter: `1`/`true` or `0`/`false`, absent = no. */
export function flagQuery(c: Context, name: string): boolean {
  const value = parse(z.object({ [name]: z.enum(['0', '1', 'true', 'false']).optional() }), c.req.query())[name];
  return value === '1' || value === 'true';
}

export function limitQuery(c: Context, max: number, fallback: number): { limit: number; offset: number } {
  return parse(z.object({ limit: count(max, fallback), offset: count(10_000_000, 0) }), c.req.query());
}

export function typeQuery(c: Context): string {
  return parse(z.object({ type: z.string().min(1).max(255) }), c.req.query()).type;
}

export function idParam(c: Context, name: string): number {
  const value = c.req.param(name) ?? '';
  if (!/^\d+$/.test(value)) throw new BadRequestError(`${name} must be a numeric id, got ${JSON.stringify(value)}`);
  return Number(value);
}
