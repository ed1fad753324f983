/** What every command needs: where the state lives, and a way to open it. */
import fs from 'node:fs';
import { NotFoundError } from '../core/errors.js';
import { type StatePaths, statePaths } from '../engine/embedded.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';

export interface GlobalOptions {
  stateDir?: string;
  db?: string;
  store?: string;
  json?: boolean;
}

export function pathsOf(options: GlobalOptions): StatePaths {
  return statePaths(options);
}

/** Opens the task database for reading commands, which must not create an empty one. */
export async function withStore<T>(options: GlobalOptions, fn: (store: Store, paths: StatePaths) => Promise<T>): Promise<T> {
  const paths = pathsOf(options);
  const isServer = /^[a-z]+:\/\//.test(paths.db) && !paths.db.startsWith('sqlite:');
  if (!isServer && !fs.existsSync(paths.db.replace(/^sqlite:(\/\/)?/, ''))) {
    throw new NotFoundError(`no task database at ${paths.db}; run a job first (orrery run JOB) or point --state-dir / --db at one`);
  }
  const store = await openStore(paths.db);
  try {
    return await fn(store, paths);
  } finally {
    await store.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
