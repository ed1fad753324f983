// Benchmark 2 — a file DAG: N independent chains of three small shell steps, each reading
// its input file and writing its output file (3·N tasks), run by `orrery run` and by
// `snakemake -j J` on the same commands; both results are compared file by file.
import fs from 'node:fs';
import path from 'node:path';
import { ORRERY, SKIPPED, check, fmt, freshDir, interleaved, measure, table } from './measure.mjs';

/** The three steps, as shell commands with Orrery placeholders and Snakemake placeholders. */
export const STEPS = {
  step1: { orrery: 'echo chain {params.i} > {outputs.out}', snakemake: 'echo chain {wildcards.i} > {output}' },
  step2: { orrery: 'tr a-z A-Z < {inputs.in} > {outputs.out}', snakemake: 'tr a-z A-Z < {input} > {output}' },
  step3: {
    orrery: "awk '{ print $2 * 2, length($0) }' < {inputs.in} > {outputs.out}",
    snakemake: "awk '{{ print $2 * 2, length($0) }}' < {input} > {output}",
  },
};

/**
 * Writes `job.yaml` (a `for` of n × 3 chained tasks with products a/i.txt → b/i.txt →
 * c/i.txt) and its `orrery.yaml` (the task types, `cpu: 1` each) into `dir`.
 */
export function writeChainJob(dir, n, name = 'file-dag') {
  const job = `name: ${name}
tasks:
  - for: i
    linear_range: [0, ${n - 1}, ${n}]
    tasks:
      - task: step1
        params: { i: "\${i_index}" }
        outputs: { out: "a/\${i_index}.txt" }
      - task: step2
        inputs: { in: "a/\${i_index}.txt" }
        outputs: { out: "b/\${i_index}.txt" }
      - task: step3
        inputs: { in: "b/\${i_index}.txt" }
        outputs: { out: "c/\${i_index}.txt" }
`;
  const types = Object.entries(STEPS)
    .map(([type, step]) => `  ${type}:\n    command: ${JSON.stringify(step.orrery)}\n    cpu: 1\n`)
    .join('');
  fs.writeFileSync(path.join(dir, 'job.yaml'), job);
  fs.writeFileSync(path.join(dir, 'orrery.yaml'), `types:\n${types}`);
  return path.join(dir, 'job.yaml');
}

/** Writes the equivalent Snakefile (same commands, same file names) into `dir`. */
export function writeSnakefile(dir, n) {
  const rule = (name, step, input) =>
    `rule ${name}:\n${input ? `    input: "${input}"\n` : ''}    output: "${{ step1: 'a', step2: 'b', step3: 'c' }[name]}/{i}.txt"\n    shell: ${JSON.stringify(step.snakemake)}\n`;
  const text = `N = ${n}

wildcard_constraints:
    i = "[0-9]+"

rule all:
    input: expand("c/{i}.txt", i=range(N))

${rule('step1', STEPS.step1, null)}
${rule('step2', STEPS.step2, 'a/{i}.txt')}
${rule('step3', STEPS.step3, 'b/{i}.txt')}`;
  fs.writeFileSync(path.join(dir, 'Snakefile'), text);
  return path.join(dir, 'Snakefile');
}

/** Runs `orrery run` on a job in a fresh state directory; returns the measurement and its JSON summary. */
export async function orreryRun(jobFile, stateDir, cores, extra = []) {
  fs.rmSync(stateDir, { recursive: true, force: true });
  const result = check(
    await measure(process.execPath, [ORRERY, 'run', jobFile, '--state-dir', stateDir, '--json', '--quiet', '--cores', String(cores), ...extra], {
      cwd: path.dirname(jobFile),
    }),
    'orrery run',
  );
  const summary = JSON.parse(result.stdout);
  return { ...result, summary };
}

