#!/usr/bin/env node
// check-periodogram.mjs — quality control of a BLS summary written by bls.mjs.
//
// Run by Orrery after bls.mjs (the `qc` of the bls task type) with the same environment; a
// non-zero exit marks the periodogram as failing QC. Usage: node check-periodogram.mjs [FILE]
// (default: outputs.periodogram of the task, or $ORRERY_OUTPUT_PERIODOGRAM).
import { readFileSync } from 'node:fs';

function fail(message) {
  console.error(`check-periodogram.mjs: QC failed: ${message}`);
  process.exit(1);
}

let path = process.argv[2] ?? process.env.ORRERY_OUTPUT_PERIODOGRAM;
if (!path && process.env.ORRERY_TASK) {
  path = JSON.parse(readFileSync(process.env.ORRERY_TASK, 'utf8')).outputs?.periodogram;
}
if (!path) fail('no periodogram file given (argument, ORRERY_OUTPUT_PERIODOGRAM or outputs.periodogram)');

let summary;
try {
  summary = JSON.parse(readFileSync(path, 'utf8'));
} catch (e) {
  fail(`${path}: not readable JSON (${e.message})`);
}
const finite = (x) => typeof x === 'number' && Number.isFinite(x);
const { best, grid, peaks } = summary ?? {};
if (!best || !grid) fail(`${path}: missing "best" or "grid"`);
if (!(finite(grid.n_frequencies) && grid.n_frequencies > 0)) fail(`${path}: grid.n_frequencies must be > 0`);
for (const key of ['period', 'epoch', 'duration_hours', 'depth_ppm', 'snr', 'sde']) {
  if (!finite(best[key])) fail(`${path}: best.${key} must be a finite number, got ${JSON.stringify(best[key])}`);
}
if (best.period < grid.period_min * 0.99 || best.period > grid.period_max * 1.01) {
  fail(`${path}: best.period ${best.period} is outside the searched range ${grid.period_min}..${grid.period_max} d`);
}
if (!(best.duration_hours > 0)) fail(`${path}: best.duration_hours must be > 0`);
if (!Array.isArray(peaks) || peaks.length === 0) fail(`${path}: "peaks" must be a non-empty list`);
console.log(`QC ok: ${path}: P = ${best.period.toFixed(4)} d, SNR ${best.snr.toFixed(1)}, ${grid.n_frequencies} frequencies`);
