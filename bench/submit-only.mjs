// Submission alone, in one process: load (parse + validate + plan) a job file and submit
// it into a fresh SQLite task database, without running anything — what `orrery run` does
// before its first task starts. Uses the built modules (run `npm run build` first).
//
//   node bench/submit-only.mjs JOB.yaml STATE_DIR
//
// Prints one JSON object: tasks, edges, job id, the phases' wall times in seconds
// (import of the modules, loadJob, openStore, submitPlan) and the process's peak RSS (KiB).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './measure.mjs';

const [jobFile, stateDir] = process.argv.slice(2);
if (!jobFile || !stateDir) {
  process.stderr.write('usage: node bench/submit-only.mjs JOB.yaml STATE_DIR\n');
  process.exit(2);
}

const dist = (file) => import(pathToFileURL(path.join(ROOT, 'dist', file)).href);
const t0 = performance.now();
const [{ loadJob }, { openStore }, { submitPlan }, { LocalRepository }] = await Promise.all([
  dist('spec/load.js'),
  dist('store/open.js'),
  dist('engine/submit.js'),
  dist('files/local-repository.js'),
]);
const t1 = performance.now();
const plan = loadJob({ jobFile });
const t2 = performance.now();
fs.rmSync(stateDir, { recursive: true, force: true });
fs.mkdirSync(stateDir, { recursive: true });
const store = await openStore(path.join(stateDir, 'orrery.db'));
const files = new LocalRepository(path.join(stateDir, 'files'));
const t3 = performance.now();
const { job } = await submitPlan(store, files, plan, { failFast: false, sourceFile: path.resolve(jobFile), resume: false });
const t4 = performance.now();
const counts = await store.countTasks(job.id);
await store.close();
const inDatabase = Object.values(counts).reduce((a, b) => a + b, 0);

const seconds = (ms) => Math.round(ms) / 1000;
process.stdout.write(
  `${JSON.stringify({
    job: job.id,
    tasks: plan.tasks.length,
    edges: plan.edges.length,
    tasks_in_database: inDatabase,
    import_seconds: seconds(t1 - t0),
    load_seconds: seconds(t2 - t1),
    open_store_seconds: seconds(t3 - t2),
    submit_seconds: seconds(t4 - t3),
    load_and_submit_seconds: seconds(t4 - t1 - (t3 - t2)),
    total_seconds: seconds(t4 - t0),
    max_rss_kib: process.resourceUsage().maxRSS,
  })}\n`,
);
