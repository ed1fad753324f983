/**
 * The task databases the suite runs against. SQLite always; PostgreSQL and MariaDB/MySQL
 * when ORRERY_TEST_POSTGRES / ORRERY_TEST_MYSQL name an admin URL of a real server
 * (.ci/run installs, starts and names both). Each test gets a database of its own.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';

export type DatabaseKind = 'sqlite' | 'postgres' | 'mysql';

export const databaseKinds: DatabaseKind[] = [
  'sqlite',
  ...(process.env.ORRERY_TEST_POSTGRES ? (['postgres'] as const) : []),
  ...(process.env.ORRERY_TEST_MYSQL ? (['mysql'] as const) : []),
];

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function freshDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  const name = `orrery_t_${randomBytes(5).toString('hex')}`;
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-db-'));
    return { url: path.join(dir, 'orrery.db'), drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  if (kind === 'postgres') {
    const admin = new URL(process.env.ORRERY_TEST_POSTGRES!);
    await withPg(admin.href, (c) => c.query(`CREATE DATABASE ${name}`));
    const url = new URL(admin.href);
    url.pathname = `/${name}`;
    return { url: url.href, drop: () => withPg(admin.href, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) };
  }
  const admin = new URL(process.env.ORRERY_TEST_MYSQL!);
  await withMysql(admin.href, (c) => c.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`));
  const url = new URL(admin.href);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => withMysql(admin.href, (c) => c.query(`DROP DATABASE IF EXISTS ${name}`)) };
}

async function withPg(url: string, fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

async function withMysql(url: string, fn: (c: Awaited<ReturnType<typeof createConnection>>) => Promise<unknown>): Promise<void> {
  const connection = await createConnection(url.replace(/^mariadb:/, 'mysql:'));
  try {
    await fn(connection);
  } finally {
    await connection.end();
  }
}
