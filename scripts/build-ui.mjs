#!/usr/bin/env node
// Builds the dashboard (src/ui) into dist/ui with esbuild: one small entry script, the heavy
// widgets (graph, charts, tables) as chunks loaded when a page needs them, one stylesheet,
// and gzip copies the server sends to browsers that accept them. Part of `npm run build`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src', 'ui');
const out = path.join(root, 'dist', 'ui');

fs.rmSync(out, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { app: path.join(source, 'main.tsx'), style: path.join(source, 'styles.css') },
  outdir: path.join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

const outputs = Object.entries(result.metafile.outputs);
const entry = (name) => {
  const found = outputs.find(([file, meta]) => meta.entryPoint && path.basename(file).startsWith(`${name}-`) && !file.endsWith('.map'));
  if (!found) throw new Error(`esbuild produced no ${name} bundle`);
  return `assets/${path.basename(found[0])}`;
};
const html = fs
  .readFileSync(path.join(source, 'index.html'), 'utf8')
  .replace('%APP%', entry('app'))
  .replace('%STYLE%', entry('style'));
fs.writeFileSync(path.join(out, 'index.html'), html);

let total = 0;
let gzipped = 0;
for (const file of [path.join(out, 'index.html'), ...outputs.map(([f]) => path.join(root, f))]) {
  if (!/\.(js|css|html)$/.test(file)) continue;
  const bytes = fs.readFileSync(file);
  const gz = zlib.gzipSync(bytes, { level: 9 });
  fs.writeFileSync(`${file}.gz`, gz);
  total += bytes.length;
  gzipped += gz.length;
}
process.stdout.write(`dashboard built into ${path.relative(process.cwd(), out) || out}: ${(total / 1024).toFixed(0)} KiB (${(gzipped / 1024).toFixed(0)} KiB gzipped)\n`);
