// Shared helpers of the distributed-mode benchmarks (bench/distributed-*.mjs): throw-away
// databases on the local PostgreSQL and MariaDB, Orrery processes that can be waited on and
// killed, job files, percentiles and plain tables. Kept apart from bench/measure.mjs on
// purpose: these benchmarks talk to database servers, not to one measured command.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(BENCH_DIR, '..');
export const DIST = path.join(ROOT, 'dist');
export const ORRERY = path.join(ROOT, 'bin', 'orrery.js');
export const WORK = path.join(BENCH_DIR, '.work', 'distributed');

export const DEFAULT_POSTGRES = process.env.ORRERY_BENCH_POSTGRES ?? process.env.ORRERY_TEST_POSTGRES ?? 'postgres://orrery:orrery@127.0.0.1:5432/postgres';
export const DEFAULT_MYSQL = process.env.ORRERY_BENCH_MYSQL ?? process.env.ORRERY_TEST_MYSQL ?? 'mysql://orrery:orrery@127.0.0.1:3306/';

/** Imports a module of the built Orrery (dist/), e.g. distImport('store/open.js'). */
export function distImport(relative) {
  return import(path.join(DIST, relative));
}

/** A fresh, empty directory under bench/.work/distributed/. */
export function freshDir(name) {
  const dir = path.join(WORK, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const dbTag = () => `${process.pid}_${Date.now().toString(36)}`;

/** Whether a database server answers at this admin URL (false rather than an error). */
export async function reachable(adminUrl) {
  try {
    if (adminUrl.startsWith('postgres')) {
      const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
      await client.connect();
      await client.end();
    } else {
      const conn = await mysql.createConnection({ uri: adminUrl, connectTimeout: 3000 });
      await conn.end();
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates an empty database named orrery_bench_<name>_<tag> on the server of `adminUrl`
 * and returns { url, drop }: the URL to use, and a function that drops it (kicking out any
 * connection left behind by a killed process).
 */
export async function tempDatabase(adminUrl, name) {
  const db = `orrery_bench_${name}_${dbTag()}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (adminUrl.startsWith('postgres')) {
    await pgAdmin(adminUrl, `CREATE DATABASE ${db}`);
    const url = new URL(adminUrl);
    url.pathname = `/${db}`;
    return { url: url.toString(), name: db, drop: () => pgAdmin(adminUrl, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`) };
  }
  const conn = await mysql.createConnection({ uri: adminUrl });
  try {
    await conn.query(`CREATE DATABASE ${db}`);
  } finally {
    await conn.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${db}`;
  return {
    url: url.toString(),
    name: db,
    drop: async () => {
      const c = await mysql.createConnection({ uri: adminUrl });
      try {
        await c.query(`DROP DATABASE IF EXISTS ${db}`);
      } finally {
        await c.end();
      }
    },
  };
}

async function pgAdmin(adminUrl, statement) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Runs `fn(client)` with a pg client on `url`, then closes it. */
export async function withPg(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs one plain SQL statement (no parameters) on a PostgreSQL or MySQL URL; returns its rows. */
export async function sqlRows(url, text) {
  if (url.startsWith('postgres')) return withPg(url, async (c) => (await c.query(text)).rows);
  const conn = await mysql.createConnection({ uri: url.replace(/^mariadb:/, 'mysql:') });
  try {
    const [rows] = await conn.query(text);
    return rows;
  } finally {
    await conn.end();
  }
}

/**
 * A long-running Orrery process (`orrery server`, `orrery worker`): its stderr goes to
 * `logFile`; `waitFor(regex)` resolves when a line of its output matches; `kill(signal)`.
 */
export function startOrrery(args, { env = {}, logFile, cwd = ROOT } = {}) {
  const child = spawn(process.execPath, [ORRERY, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : null;
  let text = '';
  const watchers = [];
  const onData = (chunk) => {
    const s = chunk.toString();
    text += s;
    if (text.length > 1_000_000) text = text.slice(-500_000);
    log?.write(s);
    for (const w of [...watchers]) if (w.regex.test(text)) w.resolve();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => log?.end());
  return {
    child,
    pid: child.pid,
    exited,
    output: () => text,
    waitFor(regex, timeoutMs = 20_000) {
      if (regex.test(text)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${regex} from orrery ${args[0]}; its output:\n${text.slice(-2000)}`)), timeoutMs);
        const w = {
          regex,
          resolve: () => {
            clearTimeout(timer);
            watchers.splice(watchers.indexOf(w), 1);
            resolve();
          },
        };
        watchers.push(w);
        exited.then(({ code, signal }) => {
          if (watchers.includes(w)) {
            clearTimeout(timer);
            reject(new Error(`orrery ${args[0]} exited (code ${code}, signal ${signal}) before printing ${regex}:\n${text.slice(-2000)}`));
          }
        });
      });
    },
    kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Stops processes started by startOrrery: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopAll(processes, graceMs = 3000) {
  await Promise.all(
    processes.map(async (p) => {
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
      await p.exited;
      clearTimeout(timer);
    }),
  );
}

