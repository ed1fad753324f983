// Where the CPU of a fan-out goes: runs the fan-out job (bench/fanout.mjs) through `orrery run`
// and splits its CPU by process, read from /proc while it runs — the orrery process (and its
// main thread alone), the launcher, and the commands (the launcher's waited-for children).
// Given several builds (--bin, repeatable: a checkout's bin/orrery.js), runs them alternately
// and prints the medians of each, which is how a change to the hot path is measured: the
// machine's speed drifts between runs, alternating spreads the drift over both.
//
//   node bench/cpu-split.mjs [--tasks 10000] [--cores 2] [--repeat 5] [--bin A --bin B]
//
// Linux only (/proc). Not part of `npm run bench`: a tool for working on Orrery's own overhead.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFanoutJob } from './fanout.mjs';
import { freshDir, median } from './measure.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '10000' },
    cores: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '5' },
    bin: { type: 'string', multiple: true, default: [path.join(here, '..', 'bin', 'orrery.js')] },
  },
});
const TICKS = 100; // USER_HZ: /proc reports CPU time in these

/** utime + stime of one process or thread, and of its waited-for children, in seconds; null once it is gone. */
function cpuOf(statFile) {
  let text;
  try {
    text = fs.readFileSync(statFile, 'utf8');
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { own: (Number(fields[11]) + Number(fields[12])) / TICKS, children: (Number(fields[13]) + Number(fields[14])) / TICKS };
}

function childPids(pid) {
  const pids = [];
  for (const thread of fs.readdirSync(`/proc/${pid}/task`)) {
    pids.push(...fs.readFileSync(`/proc/${pid}/task/${thread}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
  }
  return pids;
}

/** One `orrery run` of the job; the last figures read before each process ended. */
function splitRun(bin, dir, cores) {
  const state = path.join(dir, 'state');
  fs.rmSync(state, { recursive: true, force: true });
  const started = performance.now();
  const child = spawn(process.execPath, [bin, 'run', 'job.yaml', '--state-dir', state, '--json', '--quiet', '--cores', String(cores)], { cwd: dir, stdio: 'ignore' });
  const last = { orrery: null, mainThread: null, launcher: null };
  const poll = setInterval(() => {
    try {
      last.orrery = cpuOf(`/proc/${child.pid}/stat`) ?? last.orrery;
      last.mainThread = cpuOf(`/proc/${child.pid}/task/${child.pid}/stat`) ?? last.mainThread;
      for (const pid of childPids(child.pid)) {
        const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        if (comm.startsWith('launch')) last.launcher = cpuOf(`/proc/${pid}/stat`) ?? last.launcher;
      }
    } catch {
      // the process ended between two reads
    }
  }, 20);
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code !== 0) return reject(new Error(`${bin} exited with ${code}`));
      if (!last.orrery || !last.launcher) return reject(new Error(`${bin}: the orrery process or its launcher was never seen in /proc`));
      resolve({
        wall: (performance.now() - started) / 1000,
        orrery: last.orrery.own,
        mainThread: last.mainThread.own,
        launcher: last.launcher.own,
        commands: last.launcher.children,
      });
    });
  });
}

const bins = values.bin.map((bin) => path.resolve(bin));
const tasks = Number(values.tasks);
const dir = freshDir('cpu-split');
writeFanoutJob(dir, tasks);
const runs = bins.map(() => []);
const line = (r) => `wall ${r.wall.toFixed(2)} s  orrery ${r.orrery.toFixed(2)} s (main thread ${r.mainThread.toFixed(2)} s)  launcher ${r.launcher.toFixed(2)} s  commands ${r.commands.toFixed(2)} s`;
process.stdout.write(`fan-out of ${tasks} tasks, --cores ${values.cores}; CPU from /proc, in seconds\n`);
for (let round = 0; round < Number(values.repeat); round++) {
  for (const [i, bin] of bins.entries()) {
    const result = await splitRun(bin, dir, values.cores);
    runs[i].push(result);
    process.stdout.write(`  ${bin}: ${line(result)}\n`);
  }
}
process.stdout.write('medians\n');
for (const [i, bin] of bins.entries()) {
  const of = (key) => median(runs[i].map((r) => r[key]));
  const medians = { wall: of('wall'), orrery: of('orrery'), mainThread: of('mainThread'), launcher: of('launcher'), commands: of('commands') };
  process.stdout.write(`  ${bin}: ${line(medians)}; orrery process ${((medians.orrery * 1000) / tasks).toFixed(3)} ms a task\n`);
}
