import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Distributed mode: the workers table (`orrery workers`), pool controls (`orrery drain`
 * and `orrery resume`), and each task's pool so a worker claims only its pool's tasks.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await db.schema.alterTable('tasks').addColumn('pool', 'varchar(255)', (c) => c.notNull().defaultTo('default')).execute();
  await db.schema.createIndex('tasks_claimable_by_pool').on('tasks').columns(['state', 'pool', 'not_before', 'id']).execute();

  await dialect
    .tableOptions(db.schema.createTable('workers'))
    .addColumn('id', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('pool', 'varchar(255)')
    .addColumn('types', 'text')
    .addColumn('concurrency', 'integer', (c) => c.notNull())
    .addColumn('state', 'varchar(32)', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('last_heartbeat', 'bigint', (c) => c.notNull())
    .addColumn('stopped_at', 'bigint')
    .execute();

  await dialect
    .tableOptions(db.schema.createTable('pool_controls'))
    .addColumn('pool', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('paused', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
