// Benchmark 1 — fan-out: N independent no-op shell tasks (`true`), J at a time, through the
// whole `orrery run` command (startup, planning, submission, running, settling) and through
// GNU parallel and xargs on the same machine. Throughput in tasks per second.
import fs from 'node:fs';
import path from 'node:path';
import { orreryRun } from './file-dag.mjs';
import { SKIPPED, check, fmt, freshDir, interleaved, measure, table, writeLines } from './measure.mjs';

export function writeFanoutJob(dir, n) {
  const job = `name: fanout
tasks:
  - for: i
    linear_range: [0, ${n - 1}, ${n}]
    tasks:
      - task: noop
        params: { i: "\${i_index}" }
`;
  fs.writeFileSync(path.join(dir, 'job.yaml'), job);
  fs.writeFileSync(path.join(dir, 'orrery.yaml'), 'types:\n  noop: { command: "true", cpu: 1 }\n');
  return path.join(dir, 'job.yaml');
}

export async function fanout({ scale, jobs, repeat, tools }) {
  const n = Math.max(10, Math.round(10_000 * scale));
  process.stdout.write(`\n## Fan-out: ${fmt.int(n)} no-op tasks (\`true\`), ${jobs} at a time\n`);
  const dir = freshDir('fanout');
  const jobFile = writeFanoutJob(dir, n);
  const args = writeLines(path.join(dir, 'args.txt'), n, (i) => String(i + 1));

  const runners = [
    {
      tool: 'orrery run',
      command: `orrery run job.yaml --state-dir <fresh> --json --quiet --cores ${jobs}`,
      run: async () => {
        const run = await orreryRun(jobFile, path.join(dir, 'state'), jobs);
        if (run.summary.state !== 'succeeded' || run.summary.counts.succeeded !== n) {
          throw new Error(`orrery run ended ${run.summary.state} with ${JSON.stringify(run.summary.counts)} (expected ${n} succeeded)`);
        }
        return run;
      },
    },
  ];
  const peers = [];
  // GNU parallel runs each command with the shell of the process that started it, which is
  // bash when this script is started from bash and dash under `npm run bench`: bash's start-up
  // took a third longer per task. Pinned to /bin/sh, the shell Orrery's tasks run under.
  if (tools.parallel) peers.push({ tool: 'GNU parallel', argv: ['parallel', '--will-cite', '-j', String(jobs), 'true'], env: { PARALLEL_SHELL: '/bin/sh' } });
  else process.stdout.write(`  GNU parallel: ${SKIPPED}\n`);
  peers.push({ tool: 'xargs true', argv: ['xargs', '-P', String(jobs), '-n', '1', 'true'] });
  peers.push({ tool: 'xargs sh -c true', argv: ['xargs', '-P', String(jobs), '-n', '1', 'sh', '-c', 'true'] });
  for (const peer of peers) {
    const [cmd, ...rest] = peer.argv;
    runners.push({
      tool: peer.tool,
      command: `${Object.entries(peer.env ?? {}).map(([k, v]) => `${k}=${v} `).join('')}${peer.argv.join(' ')} < args.txt`,
      run: async () => check(await measure(cmd, rest, { cwd: dir, stdinFile: args, env: { ...process.env, ...peer.env } }), peer.tool),
    });
  }
  const results = await interleaved(
    repeat,
    runners.map((r) => r.run),
    (i, result) => process.stdout.write(`  ${`${runners[i].tool}:`.padEnd(18)} ${fmt.seconds(result.wallSeconds)}, ${fmt.rate(n / result.wallSeconds)}, CPU ${fmt.seconds(result.cpuSeconds)}\n`),
  );
  const rows = runners.map((r, i) => ({ tool: r.tool, command: r.command, result: results[i] }));

  const rate = (r) => n / r.result.wallSeconds;
  const orreryRate = rate(rows[0]);
  const orreryCpu = rows[0].result.cpuSeconds;
  table(
    [
      ['tool', 'wall', 'tasks/s', 'CPU/task', 'peak RSS', 'Orrery ÷ this: throughput', 'CPU/task of this ÷ Orrery'],
      ...rows.map((r, i) => [
        r.tool,
        fmt.seconds(r.result.wallSeconds),
        fmt.rate(rate(r)),
        fmt.cpuPerTask(r.result.cpuSeconds, n),
        fmt.mib(r.result.peakRssKiB),
        i === 0 ? '' : fmt.ratio(orreryRate / rate(r)),
        i === 0 || orreryCpu === null || r.result.cpuSeconds === null ? '' : fmt.ratio(r.result.cpuSeconds / orreryCpu),
      ]),
    ],
    `Fan-out (${fmt.int(n)} tasks; CPU = user + system time of the whole process tree)`,
  );

  const parallel = rows.find((r) => r.tool === 'GNU parallel');
  const ratio = parallel ? orreryRate / rate(parallel) : null;
  const context = parallel ? machineContext(rows, parallel, n) : null;
  return {
    figures: { tasks: n, ...context, rows: rows.map((r) => ({ tool: r.tool, command: r.command, wallSeconds: r.result.wallSeconds, cpuSeconds: r.result.cpuSeconds, tasksPerSecond: rate(r), peakRssKiB: r.result.peakRssKiB, runs: r.result.runs })) },
    targets: [
      {
        benchmark: 'fan-out',
        what: `Orrery ≥ 3× GNU parallel -j ${jobs} throughput`,
        value: parallel ? `${fmt.ratio(ratio)} (${fmt.rate(orreryRate)} vs ${fmt.rate(rate(parallel))})` : 'skipped',
        pass: parallel ? ratio >= 3 : null,
      },
    ],
  };
}

/**
 * What the machine allows, printed under the table. Every tool here starts the same shell per
 * task, and what that costs varies threefold between machines of one kind (glibc's start-up
 * on some virtual CPUs), so the throughput ratio moves with the machine as much as with the
 * code. `xargs sh -c true` starts that shell and does nothing else: its throughput is the
 * ceiling of any tool that runs one shell per task, and CPU per task beyond its figure is
 * what the tool itself spends to run a task (for Orrery: the task database, the protocol
 * files, the launcher).
 */
function machineContext(rows, parallel, n) {
  const bare = rows.find((r) => r.tool === 'xargs sh -c true');
  if (!bare) return null;
  const perTaskMs = (r) => (r.result.cpuSeconds === null ? null : (r.result.cpuSeconds * 1000) / n);
  const shellMs = perTaskMs(bare);
  const ceiling = parallel.result.wallSeconds / bare.result.wallSeconds;
  process.stdout.write(`  ceiling: a tool that only started the shells would run ${fmt.ratio(ceiling)} GNU parallel's throughput here (xargs sh -c true)\n`);
  if (shellMs === null || perTaskMs(rows[0]) === null || perTaskMs(parallel) === null) return { ceilingRatio: ceiling };
  const overheadMs = { orrery: perTaskMs(rows[0]) - shellMs, parallel: perTaskMs(parallel) - shellMs };
  process.stdout.write(
    `  CPU per task beyond xargs sh -c true's ${shellMs.toFixed(2)} ms: orrery run ${overheadMs.orrery.toFixed(2)} ms, GNU parallel ${overheadMs.parallel.toFixed(2)} ms (${fmt.ratio(overheadMs.parallel / overheadMs.orrery)} Orrery's)\n`,
  );
  return { ceilingRatio: ceiling, shellCpuMsPerTask: shellMs, overheadCpuMsPerTask: overheadMs };
}
