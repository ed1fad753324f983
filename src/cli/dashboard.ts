/**
 * Serving the dashboard and HTTP API from the command line: what `orrery ui` and `orrery
 * server` share. Bound to 127.0.0.1 unless told otherwise; bound elsewhere, every reader
 * needs a token. Retry and cancel always need the admin token, generated if not given.
 */
import { InvalidInputError } from '../core/errors.js';
import { generateToken, isLoopback } from '../server/auth.js';
import type { ProductSource } from '../server/context.js';
import { type RunningServer, serveApi } from '../server/serve.js';
import type { JobRecord, Store } from '../store/store.js';

export interface DashboardFlags {
  port: string;
  host: string;
  token?: string;
  readToken?: string;
  pollMs?: string;
}

export interface DashboardSettings {
  port: number;
  host: string;
  pollMs: number;
  adminToken: string;
  /** True when the admin token was made up here: it is printed once, inside the address. */
  generated: boolean;
  readToken: string | null;
}

/** Checks the flags before anything is opened, so a typo fails at once with exit 2. */
export function dashboardSettings(flags: DashboardFlags): DashboardSettings {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError('', '--port', `expected a port number (0-65535), got ${JSON.stringify(flags.port)}`);
  const pollMs = flags.pollMs === undefined ? 500 : Number(flags.pollMs);
  if (!(pollMs >= 50)) throw new InvalidInputError('', '--poll-ms', `expected milliseconds (at least 50), got ${JSON.stringify(flags.pollMs)}`);
  for (const [flag, value] of [['--token', flags.token], ['--read-token', flags.readToken]] as const) {
    if (value !== undefined && value.length < 8) throw new InvalidInputError('', flag, 'a token needs at least 8 characters');
  }
  return {
    port,
    host: flags.host,
    pollMs,
    adminToken: flags.token ?? generateToken(),
    generated: flags.token === undefined,
    readToken: flags.readToken ?? null,
  };
}

export interface Dashboard {
  server: RunningServer;
  /** The address to open: with the admin token in it when that was generated. */
  url: string;
  /** What to tell the person who started it, one line each (never the token when they chose it). */
  banner: string[];
}

export async function startDashboard(
  settings: DashboardSettings,
  what: { store: Store; products: ProductSource; mode: 'embedded' | 'server'; retryHint(job: JobRecord): string; onError(error: Error): void },
): Promise<Dashboard> {
  const loopback = isLoopback(settings.host);
  const server = await serveApi({
    store: what.store,
    products: what.products,
    host: settings.host,
    port: settings.port,
    mode: what.mode,
    pollMs: settings.pollMs,
    auth: {
      adminToken: settings.adminToken,
      readToken: settings.readToken,
      requireReadToken: !loopback,
      loopbackHostOnly: loopback,
      cookieName: `orrery_token_${settings.port}`,
    },
    retryHint: what.retryHint,
    onError: what.onError,
  });
  const url = settings.generated ? `${server.url}?token=${settings.adminToken}` : server.url;
  const banner = [];
  if (settings.generated) banner.push('  (that address carries the admin token, which retry and cancel need: share it only with people who may steer jobs)');
  else banner.push('  (sign in with the admin token you gave: open the address with ?token=<token>)');
  if (!loopback) banner.push(`  bound to ${settings.host}: viewers need ${settings.readToken ? 'the read-only token (--read-token)' : 'a token'}`);
  return { server, url, banner };
}
