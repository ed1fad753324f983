#!/usr/bin/env node
// tsc compiles only the TypeScript in src/; plain JavaScript files that run as they are
// (the process launcher, src/worker/launcher.cjs) are copied to the same place under dist/,
// where the modules that start them look (dist/worker/launcher.cjs).
// Part of `npm run build`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src');
const out = path.join(root, 'dist');

for (const entry of fs.readdirSync(source, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.cjs')) continue;
  const from = path.join(entry.parentPath ?? entry.path, entry.name);
  const to = path.join(out, path.relative(source, from));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}
