/**
 * The HTTP API over a real task database made by running a real job through the CLI: every
 * route a dashboard or a script relies on, live events, downloads, retry, and who may do what.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from '../helpers/cli.js';
import { writeDemoJob } from '../fixtures/dashboard-demo.mjs';
import { ADMIN, READER, readEvents, startApi, type TestApi } from './serve.js';

let p: Project;
let api: TestApi;
let stateDir: string;
let demo: { job: string; marker: string; gate: string };

beforeAll(async () => {
  p = new Project('orrery-api-');
  demo = writeDemoJob(p.dir, { sims: 5, pause: 0.05, maxWait: 0 });
  stateDir = path.join(p.dir, '.orrery');
  const run = p.orrery('run', demo.job, '--state-dir', stateDir, '--quiet');
  expect(run.code, run.stderr).toBe(1);
  api = await startApi(stateDir);
}, 60_000);

afterAll(async () => {
  await api?.close();
  p?.remove();
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('reading a job', () => {
  it('lists jobs with their counts', async () => {
    const { status, body } = await api.get('/api/jobs');
    expect(status).toBe(200);
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({ id: 1, name: 'dashboard-demo', state: 'failed', total: 8 });
    expect(body[0].counts).toMatchObject({ succeeded: 6, failed: 1, upstream_failed: 1 });
  });

  it('shows a job with counts per type and its failures first, by id or by name', async () => {
    const { body } = await api.get('/api/jobs/dashboard-demo');
    expect(body.id).toBe(1);
    const types = Object.fromEntries(body.types.map((t: any) => [t.type, t.counts]));
    expect(types.simulate.succeeded).toBe(5);
    expect(types.fit.failed).toBe(1);
    expect(body.failures.total).toBe(1);
    expect(body.failures.tasks[0].name).toBe('fit');
    expect(body.failures.tasks[0].errorText).toMatch(/ValueError: period grid is empty/);
    expect((await api.get('/api/jobs/nope')).status).toBe(404);
  });

  it('pages and filters tasks by state, type, name and loop values', async () => {
    const page = await api.get('/api/jobs/1/tasks?limit=3&offset=2');
    expect(page.body.total).toBe(8);
    expect(page.body.tasks.map((t: any) => t.name)).toEqual(['sim_2', 'sim_3', 'sim_4']);
    expect((await api.get('/api/jobs/1/tasks?state=failed')).body.tasks.map((t: any) => t.name)).toEqual(['fit']);
    expect((await api.get('/api/jobs/1/tasks?type=simulate')).body.total).toBe(5);
    expect((await api.get('/api/jobs/1/tasks?name=UMMA')).body.tasks.map((t: any) => t.name)).toEqual(['summary']);
    const loop = await api.get('/api/jobs/1/tasks?loop.x=3');
    expect(loop.body.tasks.map((t: any) => t.name)).toEqual(['sim_2']);
    expect((await api.get('/api/jobs/1/tasks?loop.x_index=0&type=simulate')).body.tasks.map((t: any) => t.name)).toEqual(['sim_0']);
    // wildcards in a filter are text, not patterns
    expect((await api.get('/api/jobs/1/tasks?name=%25')).body.total).toBe(0);
    expect((await api.get('/api/jobs/1/tasks?name=_')).body.total).toBe(5);
    expect((await api.get('/api/jobs/1/tasks?state=bogus')).status).toBe(400);
    expect((await api.get('/api/jobs/1/tasks?limit=100000')).status).toBe(400);
  });

  it('gives a task with params, products, results, attempts and neighbours', async () => {
    const sim = (await api.get('/api/jobs/1/task/sim_1')).body;
    expect(sim.params).toEqual({ x: 2, pause: 0.05 });
    expect(sim.result.y).toBeCloseTo(4 + Math.sin(2));
    expect(sim.outputs[0]).toMatchObject({ name: 'table', path: 'sim_1.csv', qcPassed: true, download: '/api/jobs/1/files/sim_1.csv' });
    expect(sim.attempts).toHaveLength(1);
    expect(sim.attempts[0]).toMatchObject({ number: 1, state: 'succeeded', exitCode: 0 });
    expect(sim.attempts[0].peakRss).toBeGreaterThan(0);
    expect(typeof sim.attempts[0].scratch).toBe('string');
    expect(sim.downstream.map((t: any) => t.name)).toEqual(['fit']);

    const fit = (await api.get(`/api/tasks/${sim.downstream[0].id}`)).body;
    expect(fit.state).toBe('failed');
    expect(fit.error).toMatch(/Traceback \(most recent call last\)/);
    expect(fit.upstreamTotal).toBe(5);
    expect(fit.downstream).toEqual([expect.objectContaining({ name: 'summary', state: 'upstream_failed' })]);
    expect((await api.get('/api/tasks/999')).status).toBe(404);
    expect((await api.get('/api/tasks/abc')).status).toBe(400);
  });

  it('serves logs: all, the tail, after a line, and followed to the end', async () => {
    const fit = (await api.get('/api/jobs/1/task/fit')).body;
    const all = (await api.get(`/api/tasks/${fit.id}/logs`)).body;
    expect(all.done).toBe(true);
    const text = all.lines.map((l: any) => l.line);
    // science output comes back as it was written: escaping is the viewer's job
    expect(text).toContain('<script>window.__pwned = 1</script><b>not bold</b>');
    expect(text).toContain('ValueError: period grid is empty: period_min > period_max');
    const tail = (await api.get(`/api/tasks/${fit.id}/logs?tail=2`)).body.lines;
    expect(tail.map((l: any) => l.seq)).toEqual(all.lines.slice(-2).map((l: any) => l.seq));
    const after = (await api.get(`/api/tasks/${fit.id}/logs?after=${all.lines[2].seq}`)).body.lines;
    expect(after).toHaveLength(all.lines.length - 3);
    const followed = await readEvents(`${api.base}/api/tasks/${fit.id}/logs?follow=1`, (e) => e.event === 'end');
    expect(followed.filter((e) => e.event === 'lines').flatMap((e) => e.data)).toHaveLength(all.lines.length);
    expect(followed.at(-1)).toEqual({ event: 'end', data: { state: 'failed' } });
  });

  it('downloads the bytes of a product', async () => {
    const response = await fetch(`${api.base}/api/jobs/1/files/sim_2.csv`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(/attachment; filename="sim_2.csv"/);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(await response.text()).toBe(`x,y\n3,${9 + Math.sin(3)}\n`);
    expect((await api.get('/api/jobs/1/files/nothing.csv')).status).toBe(404);
    const products = (await api.get('/api/jobs/1/products')).body;
    expect(products.map((x: any) => x.path)).toEqual(['sim_0.csv', 'sim_1.csv', 'sim_2.csv', 'sim_3.csv', 'sim_4.csv']);
  });

  it('aggregates the graph by loop and type, and expands a group on demand', async () => {
    const graph = (await api.get('/api/jobs/1/graph')).body;
    const groups = graph.nodes.map((n: any) => `${n.type}×${n.total}`);
    expect(groups).toEqual(['simulate×5', 'fit×1', 'summarize×1', 'gate×1']);
    const sim = graph.nodes[0];
    expect(sim).toMatchObject({ kind: 'group', loopVariables: ['x'], expandable: true });
    expect(graph.edges).toEqual(
      expect.arrayContaining([
        { from: sim.id, to: 'g:fit@tasks[1]' },
        { from: 'g:fit@tasks[1]', to: 'g:summarize@tasks[2]' },
      ]),
    );
    const expanded = (await api.get(`/api/jobs/1/graph?expand=${encodeURIComponent(sim.id)}`)).body;
    const tasks = expanded.nodes.filter((n: any) => n.kind === 'task');
    expect(tasks.map((n: any) => n.name)).toEqual(['sim_0', 'sim_1', 'sim_2', 'sim_3', 'sim_4']);
    expect(expanded.edges.filter((e: any) => e.to === 'g:fit@tasks[1]')).toHaveLength(5);
  });

  it('tabulates results of a type as JSON and CSV', async () => {
    const results = (await api.get('/api/jobs/1/results?type=simulate')).body;
    expect(results.total).toBe(5);
    expect(results.columns).toEqual({ loop: ['x'], params: ['pause', 'x'], results: ['converged', 'label', 'y'] });
    const csv = await api.get('/api/jobs/1/results.csv?type=simulate');
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (csv.body as string).trim().split('\n');
    expect(lines[0]).toBe('task,state,x,params.pause,params.x,result.converged,result.label,result.y');
    expect(lines).toHaveLength(6);
    expect(lines[5]).toBe(`sim_4,succeeded,5,0.05,5,false,run <b>5</b>,${25 + Math.sin(5)}`);
  });

  it('shows the workers the tasks table knows, timelines and metrics', async () => {
    const workers = (await api.get('/api/workers')).body;
    expect(workers).toEqual([expect.objectContaining({ running: [], attempts: 7, failed: 1 })]);
    expect(workers[0].worker).toMatch(/^local@/);
    const timeline = (await api.get('/api/jobs/1/timeline')).body;
    expect(timeline.attempts).toHaveLength(7);
    expect(timeline.attempts[0].id).toBeGreaterThan(timeline.attempts[6].id);
    const metrics = await api.get('/metrics');
    expect(metrics.body).toMatch(/^orrery_tasks\{state="failed"\} 1$/m);
    expect(metrics.body).toMatch(/^orrery_attempts\{state="succeeded"\} 6$/m);
    expect(metrics.body).toMatch(/^orrery_jobs\{state="failed"\} 1$/m);
    expect(metrics.body).toMatch(/orrery_http_requests_total\{method="GET",route="\/api\/jobs\/:job\/tasks",status="200"\}/);
    expect((await api.get('/healthz')).body).toEqual({ ok: true });
  });
});

describe('steering and live updates', () => {
  it('refuses retry without the admin token, and pushes the new counts after it', async () => {
    const fit = (await api.get('/api/jobs/1/task/fit')).body;
    expect((await api.post(`/api/tasks/${fit.id}/retry`)).status).toBe(403);
    expect((await api.post(`/api/tasks/${fit.id}/retry`, bearer(READER))).status).toBe(403);

    const events = readEvents(`${api.base}/api/events?job=1`, (e) => e.event === 'job' && e.data.counts.queued === 1);
    await new Promise((r) => setTimeout(r, 300));
    const retried = await api.post(`/api/tasks/${fit.id}/retry`, bearer(ADMIN));
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ requeued: 2 });
    expect(retried.body.hint).toMatch(/queued/);
    const seen = await events;
    expect(seen[0].event).toBe('hello');
    const last = seen.at(-1)!;
    expect(last.event).toBe('job');
    expect(last.data).toMatchObject({ id: 1, state: 'running' });
    expect(last.data.counts).toMatchObject({ queued: 1, waiting: 1, failed: 0 });

    // run the job again with the fix in place: the retried task succeeds
    fs.writeFileSync(demo.marker, 'ok');
    const rerun = p.orrery('run', '1', '--state-dir', stateDir, '--quiet');
    expect(rerun.code, rerun.stderr).toBe(0);
    expect((await api.get(`/api/tasks/${fit.id}`)).body.state).toBe('succeeded');
  }, 60_000);

  it('cancels with the admin token', async () => {
    const response = await api.post('/api/jobs/1/cancel', bearer(ADMIN));
    expect(response.body).toMatchObject({ job: 1, cancelled: 0, state: 'succeeded' });
  });
});

describe('who may do what', () => {
  it('answers only to loopback host names when bound to loopback (no DNS rebinding)', async () => {
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: api.server.port, path: '/api/jobs', headers: { Host: host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
    expect(await status('evil.example:80')).toBe(403);
    expect(await status(`localhost:${api.server.port}`)).toBe(200);
    expect(await status(`127.0.0.1:${api.server.port}`)).toBe(200);
  });

  it('refuses cross-origin writes even with the admin cookie', async () => {
    const response = await fetch(`${api.base}/api/jobs/1/retry`, { method: 'POST', headers: { ...bearer(ADMIN), Origin: 'http://evil.example' } });
    expect(response.status).toBe(403);
  });

  it('needs a token for everything but /healthz when bound beyond loopback', async () => {
    const open = await startApi(stateDir, { requireReadToken: true, loopbackHostOnly: false });
    try {
      expect((await open.get('/api/jobs')).status).toBe(401);
      expect((await open.get('/metrics')).status).toBe(401);
      expect((await open.get('/api/jobs', { Host: 'orrery.example' })).status).toBe(401);
      expect((await open.get('/healthz')).status).toBe(200);
      expect((await open.get('/api/jobs', bearer(READER))).status).toBe(200);
      expect((await open.get(`/api/jobs?token=${READER}`)).status).toBe(200);
      expect((await open.get('/api/jobs', bearer('wrong-token'))).status).toBe(401);
      expect((await open.post('/api/jobs/1/retry', bearer(READER))).status).toBe(403);
      expect((await open.post('/api/jobs/1/retry', bearer(ADMIN))).status).toBe(200);
      expect((await open.get('/api/info', bearer(READER))).body.access).toBe('read');
      // opening the dashboard with ?token= stores it in a cookie and drops it from the address
      const landing = await open.get(`/?token=${ADMIN}`);
      expect(landing.status).toBe(302);
      expect(landing.headers.get('location')).toBe('/');
      const cookie = landing.headers.get('set-cookie')!;
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      expect((await open.get('/api/info', { Cookie: cookie.split(';')[0] })).body.access).toBe('admin');
    } finally {
      await open.close();
    }
  });
});
