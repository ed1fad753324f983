#!/usr/bin/env node
// Orrery's benchmarks against peer tools on this machine. Run with `npm run bench`
// (which builds first), or `npm run bench -- --scale 0.1` for a quick run.
//
//   --scale X     size factor (default 1: 10,000 fan-out tasks, 1,000 chains, 30,000-task plan)
//   --repeat N    run each measurement N times, tools round robin, and keep the median (default 1)
//   --jobs J      tasks at a time for every tool: orrery --cores J, parallel/xargs/snakemake -j J (default 2)
//   --only LIST   comma-separated subset of: fanout,file-dag,planning,ui
//   --distributed also the distributed-mode benchmarks (PostgreSQL/MariaDB; see bench/distributed-run.mjs)
//
// Machines are shared and noisy: read the ratios, not the absolute times. The figures are
// also written to bench/.work/results.json. Exits 0 whatever the figures (it is a report),
// 1 when a tool crashed or a benchmark could not run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fanout } from './fanout.mjs';
import { fileDag } from './file-dag.mjs';
import { ROOT, SKIPPED, WORK_ROOT, killRunning, memoryMethod, table, which } from './measure.mjs';
import { planning } from './planning.mjs';
import { uiDashboard } from './ui-dashboard.mjs';
import { distributed } from './distributed-run.mjs';

const BENCHMARKS = { fanout, 'file-dag': fileDag, planning, ui: uiDashboard, distributed };

function parseArgs(argv) {
  // distributed needs database servers: only with --distributed (or --only distributed)
  const options = { scale: 1, repeat: 1, jobs: 2, only: Object.keys(BENCHMARKS).filter((name) => name !== 'distributed') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--scale') options.scale = Number(value());
    else if (flag === '--repeat') options.repeat = Number(value());
    else if (flag === '--jobs') options.jobs = Number(value());
    else if (flag === '--only') options.only = value().split(',').map((s) => s.trim());
    else if (flag === '--distributed') options.distributed = true;
    else if (flag === '-h' || flag === '--help') {
      process.stdout.write(fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(1, 10).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else usage(`unknown argument ${argv[i]}`);
  }
  if (options.distributed && !options.only.includes('distributed')) options.only = [...options.only, 'distributed'];
  if (!(options.scale > 0)) usage('--scale must be a positive number');
  if (!Number.isInteger(options.repeat) || options.repeat < 1) usage('--repeat must be a positive integer');
  if (!Number.isInteger(options.jobs) || options.jobs < 1) usage('--jobs must be a positive integer');
  for (const name of options.only) if (!BENCHMARKS[name]) usage(`unknown benchmark ${name} (known: ${Object.keys(BENCHMARKS).join(', ')})`);
  return options;
}

function usage(message) {
  process.stderr.write(`bench/run.mjs: ${message}\nusage: node bench/run.mjs [--scale X] [--repeat N] [--jobs J] [--only ${Object.keys(BENCHMARKS).join(',')}]\n`);
  process.exit(2);
}

const options = parseArgs(process.argv.slice(2));
// bin/orrery.js runs the bundled command; some benchmarks import the modules of dist/ too
if (!fs.existsSync(path.join(ROOT, 'dist', 'bundle', 'orrery.js')) || !fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
  process.stderr.write('bench/run.mjs: dist/ is missing: run `npm run build` first (or `npm run bench`, which builds)\n');
  process.exit(2);
}

// one run at a time: two runs would wipe each other's work directories under bench/.work/
fs.mkdirSync(WORK_ROOT, { recursive: true });
const lockFile = path.join(WORK_ROOT, 'run.lock');
for (;;) {
  try {
    fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
    break;
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    const holder = Number(fs.readFileSync(lockFile, 'utf8'));
    if (holder && isAlive(holder)) {
      process.stderr.write(`bench/run.mjs: another benchmark run (pid ${holder}) is using ${WORK_ROOT}; wait for it to end\n`);
      process.exit(2);
    }
    fs.rmSync(lockFile, { force: true }); // left by a run that died
  }
}
process.on('exit', () => fs.rmSync(lockFile, { force: true }));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killRunning();
    process.exit(130);
  });
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

const tools = { parallel: which('parallel') !== null, snakemake: which('snakemake') !== null };
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
process.stdout.write(
  `Orrery benchmarks — ${new Date().toISOString()}\n` +
    `machine: ${os.availableParallelism()} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n` +
    `node ${process.version}; scale ${options.scale}, ${options.jobs} jobs at a time, ${options.repeat} run(s) per measurement (median kept)\n` +
    `peak memory by: ${{ 'gnu-time': 'GNU time (ru_maxrss: largest single process of the tree)', 'proc-poll': 'polling /proc (largest sum of the tree)' }[memoryMethod()] ?? 'nothing (not measured)'}\n` +
    `peers: GNU parallel ${tools.parallel ? 'found' : 'missing'}, snakemake ${tools.snakemake ? 'found' : 'missing'}\n`,
);
if (!tools.parallel || !tools.snakemake) process.stdout.write(`some peer tools are missing; their measurements are ${SKIPPED}\n`);

const results = {};
const targets = [];
let crashed = false;
for (const name of options.only) {
  try {
    const outcome = await BENCHMARKS[name]({ ...options, tools });
    results[name] = outcome.figures;
    targets.push(...outcome.targets);
  } catch (error) {
    crashed = true;
    process.stdout.write(`\n${name}: could not complete — ${error.message}\n`);
    targets.push({ benchmark: name, what: 'benchmark ran', value: 'crashed', pass: false });
  }
}

const note = options.scale === 1 ? '' : ` — scale ${options.scale}: the targets are meant for scale 1`;
table(
  [
    ['benchmark', 'target', 'measured', 'verdict'],
    ...targets.map((t) => [t.benchmark, t.what, t.value, t.pass === null ? 'SKIPPED' : t.pass ? 'PASS' : 'FAIL']),
  ],
  `Summary${note}`,
  'llll',
);

fs.mkdirSync(WORK_ROOT, { recursive: true });
const resultsFile = path.join(WORK_ROOT, 'results.json');
fs.writeFileSync(resultsFile, `${JSON.stringify({ date: new Date().toISOString(), cores: os.availableParallelism(), cpu, node: process.version, options, tools, results, targets }, null, 2)}\n`);
process.stdout.write(`\nfigures written to ${path.relative(process.cwd(), resultsFile) || resultsFile}\n`);
process.exitCode = crashed ? 1 : 0;
