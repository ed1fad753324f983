/**
 * `orrery ui`: the dashboard and HTTP API over the local embedded task database, until
 * Ctrl-C. Bound to 127.0.0.1 unless told otherwise; bound elsewhere, every reader needs a
 * token. Retry and cancel always need the admin token (generated and printed if not given).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { NotFoundError } from '../../core/errors.js';
import { openFileRepository } from '../../files/open.js';
import { openStore } from '../../store/open.js';
import { type GlobalOptions, pathsOf } from '../context.js';
import { type DashboardFlags, dashboardSettings, startDashboard } from '../dashboard.js';

export interface UiOptions extends GlobalOptions, DashboardFlags {
  open?: boolean;
}

export async function uiCommand(options: UiOptions): Promise<number> {
  const settings = dashboardSettings(options);
  const paths = pathsOf(options);
  const dbFile = paths.db.replace(/^sqlite:(\/\/)?/, '');
  if (!fs.existsSync(dbFile)) {
    throw new NotFoundError(`no task database at ${paths.db}; run a job first (orrery run JOB) or point --state-dir / --db at one`);
  }
  const store = await openStore(paths.db);
  const files = await openFileRepository(paths.files).catch(async (error) => {
    await store.close();
    throw error;
  });
  const dashboard = await startDashboard(settings, {
    store,
    products: files,
    mode: 'embedded',
    retryHint: (job) => `\`orrery run ${job.id}\` runs them (a run already working on job ${job.id} picks them up by itself)`,
    onError: (error) => process.stderr.write(`orrery ui: ${error.stack ?? error.message}\n`),
  }).catch(async (error) => {
    await store.close();
    files.close?.();
    throw error;
  });

  process.stdout.write(`${[`Orrery dashboard for ${paths.stateDir}: ${dashboard.url}`, ...dashboard.banner, 'Ctrl-C stops it.'].join('\n')}\n`);
  if (options.open) openBrowser(dashboard.url);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await dashboard.server.close();
  await store.close();
  files.close?.();
  return 0;
}

function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    spawn(command, [url], { stdio: 'ignore', detached: true })
      .on('error', () => process.stderr.write(`orrery ui: could not start ${command}; open ${url} yourself\n`))
      .unref();
  } catch {
    process.stderr.write(`orrery ui: could not start ${command}; open ${url} yourself\n`);
  }
}
