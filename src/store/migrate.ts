import type { Kysely } from 'kysely';
import { InfrastructureError } from '../core/errors.js';
import type { Dialect } from './dialect.js';
import { latestSchemaVersion, migrations } from './migrations/index.js';
import type { Database } from './schema.js';

/**
 * Brings the database to the code's schema version, under the dialect's migration lock
 * so two processes starting at once do not both migrate. A database newer than the code
 * is refused: running old code on it could corrupt what newer code wrote.
 */
export async function migrate(db: Kysely<Database>, dialect: Dialect, where: string): Promise<void> {
  await dialect.withMigrationLock(db, async () => {
    await dialect
      .tableOptions(db.schema.createTable('orrery_meta'))
      .ifNotExists()
      .addColumn('key', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    const current = await schemaVersion(db);
    if (current > latestSchemaVersion) {
      throw new InfrastructureError(
        `${where}: the task database has schema version ${current} but this Orrery knows only up to ` +
          `${latestSchemaVersion}; upgrade Orrery (npm install orrery@latest) or point it at another database`,
      );
    }
    for (const migration of migrations.filter((m) => m.version > current)) {
      await db.transaction().execute(async (trx) => {
        await migration.up(trx as unknown as Kysely<unknown>, dialect);
        await setSchemaVersion(trx, migration.version);
      });
    }
  });
}

async function schemaVersion(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('orrery_meta').select('value').where('key', '=', 'schema_version').executeTakeFirst();
  return row ? Number(row.value) : 0;
}

async function setSchemaVersion(db: Kysely<Database>, version: number): Promise<void> {
  await db.deleteFrom('orrery_meta').where('key', '=', 'schema_version').execute();
  await db.insertInto('orrery_meta').values({ key: 'schema_version', value: String(version) }).execute();
}
