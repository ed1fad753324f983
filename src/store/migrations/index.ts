import type { Kysely } from 'kysely';
import * as initial from './0001-initial.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Kysely<unknown>): Promise<void>;
}

/** Append-only: never edit a released migration, add the next number. */
export const migrations: Migration[] = [{ version: 1, name: 'initial', up: initial.up }];

export const latestSchemaVersion = migrations[migrations.length - 1].version;