let serverNoApi = null;

/**
 * Starts `orrery server` and one `orrery worker` per entry of `workers` (each an array of
 * extra flags) on the task database `dbUrl`, with a local file repository under `dir`;
 * resolves when all are up. The schema is created first, so they do not race for it.
 */
export async function startCluster({ dbUrl, dir, serverArgs = [], workers }) {
  const { openStore } = await distImport('store/open.js');
  // the server may also serve the dashboard (on port 8080 by default): not wanted here, and
  // several benchmark servers at once would fight for the port
  if (serverNoApi === null) serverNoApi = /--no-api/.test(spawnSync(process.execPath, [ORRERY, 'server', '--help'], { encoding: 'utf8' }).stdout ?? '');
  if (serverNoApi) serverArgs = ['--no-api', ...serverArgs];
  await (await openStore(dbUrl)).close();
  const env = { ORRERY_DB: dbUrl, ORRERY_STORE: path.join(dir, 'files'), ORRERY_STATE_DIR: path.join(dir, 'state') };
  const server = startOrrery(['server', ...serverArgs], { env, logFile: path.join(dir, 'server.log') });
  const started = workers.map((args, i) => startOrrery(['worker', ...args], { env, logFile: path.join(dir, `worker-${i}.log`) }));
  const all = [server, ...started];
  try {
    await server.waitFor(/engine running/);
    await Promise.all(started.map((w) => w.waitFor(/claiming/)));
  } catch (error) {
    await stopAll(all);
    throw error;
  }
  return { server, workers: started, all, env, stop: () => stopAll(all) };
}

/**
 * Submits a job file to the task database at `url` as `orrery submit` does (in this
 * process, so no CLI start-up is timed); files go to a local repository in `filesDir`.
 */
export async function submitJobFile(url, jobFile, filesDir) {
  const [{ openStore }, { submitPlan }, { loadJob }, { openFileRepository }] = await Promise.all([
    distImport('store/open.js'),
    distImport('engine/submit.js'),
    distImport('spec/load.js'),
    distImport('files/open.js'),
  ]);
  const plan = loadJob({ jobFile, configFile: null, externalInputs: {}, maxTasks: 10_000_000 });
  const store = await openStore(url);
  const files = await openFileRepository(filesDir);
  try {
    return (await submitPlan(store, files, plan, { failFast: false, sourceFile: jobFile, resume: false })).job;
  } finally {
    await store.close();
    files.close?.();
  }
}

/** Writes job.yaml and orrery.yaml into `dir`; returns the job file's path. */
export function writeJob(dir, jobYaml, typesYaml) {
  fs.writeFileSync(path.join(dir, 'job.yaml'), jobYaml);
  fs.writeFileSync(path.join(dir, 'orrery.yaml'), typesYaml);
  return path.join(dir, 'job.yaml');
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `fn` every `everyMs` until it returns a truthy value (returned), or throws after `timeoutMs`. */
export async function until(fn, { everyMs = 50, timeoutMs = 60_000, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The p-th percentile (0..100) of numbers, nearest-rank. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export const fmt = {
  rate: (r) => (r === null || r === undefined || !Number.isFinite(r) ? '—' : r >= 100 ? `${r.toFixed(0)}/s` : `${r.toFixed(1)}/s`),
  ms: (ms) => (ms === null || ms === undefined ? '—' : ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`),
  seconds: (s) => (s === null || s === undefined ? '—' : s >= 10 ? `${s.toFixed(1)} s` : `${s.toFixed(2)} s`),
  ratio: (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`),
  int: (n) => n.toLocaleString('en-US'),
};

/** Prints a plain text table; rows[0] is the header; align: one letter (l/r) per column. */
export function table(rows, title, align = null) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c] ?? '').length)));
  const left = (c) => (align ? align[c] === 'l' : c === 0);
  const line = (r) => r.map((cell, c) => (left(c) ? String(cell ?? '').padEnd(widths[c]) : String(cell ?? '').padStart(widths[c]))).join('  ').trimEnd();
  const out = [];
  if (title) out.push('', title);
  out.push(line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line));
  process.stdout.write(`${out.join('\n')}\n`);
}

export function say(line) {
  process.stdout.write(`${line}\n`);
}
