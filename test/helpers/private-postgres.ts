/**
 * A PostgreSQL server of a test's own (Debian's binaries, a temporary data directory,
 * its own port), so a test may restart or stop it without disturbing other tests.
 * The server runs as the `postgres` user, as Debian's packages expect.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class PrivatePostgres {
  readonly dir: string;
  readonly port: number;

  constructor(port: number) {
    this.port = port;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-pg-'));
    fs.chmodSync(this.dir, 0o777);
  }

  static available(): boolean {
    return Boolean(binDir()) && process.getuid?.() === 0;
  }

  get url(): string {
    return `postgres://orrery:orrery@127.0.0.1:${this.port}/orrery`;
  }

  start(): void {
    const data = path.join(this.dir, 'data');
    if (!fs.existsSync(data)) {
      this.asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres']);
      this.pgCtl(['start', '-w']);
      this.asPostgres('psql', ['-h', this.dir, '-p', String(this.port), '-U', 'postgres', '-qc', "CREATE ROLE orrery LOGIN SUPERUSER PASSWORD 'orrery'"]);
      this.asPostgres('psql', ['-h', this.dir, '-p', String(this.port), '-U', 'postgres', '-qc', 'CREATE DATABASE orrery OWNER orrery']);
      return;
    }
    this.pgCtl(['start', '-w']);
  }

  /** A fast restart: connections are cut, as in a failover or a crash-restart. */
  restart(): void {
    this.pgCtl(['restart', '-w', '-m', 'fast']);
  }

  stop(): void {
    try {
      this.pgCtl(['stop', '-w', '-m', 'immediate']);
    } catch {
      // not running
    }
  }

  remove(): void {
    this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private pgCtl(args: string[]): void {
    const data = path.join(this.dir, 'data');
    this.asPostgres('pg_ctl', ['-D', data, '-l', path.join(this.dir, 'log'), '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`, ...args]);
  }

  private asPostgres(program: string, args: string[]): void {
    const command = [path.join(binDir()!, program), ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    execFileSync('su', ['postgres', '-c', command], { stdio: 'pipe' });
  }
}

function binDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const versions = fs.readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(root, versions[0], 'bin') : null;
}
