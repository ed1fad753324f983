/**
 * Who may do what. Two tokens: the admin token (retry, cancel — always required for them)
 * and an optional read-only token for viewers. A server bound to a loopback address lets
 * anyone on this machine read without a token, but only under a loopback Host header (so a
 * web page cannot read it through DNS rebinding); bound elsewhere, every request but
 * /healthz needs a token.
 *
 * A token is presented as `Authorization: Bearer T`, as `?token=T`, or by the cookie that
 * opening the dashboard once with `?token=T` sets (HttpOnly, SameSite=Strict). Requests that
 * change something must be POSTs whose Origin, when sent, is this server.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';

export type Access = 'none' | 'read' | 'admin';

export interface AuthOptions {
  adminToken: string;
  readToken?: string | null;
  /** True when bound beyond loopback: reads need a token too. */
  requireReadToken: boolean;
  /** Bound to loopback: accept only Host headers naming a loopback address (against DNS rebinding). */
  loopbackHostOnly: boolean;
  /** Cookie holding the token; per port, so two servers on one host do not overwrite each other's. */
  cookieName: string;
}

export type AuthEnv = { Variables: { access: Access } };

export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The host name of a Host header ("127.0.0.1:8080" -> "127.0.0.1", "[::1]:80" -> "[::1]"). */
function hostName(header: string): string {
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0];
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function same(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function presentedToken(c: Context, cookieName: string): string | null {
  const header = c.req.header('authorization');
  if (header?.toLowerCase().startsWith('bearer ')) return header.slice(7).trim();
  return c.req.query('token') ?? getCookie(c, cookieName) ?? null;
}

/** Which of the server's tokens this is, if any. */
function tokenKind(token: string | null, options: AuthOptions): 'admin' | 'read' | null {
  if (token === null) return null;
  if (same(token, options.adminToken)) return 'admin';
  if (options.readToken && same(token, options.readToken)) return 'read';
  return null;
}

export function accessOf(token: string | null, options: AuthOptions): Access {
  return tokenKind(token, options) ?? (options.requireReadToken ? 'none' : 'read');
}

/**
 * Sets `access` for the routes; refuses foreign Host headers and cross-origin writes. A page
 * opened with a valid `?token=` stores it in the cookie and is redirected to the same page
 * without it, so the token does not stay in the address bar or the history.
 */
export function authenticate(options: AuthOptions): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const host = (c.req.header('host') ?? '').toLowerCase();
    if (options.loopbackHostOnly && !isLoopback(hostName(host))) {
      return c.json({ error: 'this server is bound to a loopback address: open it as http://127.0.0.1:PORT/ or http://localhost:PORT/' }, 403);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const origin = c.req.header('origin');
      if (origin && origin !== 'null' && new URL(origin).host.toLowerCase() !== host) {
        return c.json({ error: 'cross-origin request refused' }, 403);
      }
    }
    const token = presentedToken(c, options.cookieName);
    const access = accessOf(token, options);
    c.set('access', access);
    const fromQuery = c.req.query('token');
    if (fromQuery !== undefined && tokenKind(fromQuery, options) !== null) {
      setCookie(c, options.cookieName, fromQuery, { httpOnly: true, sameSite: 'Strict', path: '/' });
      if (c.req.method === 'GET' && !c.req.path.startsWith('/api/') && c.req.path !== '/metrics') {
        const url = new URL(c.req.url);
        url.searchParams.delete('token');
        return c.redirect(`${url.pathname}${url.search}`, 302);
      }
    }
    await next();
  };
}

/** Refuses the request unless the caller has at least `needed`. */
export function requireAccess(needed: Exclude<Access, 'none'>): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const access = c.get('access');
    if (access === 'admin' || (needed === 'read' && access === 'read')) return next();
    if (needed === 'admin') {
      return c.json({ error: 'retry and cancel need the admin token: open the address `orrery ui` printed (with ?token=), or send Authorization: Bearer <token>' }, 403);
    }
    return c.json({ error: 'this server needs a token: open the address `orrery ui` printed (with ?token=), or send Authorization: Bearer <token>' }, 401);
  };
}
