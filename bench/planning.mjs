// Benchmark 3 — planning and submission of a big job: a `for` of N × 3 chained tasks with
// products (3·N tasks, 2·N dependencies). Measures `orrery validate` (parse, validate,
// expand, plan the DAG) and submission alone (bench/submit-only.mjs: load the job and put
// it in a fresh task database, nothing run), against `snakemake -n` (dry run: build the DAG
// of the same workflow) — each as a whole process: wall time and peak RSS.
import fs from 'node:fs';
import path from 'node:path';
import { writeChainJob, writeSnakefile } from './file-dag.mjs';
import { BENCH_DIR, ORRERY, SKIPPED, check, fmt, freshDir, interleaved, measure, table } from './measure.mjs';

const TIME_LIMIT_S = 3;
const MEMORY_LIMIT_KIB = 200 * 1024;

export async function planning({ scale, repeat, tools }) {
  const n = Math.max(2, Math.round(10_000 * scale));
  const tasks = 3 * n;
  process.stdout.write(`\n## Planning: a job of ${fmt.int(n)} × 3 chained tasks = ${fmt.int(tasks)} tasks, ${fmt.int(2 * n)} dependencies\n`);
  const dir = freshDir('planning');
  const jobFile = writeChainJob(dir, n, 'planning');
  writeSnakefile(dir, n);

  const runners = [
    async () => {
      const result = check(await measure(process.execPath, [ORRERY, 'validate', jobFile, '--json'], { cwd: dir }), 'orrery validate');
      const summary = JSON.parse(result.stdout);
      if (!summary.valid || summary.tasks !== tasks) throw new Error(`orrery validate reported ${JSON.stringify(summary)} (expected ${tasks} tasks)`);
      return result;
    },
    async () => {
      const result = check(await measure(process.execPath, [path.join(BENCH_DIR, 'submit-only.mjs'), jobFile, path.join(dir, 'state')], { cwd: dir }), 'submit-only');
      const inner = JSON.parse(result.stdout);
      if (inner.tasks_in_database !== tasks) throw new Error(`submission left ${inner.tasks_in_database} tasks in the database (expected ${tasks})`);
      return { ...result, inner };
    },
  ];
  if (tools.snakemake) {
    runners.push(async () => {
      fs.rmSync(path.join(dir, '.snakemake'), { recursive: true, force: true });
      return check(
        await measure('snakemake', ['-n', '-j', '2', '--quiet'], { cwd: dir, stdoutFile: path.join(dir, 'snakemake.out'), stderrFile: path.join(dir, 'snakemake.err') }),
        `snakemake -n (log: ${path.join(dir, 'snakemake.err')})`,
      );
    });
  } else {
    process.stdout.write(`  snakemake -n:       ${SKIPPED}\n`);
  }
  const names = ['orrery validate', 'orrery submission', 'snakemake -n'];
  const [validate, submit, snakemake = null] = await interleaved(repeat, runners, (i, r) => {
    const extra = r.inner
      ? ` (inside: import ${fmt.seconds(r.inner.import_seconds)}, loadJob ${fmt.seconds(r.inner.load_seconds)}, openStore ${fmt.seconds(r.inner.open_store_seconds)}, submitPlan ${fmt.seconds(r.inner.submit_seconds)}; maxRSS ${fmt.mib(r.inner.max_rss_kib)})`
      : '';
    process.stdout.write(`  ${`${names[i]}:`.padEnd(19)} ${fmt.seconds(r.wallSeconds)}, CPU ${fmt.seconds(r.cpuSeconds)}, peak RSS ${fmt.mib(r.peakRssKiB)}${extra}\n`);
  });
  const inner = submit.inner;

  const vs = (r, field) => (snakemake && snakemake[field] && r[field] ? fmt.ratio(snakemake[field] / r[field]) : '—');
  const rows = [
    ['what', 'wall', 'CPU', 'peak RSS', 'snakemake -n wall ÷ this', 'snakemake -n RSS ÷ this'],
    ['orrery validate', fmt.seconds(validate.wallSeconds), fmt.seconds(validate.cpuSeconds), fmt.mib(validate.peakRssKiB), vs(validate, 'wallSeconds'), vs(validate, 'peakRssKiB')],
    ['orrery submission (load + submit)', fmt.seconds(submit.wallSeconds), fmt.seconds(submit.cpuSeconds), fmt.mib(submit.peakRssKiB), vs(submit, 'wallSeconds'), vs(submit, 'peakRssKiB')],
  ];
  if (snakemake) rows.push(['snakemake -n (DAG only)', fmt.seconds(snakemake.wallSeconds), fmt.seconds(snakemake.cpuSeconds), fmt.mib(snakemake.peakRssKiB), '', '']);
  table(rows, `Planning (${fmt.int(tasks)} tasks; whole processes, Node/Python startup included)`);

  const target = (what, result) => {
    const memoryOk = result.peakRssKiB === null ? null : result.peakRssKiB <= MEMORY_LIMIT_KIB;
    return {
      benchmark: 'planning',
      what: `${what} ≤ ${TIME_LIMIT_S} s and ≤ 200 MB`,
      value: `${fmt.seconds(result.wallSeconds)}, ${fmt.mib(result.peakRssKiB)}`,
      pass: result.wallSeconds <= TIME_LIMIT_S && memoryOk !== false,
    };
  };
  return {
    figures: {
      tasks,
      validate: { wallSeconds: validate.wallSeconds, cpuSeconds: validate.cpuSeconds, peakRssKiB: validate.peakRssKiB, runs: validate.runs },
      submit: { wallSeconds: submit.wallSeconds, cpuSeconds: submit.cpuSeconds, peakRssKiB: submit.peakRssKiB, inner, runs: submit.runs },
      snakemake: snakemake && { wallSeconds: snakemake.wallSeconds, cpuSeconds: snakemake.cpuSeconds, peakRssKiB: snakemake.peakRssKiB, runs: snakemake.runs },
    },
    targets: [target('orrery validate', validate), target('submission (process start → job in database)', submit)],
  };
}
