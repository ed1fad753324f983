/**
 * `orrery ui`: the dashboard and HTTP API over the local embedded task database, until
 * Ctrl-C. Bound to 127.0.0.1 unless told otherwise; bound elsewhere, every reader needs a
 * token. Retry and cancel always need the admin token (generated and printed if not given).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { InvalidInputError, NotFoundError } from '../../core/errors.js';
import { openStore } from '../../store/open.js';
import { generateToken, isLoopback } from '../../server/auth.js';
import { localProducts } from '../../server/context.js';
import { serveApi } from '../../server/serve.js';
import { type GlobalOptions, pathsOf } from '../context.js';

export interface UiOptions extends GlobalOptions {
  port: string;
  host: string;
  token?: string;
  readToken?: string;
  open?: boolean;
  pollMs?: string;
}

export async function uiCommand(options: UiOptions): Promise<number> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError('', '--port', `expected a port number (0-65535), got ${JSON.stringify(options.port)}`);
  const pollMs = options.pollMs === undefined ? 500 : Number(options.pollMs);
  if (!(pollMs >= 50)) throw new InvalidInputError('', '--poll-ms', `expected milliseconds (at least 50), got ${JSON.stringify(options.pollMs)}`);
  for (const [flag, value] of [['--token', options.token], ['--read-token', options.readToken]] as const) {
    if (value !== undefined && value.length < 8) throw new InvalidInputError('', flag, 'a token needs at least 8 characters');
  }
  const paths = pathsOf(options);
  const dbFile = paths.db.replace(/^sqlite:(\/\/)?/, '');
  if (!fs.existsSync(dbFile)) {
    throw new NotFoundError(`no task database at ${paths.db}; run a job first (orrery run JOB) or point --state-dir / --db at one`);
  }
  const loopback = isLoopback(options.host);
  const generated = options.token === undefined;
  const adminToken = options.token ?? generateToken();

  const store = await openStore(paths.db);
  const server = await serveApi({
    store,
    products: localProducts(paths.files),
    host: options.host,
    port,
    mode: 'embedded',
    pollMs,
    auth: { adminToken, readToken: options.readToken ?? null, requireReadToken: !loopback, loopbackHostOnly: loopback, cookieName: `orrery_token_${port}` },
    retryHint: (job) => `queued again: \`orrery run ${job.id}\` runs them (a run already working on job ${job.id} picks them up by itself)`,
    onError: (error) => process.stderr.write(`orrery ui: ${error.stack ?? error.message}\n`),
  }).catch(async (error) => {
    await store.close();
    throw error;
  });

  const url = generated ? `${server.url}?token=${adminToken}` : server.url;
  const lines = [`Orrery dashboard for ${paths.stateDir}: ${url}`];
  if (generated) lines.push('  (that address carries the admin token, which retry and cancel need: share it only with people who may steer jobs)');
  else lines.push('  (sign in with the admin token you gave: open the address with ?token=<token>)');
  if (!loopback) lines.push(`  bound to ${options.host}: viewers need ${options.readToken ? 'the read-only token (--read-token)' : 'a token'}`);
  lines.push('Ctrl-C stops it.');
  process.stdout.write(`${lines.join('\n')}\n`);
  if (options.open) openBrowser(url);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await store.close();
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
