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
  if (tools.parallel) peers.push({ tool: 'GNU parallel', argv: ['parallel', '--will-cite', '-j', String(jobs), 'true'] });
  else process.stdout.write(`  GNU parallel: ${SKIPPED}\n`);
  peers.push({ tool: 'xargs true', argv: ['xargs', '-P', String(jobs), '-n', '1', 'true'] });
  peers.push({ tool: 'xargs sh -c true', argv: ['xargs', '-P', String(jobs), '-n', '1', 'sh', '-c', 'true'] });
  for (const peer of peers) {
    const [cmd, ...rest] = peer.argv;
    runners.push({
      tool: peer.tool,
      command: `${peer.argv.join(' ')} < args.txt`,
      run: async () => check(await measure(cmd, rest, { cwd: dir, stdinFile: args }), peer.tool),
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
  return {
    figures: { tasks: n, rows: rows.map((r) => ({ tool: r.tool, command: r.command, wallSeconds: r.result.wallSeconds, cpuSeconds: r.result.cpuSeconds, tasksPerSecond: rate(r), peakRssKiB: r.result.peakRssKiB, runs: r.result.runs })) },
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
