#!/usr/bin/env node
// Compiles the native process launcher (src/worker/launcher.c) with the system's C compiler:
// `node scripts/build-launcher.mjs [--install] [OUT]`, by default into dist/worker/launcher,
// where the orrery process looks for it. Part of `npm run build`. Without a C compiler, or on
// a system other than Linux, it says so in one line and orrery starts commands with its Node
// launcher (launcher.cjs) instead; a compiler that fails on the source fails the build.
//
// --install: the package's install script. An installed package carries the launcher its
// publisher compiled, for the publisher's machine: it is compiled anew for this one, or
// removed when it cannot be (no compiler, not Linux, a compiler that fails) — never left to
// fail on every command — and the install goes on with the Node launcher.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const installing = args[0] === '--install';
if (installing) args.shift();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src', 'worker', 'launcher.c');
const out = path.resolve(args[0] ?? path.join(root, 'dist', 'worker', 'launcher'));
const compiler = process.env.CC || 'cc';
const fallback = 'orrery will start commands with its Node launcher, which costs more CPU per task';

/** Not built: no launcher is left behind (a stale one would be taken for this machine's). */
function notBuilt(why) {
  fs.rmSync(out, { force: true });
  console.log(`native launcher: not built (${why}); ${fallback}`);
  process.exit(0);
}

if (process.platform !== 'linux') notBuilt(`it needs Linux, this is ${process.platform}`);
fs.mkdirSync(path.dirname(out), { recursive: true });
// built beside its destination and renamed over it, so a running launcher is never overwritten
const partial = `${out}.${process.pid}.tmp`;
const result = spawnSync(compiler, ['-O2', '-Wall', '-Wextra', '-o', partial, source], { stdio: ['ignore', 'inherit', 'inherit'] });
if (result.error && result.error.code === 'ENOENT') notBuilt(`no C compiler: ${compiler} not found`);
if (result.error || result.status !== 0) {
  fs.rmSync(partial, { force: true });
  const failed = `${compiler} failed on ${path.relative(root, source)}${result.error ? ` (${result.error.message})` : ''}`;
  if (installing) notBuilt(failed);
  console.error(`native launcher: ${failed}; fix the source, or build without a C compiler (CC=none) to use the Node launcher`);
  process.exit(1);
}
fs.renameSync(partial, out);
