import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

/** The first schema: jobs, tasks and their edges, attempts with logs, products, the cache. */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const table = (name: string) => dialect.tableOptions(db.schema.createTable(name));
  const tableWithId = (name: string) => dialect.idColumn(table(name));
  await tableWithId('jobs')
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('workdir', 'varchar(1024)', (c) => c.notNull())
    .addColumn('state', 'varchar(32)', (c) => c.notNull())
    .addColumn('plan_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('fail_fast', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('report', 'varchar(1024)')
    .addColumn('source_file', 'varchar(4096)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('jobs_by_name').on('jobs').columns(['name', 'plan_hash']).execute();

  await table('job_types')
    .addColumn('job_id', 'integer', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('definition', 'text', (c) => c.notNull())
    .addColumn('definition_hash', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('job_types_pk', ['job_id', 'name'])
    .execute();

  await tableWithId('tasks')
    .addColumn('job_id', 'integer', (c) => c.notNull())
    .addColumn('name', 'varchar(512)', (c) => c.notNull())
    .addColumn('type', 'varchar(255)', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('inputs', 'text', (c) => c.notNull())
    .addColumn('outputs', 'text', (c) => c.notNull())
    .addColumn('loop', 'text', (c) => c.notNull())
    .addColumn('source', 'varchar(1024)', (c) => c.notNull())
    .addColumn('state', 'varchar(32)', (c) => c.notNull())
    .addColumn('pending', 'integer', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('cpu', 'double precision', (c) => c.notNull())
    .addColumn('memory', 'bigint', (c) => c.notNull())
    .addColumn('not_before', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_token', 'varchar(64)')
    .addColumn('lease_expires_at', 'bigint')
    .addColumn('worker', 'varchar(255)')
    .addColumn('cache_key', 'varchar(64)')
    .addColumn('result', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('queued_at', 'bigint')
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .addUniqueConstraint('tasks_name_unique', ['job_id', 'name'])
    .execute();
  await db.schema.createIndex('tasks_claimable').on('tasks').columns(['state', 'not_before', 'id']).execute();
  await db.schema.createIndex('tasks_by_job_state').on('tasks').columns(['job_id', 'state']).execute();

  await table('task_deps')
    .addColumn('task_id', 'integer', (c) => c.notNull())
    .addColumn('depends_on', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('task_deps_pk', ['task_id', 'depends_on'])
    .execute();
  await db.schema.createIndex('task_deps_downstream').on('task_deps').columns(['depends_on', 'task_id']).execute();

  await tableWithId('attempts')
    .addColumn('task_id', 'integer', (c) => c.notNull())
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('state', 'varchar(32)', (c) => c.notNull())
    .addColumn('lease_token', 'varchar(64)', (c) => c.notNull())
    .addColumn('worker', 'varchar(255)', (c) => c.notNull())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('pid', 'integer')
    .addColumn('pid_start', 'bigint')
    .addColumn('scratch', 'varchar(4096)')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addColumn('exit_code', 'integer')
    .addColumn('signal', 'varchar(32)')
    .addColumn('wall_ms', 'bigint')
    .addColumn('cpu_ms', 'bigint')
    .addColumn('peak_rss', 'bigint')
    .addColumn('error', 'text')
    .addColumn('result', 'text')
    .execute();
  await db.schema.createIndex('attempts_by_task').on('attempts').columns(['task_id', 'number']).execute();

  await table('attempt_logs')
    .addColumn('attempt_id', 'integer', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('stream', 'varchar(16)', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('line', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('attempt_logs_pk', ['attempt_id', 'seq'])
    .execute();

  await tableWithId('products')
    .addColumn('job_id', 'integer', (c) => c.notNull())
    .addColumn('path', 'varchar(700)', (c) => c.notNull())
    .addColumn('producer_task_id', 'integer')
    .addColumn('current_version_id', 'integer')
    .addUniqueConstraint('products_path_unique', ['job_id', 'path'])
    .execute();
  await db.schema.createIndex('products_by_producer').on('products').column('producer_task_id').execute();

  await tableWithId('product_versions')
    .addColumn('product_id', 'integer', (c) => c.notNull())
    .addColumn('attempt_id', 'integer')
    .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('qc_passed', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('product_versions_by_product').on('product_versions').column('product_id').execute();

  await table('cache_entries')
    .addColumn('cache_key', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('task_id', 'integer', (c) => c.notNull())
    .addColumn('outputs', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
