// The dashboard and HTTP API on a 100,000-task job (scale 1): the job is submitted into a
// fresh SQLite task database (not run; a share of its tasks is then marked succeeded, failed
// and running so every count, list and filter has work to do), the API is served from this
// process, and Debian's chromium opens the job page.
//
//   node bench/ui-dashboard.mjs [--scale X]     (also `npm run bench -- --only ui`)
//
// Targets (issue 4): the job page's first useful render (progress per type drawn) ≤ 1 s, and
// the task-list API ≤ 100 ms at the 95th percentile over a mix of pages and filters.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmt, freshDir, median, ROOT, table } from './measure.mjs';

const CHROMIUM = process.env.ORRERY_CHROMIUM ?? '/usr/bin/chromium';
const RENDER_LIMIT_S = 1;
const P95_LIMIT_MS = 100;
const dist = (file) => import(pathToFileURL(path.join(ROOT, 'dist', file)).href);

/** simulate ×(n/2) over a grid, analyse ×(n/2 - 1) each reading one simulation, one report after them all. */
function bigPlan(tasks) {
  const half = Math.floor(tasks / 2);
  const type = (name) => ({ name, command: 'true', cpu: 1, memory: 0, timeoutMs: null, retries: 0, backoffMs: 1000, qc: null, env: {}, pool: null, image: null });
  const planned = [];
  const edges = [];
  const side = Math.ceil(Math.sqrt(half));
  for (let i = 0; i < half; i++) {
    const loop = { mass: 0.5 + (i % side) * 0.01, mass_index: i % side, seed: Math.floor(i / side), seed_index: Math.floor(i / side) };
    planned.push({ name: `sim_${i}`, type: 'simulate', params: { mass: loop.mass, seed: loop.seed }, inputs: {}, outputs: { out: `sim_${i}.h5` }, after: [], loop, source: 'tasks[0].tasks[0].tasks[0]' });
  }
  for (let i = 0; i < tasks - half - 1; i++) {
    planned.push({ name: `ana_${i}`, type: 'analyse', params: { threshold: 7 }, inputs: { data: `sim_${i}.h5` }, outputs: { fit: `ana_${i}.json` }, after: [], loop: planned[i].loop, source: 'tasks[0].tasks[0].tasks[1]' });
    edges.push([i, half + i]);
  }
  const report = planned.length;
  planned.push({ name: 'report', type: 'report', params: {}, inputs: {}, outputs: {}, after: [], loop: {}, source: 'tasks[1]' });
  for (let i = half; i < report; i++) edges.push([i, report]);
  return { name: 'big', workdir: 'big', report: null, types: { simulate: type('simulate'), analyse: type('analyse'), report: type('report') }, tasks: planned, edges, externalInputs: {} };
}

/** Marks a realistic mix of states straight in the database (the job is not run). */
async function paint(dbFile, jobId, total) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(dbFile);
  const now = Date.now();
  db.prepare(`UPDATE tasks SET state = 'succeeded', started_at = ?, finished_at = ?, result = json_object('chi2', (id % 97) / 10.0, 'detected', id % 3 = 0) WHERE job_id = ? AND type = 'simulate' AND id % 10 < 6`).run(now - 60_000, now - 30_000, jobId);
  db.prepare(`UPDATE tasks SET state = 'failed', error = 'exit code 1' || char(10) || 'ValueError: no convergence' WHERE job_id = ? AND type = 'simulate' AND id % 10 = 6`).run(jobId);
  db.prepare(`UPDATE tasks SET state = 'running', worker = 'local@bench' WHERE job_id = ? AND type = 'simulate' AND id % 10 = 7`).run(jobId);
  db.prepare(`UPDATE tasks SET state = 'queued', pending = 0 WHERE job_id = ? AND type = 'analyse' AND id % 10 < 6`).run(jobId);
  db.close();
  return total;
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function timeRequests(base, routes, rounds) {
  const times = [];
  for (let r = 0; r < rounds; r++) {
    for (const route of routes) {
      const start = performance.now();
      const response = await fetch(`${base}${route}`);
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`${route}: HTTP ${response.status}`);
      times.push(performance.now() - start);
    }
  }
  return times;
}

