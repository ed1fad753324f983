/** Starts the API server on a port: what `orrery ui` and `orrery server` call. */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { InfrastructureError } from '../core/errors.js';
import { type ApiServerOptions, createApiServer } from './app.js';

export interface RunningServer {
  /** http://host:port/ as a browser would open it. */
  url: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

export async function serveApi(options: ApiServerOptions & { host: string; port: number }): Promise<RunningServer> {
  const api = createApiServer(options);
  const server = serve({ fetch: api.app.fetch, hostname: options.host, port: options.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new InfrastructureError(
          error.code === 'EADDRINUSE'
            ? `port ${options.port} on ${options.host} is already in use; choose another with --port`
            : `cannot listen on ${options.host}:${options.port}: ${error.message}`,
        ),
      ),
    );
  });
  const port = (server.address() as AddressInfo).port;
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    host: options.host,
    close: () =>
      new Promise<void>((resolve) => {
        api.close();
        // event streams never end by themselves: drop every connection
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
