#!/usr/bin/env node
// Bundles the command-line program (dist/cli/main.js and what it imports, as tsc compiled
// them) with esbuild into dist/bundle/: orrery.js, which bin/orrery.js runs, and the chunks
// its commands load on demand. Part of `npm run build`.
//
// Why: Node 20 resolves, reads and compiles every ES module on its own, and the packages
// every command needs (kysely, zod, yaml, commander) are some 500 files; loading them so
// took about 250 ms of each start of `orrery`, half the time of `orrery validate` on a
// 10,000-task job. Bundled, they load as a few files. Left outside the bundle, loaded from
// node_modules: better-sqlite3 (a native addon), the drivers and SDKs only some URLs need
// (pg, mysql2, @aws-sdk), and the server's packages (hono, pino, which starts worker threads
// from its own files, prom-client).
//
// Every chunk sits two levels below the package root, as every module of dist/<dir>/ does:
// paths to the package's own files are taken from there (src/core/package-root.ts).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'bundle');

fs.rmSync(out, { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { orrery: path.join(root, 'dist', 'cli', 'main.js') },
  outdir: out,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'pg', 'mysql2', '@aws-sdk/*', 'hono', 'hono/*', '@hono/*', 'pino', 'prom-client'],
  // the CommonJS packages inside call require() for Node's own modules
  banner: { js: "import { createRequire as __orreryRequire } from 'node:module'; const require = __orreryRequire(import.meta.url);" },
  // maps to the modules of dist/<dir>/, which the package ships: an internal error's stack
  // names their files and lines under NODE_OPTIONS=--enable-source-maps (off by default: it
  // costs every start some 50 ms)
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
});
