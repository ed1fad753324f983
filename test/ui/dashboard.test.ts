/**
 * The dashboard in a real browser over a job that is running: counts change live without a
 * reload, a failed task shows its traceback, a product downloads, a retry from the page
 * succeeds, and HTML written by a science code stays text.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoJob } from '../fixtures/dashboard-demo.mjs';
import { Project } from '../helpers/cli.js';
import { exited, hasChromium, launchBrowser, startUi, waitForFile } from './browser.js';

// CI installs chromium (.ci/run); elsewhere the test says why it did not run
describe.skipIf(!hasChromium && !process.env.CI)('the dashboard in a browser', () => {
  let p: Project;
  let browser: Browser;
  let page: Page;
  let run: ChildProcess;
  let ui: ChildProcess;
  let url: string;
  let demo: ReturnType<typeof writeDemoJob>;
  let stateDir: string;

  beforeAll(async () => {
    p = new Project('orrery-ui-');
    // the last five simulations wait for the page: the counts must change while it watches
    demo = writeDemoJob(p.dir, { sims: 10, pause: 0.3, maxWait: 90, hold: 5 });
    stateDir = path.join(p.dir, '.orrery');
    run = p.start('run', demo.job, '--state-dir', stateDir, '--quiet');
    await waitForFile(path.join(stateDir, 'orrery.db'));
    ({ url, process: ui } = await startUi(p, '--state-dir', stateDir, '--poll-ms', '200'));
    browser = await launchBrowser();
    page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => process.stderr.write(`page error: ${error.message}\n`));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    fs.writeFileSync(demo.gate, 'open');
    for (const child of [ui, run]) if (child && child.exitCode === null) child.kill('SIGTERM');
    await Promise.all([ui, run].filter(Boolean).map(exited));
    p?.remove();
  });

  it('shows a running job whose counts change live, without reloading', async () => {
    await page.goto(url);
    expect(new URL(page.url()).search).toBe(''); // the token went into a cookie
    await page.locator('table.jobs tr[data-job="1"] a').click();
    await page.locator('.job-header h1', { hasText: 'dashboard-demo' }).waitFor();
    await page.evaluate(() => ((window as any).__sameDocument = true));
    const succeeded = page.locator('.job-header .summary [data-state="succeeded"]');
    const countNow = async () => ((await succeeded.count()) ? Number((await succeeded.innerText()).split(' ')[0]) : 0);
    const first = await countNow();
    expect(first).toBeLessThanOrEqual(5);
    fs.writeFileSync(demo.release, 'go');
    await expect.poll(countNow, { timeout: 20_000 }).toBeGreaterThan(first);
    await expect.poll(countNow, { timeout: 20_000 }).toBeGreaterThanOrEqual(10);
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
    // the graph and the timeline are drawn by their libraries
    await page.locator('[data-testid="graph"] canvas').first().waitFor();
    await page.locator('.timeline canvas').waitFor();
  }, 60_000);

  it('puts the failure first and shows its traceback as text', async () => {
    const failure = page.locator('#failures li[data-task="fit"]');
    await failure.waitFor({ timeout: 20_000 });
    await expect.poll(() => failure.innerText()).toMatch(/ValueError: period grid is empty/);
    await failure.locator('a').click();
    await page.locator('h1', { hasText: 'fit' }).waitFor();
    const traceback = page.locator('#error .traceback');
    await expect.poll(() => traceback.allInnerTexts()).toContain('ValueError: period grid is empty: period_min > period_max\n');
    const log = page.locator('#log [data-testid="log"]');
    await expect.poll(() => log.innerText()).toContain('<script>window.__pwned = 1</script><b>not bold</b>');
    expect(await page.locator('#log [data-testid="log"] b').count()).toBe(0);
    expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
    expect(await page.locator('#log .traceback').count()).toBeGreaterThanOrEqual(6);
  }, 30_000);

  it('downloads a product of an upstream task', async () => {
    await page.locator('a', { hasText: 'sim_2' }).click();
    await page.locator('h1', { hasText: 'sim_2' }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('tr[data-product="sim_2.csv"] a', { hasText: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe('sim_2.csv');
    expect(fs.readFileSync(await download.path(), 'utf8')).toBe(`x,y\n3,${9 + Math.sin(3)}\n`);
    await page.goBack();
    await page.locator('h1', { hasText: 'fit' }).waitFor();
  }, 30_000);

  it('retries the failed task and sees it succeed', async () => {
    fs.writeFileSync(demo.marker, 'fixed');
    await page.locator('button', { hasText: /^Retry$/ }).click();
    await page.locator('.notice', { hasText: 'queued again' }).waitFor();
    // the `orrery run` still working on the job runs it; the page follows without a reload
    await page.locator('h1 .badge', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('#log [data-testid="log"]').innerText(), { timeout: 10_000 }).toContain('fit ok: period 17.3 d');
    expect(await page.locator('#attempts tbody tr').count()).toBe(2);
  }, 60_000);

  it('tabulates and plots results, with HTML in a result as text', async () => {
    await page.goto(`${new URL(url).origin}/#/jobs/1/results?type=simulate`);
    const table = page.locator('[data-testid="results-table"]');
    await table.locator('.tabulator-row').first().waitFor();
    expect(await table.locator('.tabulator-row').count()).toBe(10);
    await expect.poll(() => table.innerText()).toContain('run <b>3</b>');
    expect(await table.locator('b').count()).toBe(0);
    await page.locator('#plot canvas').waitFor();
    const csv = await page.evaluate(async () => (await fetch('/api/jobs/1/results.csv?type=simulate')).text());
    expect(csv.split('\n')[0]).toBe('task,state,x,params.pause,params.x,result.converged,result.label,result.y');
  }, 30_000);

  it('lets the job finish and shows it on the jobs page', async () => {
    fs.writeFileSync(demo.gate, 'open');
    expect(await exited(run)).toBe(0);
    await page.goto(`${new URL(url).origin}/#/`);
    await page.locator('tr[data-job="1"] .badge', { hasText: 'succeeded' }).waitFor({ timeout: 10_000 });
    await page.goto(`${new URL(url).origin}/#/workers`);
    await page.locator('table.workers tr[data-worker]').first().waitFor();
  }, 60_000);
});
