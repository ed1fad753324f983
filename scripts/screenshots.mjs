#!/usr/bin/env node
// Regenerates docs/screenshots/*.png: runs the transit demo and the dashboard demo job (one of
// whose tasks fails) into a temporary state directory, serves `orrery ui` over it, and
// photographs each page with Debian's chromium. `npm run screenshots` (builds first).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { writeDemoJob } from '../test/fixtures/dashboard-demo.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const orrery = path.join(root, 'bin', 'orrery.js');
const out = path.join(root, 'docs', 'screenshots');
const CHROMIUM = process.env.ORRERY_CHROMIUM ?? '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) {
  process.stderr.write(`screenshots: ${CHROMIUM} is missing; apt-get install chromium\n`);
  process.exit(2);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-screenshots-'));
const stateDir = path.join(work, '.orrery');
const children = [];
const start = (...args) => {
  const child = spawn(process.execPath, [orrery, ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

try {
  process.stdout.write('running the transit demo…\n');
  const transit = spawnSync(process.execPath, [orrery, 'run', path.join(root, 'examples/transit/job.yaml'), '--state-dir', stateDir, '--quiet'], { cwd: work, encoding: 'utf8' });
  if (transit.status !== 0) throw new Error(`the transit demo failed:\n${transit.stderr}`);

  const demo = writeDemoJob(path.join(work, 'demo'), { sims: 24, pause: 0.5, maxWait: 120 });
  const run = start('run', demo.job, '--state-dir', stateDir, '--quiet');
  const ui = start('ui', '--port', '0', '--state-dir', stateDir, '--poll-ms', '250');
  const url = await new Promise((resolve, reject) => {
    let text = '';
    ui.stdout.on('data', (c) => {
      text += c;
      const m = /(http:\/\/\S+)/.exec(text);
      if (m) resolve(m[1]);
    });
    ui.on('exit', (code) => reject(new Error(`orrery ui exited with ${code}`)));
  });
  const origin = new URL(url).origin;

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  fs.mkdirSync(out, { recursive: true });
  const shoot = async (name, hash, ready, fullPage = true) => {
    await page.goto(`${origin}/${hash}`);
    await ready();
    await sleep(700); // let charts and the graph settle
    await page.screenshot({ path: path.join(out, `${name}.png`), fullPage });
    process.stdout.write(`  docs/screenshots/${name}.png\n`);
  };

  await page.goto(url); // signs in: the token goes into a cookie
  await page.locator('#failures li[data-task="fit"]').waitFor({ timeout: 60_000 }).catch(() => {});
  await page.goto(`${origin}/#/jobs/2`);
  await page.locator('#failures li[data-task="fit"]').waitFor({ timeout: 60_000 });
  await shoot('jobs', '#/', () => page.locator('table.jobs tr[data-job="2"]').waitFor(), false);
  await shoot('job-running', '#/jobs/2', () => page.locator('#failures li').waitFor());
  const fit = await page.evaluate(async () => (await (await fetch('/api/jobs/2/task/fit')).json()).id);
  await shoot('task-failed', `#/tasks/${fit}`, () => page.locator('#error .traceback').first().waitFor());
  await shoot('job-transit', '#/jobs/1', () => page.locator('[data-testid="graph"] canvas').first().waitFor());
  const search = await page.evaluate(async () => (await (await fetch('/api/jobs/1/task/search_2_1')).json()).id);
  await shoot('task', `#/tasks/${search}`, () => page.locator('#log [data-testid="log"] .line').first().waitFor());
  await page.evaluate(() => {
    sessionStorage.setItem('plot-y-check', 'result.snr');
    sessionStorage.setItem('plot-x-check', 'loop.noise');
  });
  await shoot('results', '#/jobs/1/results?type=check', () => page.locator('[data-testid="results-table"] .tabulator-row').first().waitFor());
  await shoot('workers', '#/workers', () => page.locator('table.workers tr[data-worker]').first().waitFor(), false);
  await browser.close();

  fs.writeFileSync(demo.gate, 'open');
  await new Promise((resolve) => (run.exitCode !== null ? resolve() : run.once('exit', resolve)));
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await sleep(300);
  fs.rmSync(work, { recursive: true, force: true });
}
