/**
 * The hot statements of PostgreSQL (claim.ts, complete.ts, fail.ts) are written with `:name`
 * parameters, numbered once here, and sent as named prepared statements: each connection
 * parses and plans a text once, then only binds and executes it. Thousands of claims and
 * completions a second send the same few texts.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../schema.js';

/** Prepared-statement name of each hot text (a text's variants get names of their own). */
const preparedNames = new Map<string, string>();

/**
 * The connection pool under each Kysely instance that openPostgres made. A hot statement
 * outside a transaction goes to it directly, without Kysely's query machinery (executor,
 * connection provider, driver): a seventh of the worker's CPU per task in the queue
 * benchmark (0.39 ms then, 0.34 ms now).
 */
const pools = new WeakMap<Kysely<Database>, pg.Pool>();

export function registerPool(db: Kysely<Database>, pool: pg.Pool): void {
  pools.set(db, pool);
}

export interface Statement<P extends string> {
  readonly text: string;
  run<R>(db: Kysely<Database>, params: Record<P, unknown>): Promise<R[]>;
}

/**
 * A statement from SQL with `:name` parameters (a `::type` cast is not one). Every
 * parameter must be given when it runs: a missing one would silently be NULL.
 */
export function statement<P extends string>(name: string, sql: string): Statement<P> {
  const order: string[] = [];
  const text = sql.replace(/(?<![:\w]):([a-z]\w*)/gi, (_, param: string) => {
    if (!order.includes(param)) order.push(param);
    return `$${order.indexOf(param) + 1}`;
  });
  if (!preparedNames.has(text)) preparedNames.set(text, `orrery_${name}_${preparedNames.size + 1}`);
  return {
    text,
    async run<R>(db: Kysely<Database>, params: Record<P, unknown>): Promise<R[]> {
      const values = order.map((param) => {
        const value = (params as Record<string, unknown>)[param];
        if (value === undefined) throw new Error(`statement ${name}: no value for :${param}`);
        return value;
      });
      const pool = pools.get(db);
      if (pool) return (await pool.query<R & pg.QueryResultRow>({ name: preparedNames.get(text), text, values })).rows;
      // in a transaction: on its connection, through Kysely (prepareHotStatements names it)
      return (await db.executeQuery<R>(CompiledQuery.raw(text, values))).rows;
    },
  };
}

/**
 * Makes a pooled client send the hot texts as named prepared statements (Kysely sends every
 * query unnamed: parsed and planned each time). Other queries pass through unchanged.
 */
export function prepareHotStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((config: unknown, values?: unknown, callback?: unknown) => {
    const name = typeof config === 'string' ? preparedNames.get(config) : undefined;
    return name === undefined ? query(config, values, callback) : query({ name, text: config, values }, callback);
  }) as typeof client.query;
}
