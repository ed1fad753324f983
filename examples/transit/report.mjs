#!/usr/bin/env node
// report.mjs — the detection-vs-noise table of the transit demo.
//
// Orrery task protocol: the job makes this task depend on every check task (after: ["check_*"]),
// so results_of in the task description holds all their verdicts. Writes the table to
// outputs.table and prints it. Params (defaults in brackets): R_earth [0.009168] (Earth radius in
// stellar radii, only to label the columns with the transit depth).
import { readFileSync, writeFileSync } from 'node:fs';

process.on('uncaughtException', (e) => { console.error(`report.mjs: error: ${e.message}`); process.exit(1); });

if (!process.env.ORRERY_TASK) throw new Error('ORRERY_TASK is not set: run me through Orrery, or set it to a task JSON file');
const task = JSON.parse(readFileSync(process.env.ORRERY_TASK, 'utf8'));
const params = task.params ?? {};
const rEarth = Number(params.R_earth ?? 0.009168);
const outPath = task.outputs?.table ?? process.env.ORRERY_OUTPUT_TABLE;
if (!outPath) throw new Error('no output named "table" in the task');

const resultsOf = task.results_of ?? {};
const cells = Object.entries(resultsOf)
  .filter(([, r]) => r && typeof r === 'object' && typeof r.detected === 'boolean')
  .map(([name, r]) => ({ name, ...r, noise_ppm: Number(r.noise_ppm), radius: Number(r.radius), snr: Number(r.snr) }))
  .filter((r) => Number.isFinite(r.noise_ppm) && Number.isFinite(r.radius));
if (cells.length === 0) {
  const names = Object.keys(resultsOf);
  throw new Error(names.length === 0
    ? 'results_of is empty: this task must run after the check tasks (after: ["check_*"]) to have verdicts to tabulate'
    : `none of the results in results_of (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}) is a check verdict with noise_ppm, radius and detected`);
}

const unique = (xs) => [...new Set(xs)].sort((a, b) => a - b);
const noises = unique(cells.map((c) => c.noise_ppm));
const radii = unique(cells.map((c) => c.radius));
const at = new Map(cells.map((c) => [`${c.noise_ppm}|${c.radius}`, c]));
const fmt = (x, digits) => (Number.isInteger(x) ? String(x) : x.toFixed(digits));
const first = cells[0];

const header1 = ['white noise', ...radii.map((r) => `Rp = ${fmt(r, 2)} R_earth`)];
const header2 = [`per ${first.cadence_min ? fmt(Math.round(first.cadence_min), 0) + ' min' : 'point'}`,
  ...radii.map((r) => `depth ${Math.round((r * rEarth) ** 2 * 1e6)} ppm`)];
let aliases = 0;
const noiseLabel = (n) => `${n >= 100 ? Math.round(n) : fmt(Math.round(n * 10) / 10, 1)} ppm`;
const rows = noises.map((n) => [noiseLabel(n), ...radii.map((r) => {
  const c = at.get(`${n}|${r}`);
  if (!c) return '-';
  const alias = c.detected && c.period_match && c.period_match !== 'P';
  if (alias) aliases++;
  return `${c.detected ? (alias ? 'yes*' : 'yes') : 'no'} (SNR ${Number.isFinite(c.snr) ? c.snr.toFixed(1) : '?'})`;
})]);
const widths = header1.map((_, j) => Math.max(...[header1, header2, ...rows].map((row) => row[j].length)));
const line = (row) => row.map((cell, j) => (j === 0 ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join(' | ').trimEnd();
const rule = widths.map((w) => '-'.repeat(w)).join('-+-');

const nDetected = cells.filter((c) => c.detected).length;
const snrMin = first.snr_min ?? 7;
const tolPct = (first.period_tol ?? 0.01) * 100;
const data = first.baseline_days
  ? `${fmt(Math.round(first.baseline_days), 0)} days of photometry` +
    (first.cadence_min ? ` at ${fmt(Math.round(first.cadence_min), 0)} min cadence` : '') +
    (first.n_points ? ` (${first.n_points} points)` : '')
  : 'simulated photometry';
const text = [
  'Transit detection vs noise: which injected planets does a BLS search recover?',
  `Sun-like star, planets on a ${fmt(first.injected_period, 2)} d orbit, ${data}, white + correlated noise.`,
  `"yes" = BLS best period within ${fmt(tolPct, 1)}% of the injected one and SNR > ${fmt(snrMin, 1)}` +
    (aliases ? '; "yes*" = found at the 2x or 0.5x period alias.' : '.'),
  'SNR is that of the strongest BLS peak, wherever it is; rows: white noise per point, columns: planet radius.',
  '',
  line(header1),
  line(header2),
  rule,
  ...rows.map(line),
  '',
  `Recovered ${nDetected} of ${cells.length} injected planets.`,
].join('\n') + '\n';

writeFileSync(outPath, text);
process.stdout.write(text);
if (process.env.ORRERY_RESULT) {
  writeFileSync(process.env.ORRERY_RESULT, JSON.stringify({ cells: cells.length, detected: nDetected }) + '\n');
}