export async function fileDag({ scale, jobs, repeat, tools }) {
  const n = Math.max(2, Math.round(1000 * scale));
  const tasks = 3 * n;
  process.stdout.write(`\n## File DAG: ${fmt.int(n)} chains × 3 steps = ${fmt.int(tasks)} tasks, ${jobs} jobs at a time\n`);

  const dir = freshDir('file-dag');
  const orreryDir = path.join(dir, 'orrery');
  fs.mkdirSync(orreryDir);
  const jobFile = writeChainJob(orreryDir, n);
  const stateDir = path.join(orreryDir, 'state');

  const smkDir = path.join(dir, 'snakemake');
  const exported = path.join(orreryDir, 'exported');
  const runners = [
    async () => {
      const run = await orreryRun(jobFile, stateDir, jobs);
      if (run.summary.state !== 'succeeded' || run.summary.total !== tasks) {
        throw new Error(`orrery run ended ${run.summary.state} with ${JSON.stringify(run.summary.counts)} (expected ${tasks} succeeded)`);
      }
      // export now: the next repetition starts from a fresh state directory
      fs.rmSync(exported, { recursive: true, force: true });
      check(await measure(process.execPath, [ORRERY, 'export', String(run.summary.job), exported, '--state-dir', stateDir]), 'orrery export');
      return run;
    },
  ];
  if (tools.snakemake) {
    runners.push(async () => {
      fs.rmSync(smkDir, { recursive: true, force: true });
      fs.mkdirSync(smkDir);
      writeSnakefile(smkDir, n);
      return check(
        await measure('snakemake', ['-j', String(jobs), '--quiet'], {
          cwd: smkDir,
          stdoutFile: path.join(dir, 'snakemake.out'),
          stderrFile: path.join(dir, 'snakemake.err'),
        }),
        `snakemake (log: ${path.join(dir, 'snakemake.err')})`,
      );
    });
  } else {
    process.stdout.write(`  snakemake:  ${SKIPPED}\n`);
  }
  const names = ['orrery run', 'snakemake'];
  const [orrery, snakemake = null] = await interleaved(repeat, runners, (i, r) =>
    process.stdout.write(`  ${`${names[i]}:`.padEnd(11)} ${fmt.seconds(r.wallSeconds)} (${fmt.rate(tasks / r.wallSeconds)}), CPU ${fmt.seconds(r.cpuSeconds)}, peak RSS ${fmt.mib(r.peakRssKiB)}\n`),
  );
  const comparison = snakemake ? compareTrees(exported, smkDir, n) : null;

  const ratio = snakemake ? snakemake.wallSeconds / orrery.wallSeconds : null;
  const cpuRatio = snakemake && snakemake.cpuSeconds !== null && orrery.cpuSeconds ? snakemake.cpuSeconds / orrery.cpuSeconds : null;
  const rows = [
    ['tool', 'wall', 'tasks/s', 'CPU/task', 'peak RSS', 'Orrery faster by', 'CPU of this ÷ Orrery'],
    ['orrery run', fmt.seconds(orrery.wallSeconds), fmt.rate(tasks / orrery.wallSeconds), fmt.cpuPerTask(orrery.cpuSeconds, tasks), fmt.mib(orrery.peakRssKiB), '', ''],
  ];
  if (snakemake) {
    rows.push(['snakemake', fmt.seconds(snakemake.wallSeconds), fmt.rate(tasks / snakemake.wallSeconds), fmt.cpuPerTask(snakemake.cpuSeconds, tasks), fmt.mib(snakemake.peakRssKiB), fmt.ratio(ratio), fmt.ratio(cpuRatio)]);
  }
  table(rows, `File DAG (${fmt.int(tasks)} tasks)`);
  if (comparison) {
    process.stdout.write(
      `  outputs: ${comparison.identical}/${comparison.compared} files identical (all ${comparison.finals} final c/ files + a sample of a/ and b/)${comparison.differences.length ? `; first differences: ${comparison.differences.slice(0, 3).join(', ')}` : ''}\n`,
    );
    if (comparison.identical !== comparison.compared) throw new Error(`Orrery's and Snakemake's outputs differ: ${comparison.differences.slice(0, 5).join(', ')}`);
  }

  return {
    figures: { tasks, orrery: pick(orrery), snakemake: snakemake && pick(snakemake), ratio, cpuRatio, comparison },
    targets: [{ benchmark: 'file DAG', what: 'Orrery ≥ 10× faster than snakemake -j ' + jobs, value: snakemake ? `${fmt.ratio(ratio)} (${fmt.seconds(orrery.wallSeconds)} vs ${fmt.seconds(snakemake.wallSeconds)})` : 'skipped', pass: snakemake ? ratio >= 10 : null }],
  };
}

/** Compares every final output (c/i.txt) and a sample of the intermediates of two trees. */
function compareTrees(left, right, n) {
  const names = [];
  for (let i = 0; i < n; i++) names.push(`c/${i}.txt`);
  const step = Math.max(1, Math.floor(n / 20));
  for (let i = 0; i < n; i += step) names.push(`a/${i}.txt`, `b/${i}.txt`);
  let identical = 0;
  const differences = [];
  for (const name of names) {
    const a = readOrNull(path.join(left, 'file-dag', name)) ?? readOrNull(path.join(left, name));
    const b = readOrNull(path.join(right, name));
    if (a !== null && a === b) identical += 1;
    else differences.push(`${name} (orrery ${JSON.stringify(a)}, snakemake ${JSON.stringify(b)})`);
  }
  return { compared: names.length, identical, finals: n, differences };
}

function pick(r) {
  return { wallSeconds: r.wallSeconds, cpuSeconds: r.cpuSeconds, peakRssKiB: r.peakRssKiB, runs: r.runs };
}

function readOrNull(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