export async function uiDashboard(options = {}) {
  const scale = options.scale ?? 1;
  const tasks = Math.max(100, Math.round(100_000 * scale));
  const dir = freshDir('ui-dashboard');
  const [{ openStore }, { serveApi }, { localProducts }] = await Promise.all([dist('store/open.js'), dist('server/serve.js'), dist('server/context.js')]);
  const dbFile = path.join(dir, 'orrery.db');

  const plan = bigPlan(tasks);
  const t0 = performance.now();
  let store = await openStore(dbFile);
  const job = await store.submitJob(plan, { planHash: 'bench', failFast: false, sourceFile: null, externalVersions: {}, typeHashes: { simulate: 'a', analyse: 'b', report: 'c' } });
  const submitSeconds = (performance.now() - t0) / 1000;
  await store.close();
  await paint(dbFile, job.id, tasks);

  store = await openStore(dbFile);
  const server = await serveApi({
    store,
    products: localProducts(path.join(dir, 'files')),
    host: '127.0.0.1',
    port: 0,
    auth: { adminToken: 'bench-admin-token', readToken: null, requireReadToken: false, loopbackHostOnly: true, cookieName: 'orrery_bench' },
  });
  const base = server.url.replace(/\/$/, '');
  try {
    const j = job.id;
    const taskList = [
      `/api/jobs/${j}/tasks?limit=50`,
      `/api/jobs/${j}/tasks?limit=50&offset=25000`,
      `/api/jobs/${j}/tasks?limit=50&offset=${tasks - 60}`,
      `/api/jobs/${j}/tasks?state=failed&limit=50`,
      `/api/jobs/${j}/tasks?state=queued&limit=50&offset=10000`,
      `/api/jobs/${j}/tasks?type=analyse&limit=50&offset=20000`,
      `/api/jobs/${j}/tasks?name=sim_4999&limit=50`,
      `/api/jobs/${j}/tasks?loop.mass_index=7&limit=50`,
      `/api/jobs/${j}/tasks?type=simulate&state=running&limit=50&offset=1000`,
    ];
    await timeRequests(base, taskList, 1); // warm the page cache
    const listTimes = await timeRequests(base, taskList, 25);
    const other = {};
    for (const [what, route] of [
      ['job (counts, types, failures)', `/api/jobs/${j}`],
      ['jobs list', '/api/jobs'],
      ['graph (aggregated)', `/api/jobs/${j}/graph`],
      ['timeline', `/api/jobs/${j}/timeline`],
      ['results page (1,000 rows)', `/api/jobs/${j}/results?type=simulate&limit=1000`],
    ]) {
      const times = await timeRequests(base, [route], 10);
      other[what] = { median: median(times), p95: percentile(times, 95) };
    }

    let render = null;
    if (fs.existsSync(CHROMIUM)) {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
      try {
        const runs = [];
        for (let i = 0; i < 6; i++) {
          const context = await browser.newContext(); // a cold cache each time
          const page = await context.newPage();
          // the page notes when each part first appears, in ms since its navigation started
          await page.addInitScript(() => {
            const marks = {};
            window.__marks = marks;
            const parts = {
              useful: () => document.querySelectorAll('table.types tbody tr').length >= 3 && document.querySelector('.job-header .summary [data-state="succeeded"]'),
              tasks: () => document.querySelectorAll('table.tasks tbody tr').length >= 50,
              graph: () => document.querySelector('[data-testid="graph"] canvas'),
            };
            new MutationObserver(() => {
              for (const [name, seen] of Object.entries(parts)) if (!(name in marks) && seen()) marks[name] = performance.now();
            }).observe(document, { childList: true, subtree: true });
          });
          const start = performance.now();
          await page.goto(`${base}/#/jobs/${j}`);
          await page.locator('table.types tbody tr').nth(2).waitFor();
          await page.locator('table.tasks tbody tr').nth(49).waitFor();
          await page.locator('[data-testid="graph"] canvas').first().waitFor();
          const wall = (performance.now() - start) / 1000;
          const marks = await page.evaluate(() => window.__marks);
          runs.push({ useful: marks.useful / 1000, tasksShown: marks.tasks / 1000, graphShown: marks.graph / 1000, wall });
          await context.close();
        }
        const kept = runs.slice(1); // the first also pays for starting chromium's renderer
        render = {
          useful: median(kept.map((r) => r.useful)),
          usefulMax: Math.max(...kept.map((r) => r.useful)),
          tasks: median(kept.map((r) => r.tasksShown)),
          graph: median(kept.map((r) => r.graphShown)),
          wall: median(kept.map((r) => r.wall)),
        };
      } finally {
        await browser.close();
      }
    }

    const p95 = percentile(listTimes, 95);
    const ms = (x) => `${x.toFixed(1)} ms`;
    table(
      [
        ['what', 'median', 'p95'],
        [`task list (${taskList.length} pages/filters × 25)`, ms(median(listTimes)), ms(p95)],
        ...Object.entries(other).map(([what, t]) => [what, ms(t.median), ms(t.p95)]),
      ],
      `Dashboard API on a ${fmt.int(tasks)}-task job (submitted in ${fmt.seconds(submitSeconds)})`,
    );
    if (render) {
      table(
        [
          ['job page in chromium (cold cache, median of 5; from navigation start)', 'seconds'],
          ['first useful render: counts and progress per type', fmt.seconds(render.useful)],
          ['  slowest of the 5', fmt.seconds(render.usefulMax)],
          ['first page of the task list', fmt.seconds(render.tasks)],
          ['graph drawn', fmt.seconds(render.graph)],
          ['everything, as the test driver saw it (incl. a new browser tab)', fmt.seconds(render.wall)],
        ],
        'Dashboard in the browser',
      );
    } else process.stdout.write(`\n${CHROMIUM} is missing: the render time was not measured (apt-get install chromium)\n`);

    return {
      figures: { tasks, submitSeconds, taskList: { median: median(listTimes), p95, samples: listTimes.length }, other, render },
      targets: [
        { benchmark: 'ui', what: `job page first useful render ≤ ${RENDER_LIMIT_S} s`, value: render ? fmt.seconds(render.useful) : 'no chromium', pass: render ? render.useful <= RENDER_LIMIT_S : null },
        { benchmark: 'ui', what: `task-list API p95 ≤ ${P95_LIMIT_MS} ms`, value: ms(p95), pass: p95 <= P95_LIMIT_MS },
      ],
    };
  } finally {
    await server.close();
    await store.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const scaleAt = process.argv.indexOf('--scale');
  const { targets } = await uiDashboard({ scale: scaleAt > 0 ? Number(process.argv[scaleAt + 1]) : 1 });
  table([['target', 'measured', 'verdict'], ...targets.map((t) => [t.what, t.value, t.pass === null ? 'SKIPPED' : t.pass ? 'PASS' : 'FAIL'])], 'Summary');
}
