/**
 * The bundled command (scripts/build-cli.mjs): what `bin/orrery.js` loads at every start, and
 * that the package's own files are found from it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const BUNDLE = path.join(ROOT, 'dist', 'bundle');

/** What loading `file` loads before any of its code runs: its static imports, transitively. */
function staticGraph(file: string, seen = new Set<string>(), packages = new Set<string>()): { files: Set<string>; packages: Set<string> } {
  if (seen.has(file)) return { files: seen, packages };
  seen.add(file);
  const text = fs.readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^import\s(?:[^;]*?\sfrom\s*)?["']([^"']+)["']/gm)].map((m) => m[1]);
  for (const specifier of specifiers) {
    if (specifier.startsWith('./')) staticGraph(path.join(path.dirname(file), specifier), seen, packages);
    else if (!specifier.startsWith('node:')) packages.add(specifier);
  }
  return { files: seen, packages };
}

describe('the bundled command', () => {
  it('is what bin/orrery.js runs', () => {
    expect(fs.readFileSync(path.join(ROOT, 'bin', 'orrery.js'), 'utf8')).toMatch(/from '\.\.\/dist\/bundle\/orrery\.js'/);
    expect(fs.existsSync(path.join(BUNDLE, 'orrery.js')), 'dist/bundle/orrery.js is missing: run npm run build').toBe(true);
  });

  it('loads at start only the packages every command needs, each other one when it is used', () => {
    const { files, packages } = staticGraph(path.join(BUNDLE, 'orrery.js'));
    // the packages of every command are inside the bundle; the rest, even better-sqlite3, load
    // with the command that needs them
    expect([...packages], 'packages loaded from node_modules at every start').toEqual([]);
    expect(files.size).toBeLessThan(10);
    // and those packages are still reachable, in chunks loaded on demand
    const lazy = fs.readdirSync(BUNDLE).filter((name) => name.endsWith('.js') && !files.has(path.join(BUNDLE, name)));
    const lazyImports = new Set(lazy.flatMap((name) => [...staticGraph(path.join(BUNDLE, name)).packages]));
    for (const name of ['pg', 'mysql2', '@aws-sdk/client-s3', 'hono']) expect(lazyImports.has(name), `no chunk imports ${name}`).toBe(true);
  });

  it('finds the package it belongs to', () => {
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const run = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'orrery.js'), '--version'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });
});
