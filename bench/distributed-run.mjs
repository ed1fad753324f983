#!/usr/bin/env node
// Orrery's distributed-mode benchmarks, on the PostgreSQL (and MariaDB) of this machine.
// Run with `node bench/distributed-run.mjs` after `npm run build`, or with the other
// benchmarks as `npm run bench -- --distributed`.
//
//   --scale X          size factor (default 1: 4,000 queued jobs per system, chains of 50, 2+3 kills)
//   --repeat N         queue-throughput runs per system, round robin, median kept (default 1)
//   --procs P          worker processes per system in the throughput run (default 2)
//   --concurrency C    jobs at once per process, for every system (default 4)
//   --only LIST        comma-separated subset of: throughput,latency,failover
//   --pg URL           PostgreSQL admin URL (default $ORRERY_BENCH_POSTGRES, $ORRERY_TEST_POSTGRES, or local)
//   --mysql URL|none   MariaDB/MySQL admin URL for the latency run (default: the local one, if it answers)
//
// Every measurement gets a fresh database, dropped afterwards. Figures also go to
// bench/.work/distributed/results.json. Exits 0 whatever the figures (it is a report), 1 when
// a benchmark could not run.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_MYSQL, DEFAULT_POSTGRES, DIST, WORK, reachable, say, sqlRows, table } from './distributed-common.mjs';
import { failover } from './distributed-failover.mjs';
import { latency } from './distributed-latency.mjs';
import { throughput } from './distributed-throughput.mjs';

const PARTS = { throughput, latency, failover };

/**
 * The distributed benchmarks as one entry of bench/run.mjs: takes its options ({ scale,
 * repeat, … }) and returns { figures, targets } like the others.
 */
export async function distributed(options = {}) {
  const o = {
    scale: 1,
    repeat: 1,
    procs: 2,
    concurrency: 4,
    parts: Object.keys(PARTS),
    pg: DEFAULT_POSTGRES,
    mysql: DEFAULT_MYSQL,
    ...options,
  };
  if (!fs.existsSync(path.join(DIST, 'store', 'open.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  if (!(await reachable(o.pg))) throw new Error(`PostgreSQL does not answer at ${redact(o.pg)} (start it with \`source .ci/services.sh\`, or pass --pg URL)`);
  const mysqlUrl = o.mysql && o.mysql !== 'none' && (await reachable(o.mysql)) ? o.mysql : null;
  const require = createRequire(import.meta.url);
  const versionOf = (name) => {
    try {
      return require(`${name}/package.json`).version;
    } catch {
      return 'missing';
    }
  };
  const [pgVersion] = await sqlRows(o.pg, 'SHOW server_version');
  const mysqlVersion = mysqlUrl ? (await sqlRows(mysqlUrl, 'SELECT VERSION() AS v'))[0].v : 'not reachable';
  say(`\n# Distributed mode (${o.parts.join(', ')}) — scale ${o.scale}`);
  say(`PostgreSQL ${pgVersion.server_version} at ${redact(o.pg)}; MariaDB/MySQL ${mysqlVersion}; graphile-worker ${versionOf('graphile-worker')}, pg-boss ${versionOf('pg-boss')}`);

  const figures = {};
  const targets = [];
  for (const part of o.parts) {
    const outcome = await PARTS[part]({ adminUrl: o.pg, mysqlUrl, scale: o.scale, procs: o.procs, concurrency: o.concurrency, repeat: o.repeat });
    figures[part] = outcome.figures;
    targets.push(...outcome.targets);
  }
  figures.versions = { postgres: pgVersion.server_version, mysql: mysqlVersion, graphileWorker: versionOf('graphile-worker'), pgBoss: versionOf('pg-boss') };
  return { figures, targets };
}

function redact(url) {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--scale') options.scale = Number(value());
    else if (flag === '--repeat') options.repeat = Number(value());
    else if (flag === '--procs') options.procs = Number(value());
    else if (flag === '--concurrency') options.concurrency = Number(value());
    else if (flag === '--only') options.parts = value().split(',').map((s) => s.trim());
    else if (flag === '--pg') options.pg = value();
    else if (flag === '--mysql') options.mysql = value();
    else if (flag === '-h' || flag === '--help') {
      const lines = fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n');
      process.stdout.write(`${lines.slice(1, 15).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
      process.exit(0);
    } else usage(`unknown argument ${argv[i]}`);
  }
  if (options.scale !== undefined && !(options.scale > 0)) usage('--scale must be a positive number');
  for (const key of ['repeat', 'procs', 'concurrency']) {
    if (options[key] !== undefined && !(Number.isInteger(options[key]) && options[key] >= 1)) usage(`--${key} must be a positive integer`);
  }
  for (const part of options.parts ?? []) if (!PARTS[part]) usage(`unknown part ${part} (known: ${Object.keys(PARTS).join(', ')})`);
  return options;
}

function usage(message) {
  process.stderr.write(`bench/distributed-run.mjs: ${message}\nusage: node bench/distributed-run.mjs [--scale X] [--repeat N] [--procs P] [--concurrency C] [--only throughput,latency,failover] [--pg URL] [--mysql URL|none]\n`);
  process.exit(2);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  say(`Orrery distributed benchmarks — ${new Date().toISOString()}`);
  say(`machine: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; node ${process.version}`);
  let outcome;
  try {
    outcome = await distributed(options);
  } catch (error) {
    process.stderr.write(`bench/distributed-run.mjs: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
    return;
  }
  const note = (options.scale ?? 1) === 1 ? '' : ` — scale ${options.scale}: the targets are meant for scale 1`;
  table(
    [['target', 'measured', 'verdict'], ...outcome.targets.map((t) => [t.what, t.value, t.pass === null ? 'SKIPPED' : t.pass ? 'PASS' : 'FAIL'])],
    `Summary${note} (${((Date.now() - started) / 1000).toFixed(0)} s in all)`,
    'lll',
  );
  fs.mkdirSync(WORK, { recursive: true });
  const file = path.join(WORK, 'results.json');
  fs.writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), cores: os.availableParallelism(), node: process.version, loadavg: os.loadavg(), options, ...outcome }, null, 2)}\n`);
  say(`\nfigures written to ${path.relative(process.cwd(), file) || file}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
