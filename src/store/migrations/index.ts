import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';
import * as initial from './0001-initial.js';
import * as dashboardIndexes from './0002-dashboard-indexes.js';
import * as workers from './0003-workers.js';
import * as claimOrder from './0004-claim-order.js';
import * as sqliteQueueIndexes from './0005-sqlite-queue-indexes.js';
import * as leanTaskIndexes from './0006-lean-task-indexes.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

/** Append-only: never edit a released migration, add the next number. */
export const migrations: Migration[] = [
  { version: 1, name: 'initial', up: initial.up },
  { version: 2, name: 'dashboard-indexes', up: dashboardIndexes.up },
  { version: 3, name: 'workers', up: workers.up },
  { version: 4, name: 'claim-order', up: claimOrder.up },
  { version: 5, name: 'sqlite-queue-indexes', up: sqliteQueueIndexes.up },
  { version: 6, name: 'lean-task-indexes', up: leanTaskIndexes.up },
];

export const latestSchemaVersion = migrations[migrations.length - 1].version;
