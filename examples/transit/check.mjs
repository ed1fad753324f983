#!/usr/bin/env node
// check.mjs — decide whether the BLS search recovered the injected planet.
//
// Orrery task protocol: reads the BLS summary (JSON written by bls.mjs) named by inputs.search and
// writes its verdict to $ORRERY_RESULT. check.py is the same code in Python.
//
// Detected = the best BLS period is within period_tol (1%) of the injected period, or of its 2x or
//            0.5x alias (a transit found with every other transit, or with a spurious one in between:
//            the transit is real and follow-up resolves the period; period_match says which), AND the
//            BLS SNR is above snr_min (7).
// Params (defaults in brackets): period (injected, days), radius (Earth radii), noise_ppm,
//   snr_min [7], period_tol [0.01]
import { readFileSync, writeFileSync } from 'node:fs';

process.on('uncaughtException', (e) => { console.error(`check.mjs: error: ${e.message}`); process.exit(1); });

function readTask() {
  if (!process.env.ORRERY_TASK) throw new Error('ORRERY_TASK is not set: run me through Orrery, or set it to a task JSON file');
  return JSON.parse(readFileSync(process.env.ORRERY_TASK, 'utf8'));
}
function writeResult(result) {
  if (process.env.ORRERY_RESULT) writeFileSync(process.env.ORRERY_RESULT, JSON.stringify(result) + '\n');
}
function num(params, name, dflt) {
  const v = params[name] ?? dflt;
  const x = typeof v === 'number' ? v : Number(v);
  if (v === undefined || v === null || v === '' || !Number.isFinite(x)) {
    throw new Error(`param ${name} must be a number, got ${JSON.stringify(v)}`);
  }
  return x;
}

// The aliases accepted, best period / injected period.
const MATCHES = [['P', 1], ['2P', 2], ['P/2', 0.5]];

const task = readTask();
const p = task.params ?? {};
const period = num(p, 'period');
const radius = num(p, 'radius');
const noisePpm = num(p, 'noise_ppm');
const snrMin = num(p, 'snr_min', 7);
const periodTol = num(p, 'period_tol', 0.01);
const inPath = task.inputs?.search ?? process.env.ORRERY_INPUT_SEARCH;
if (!inPath) throw new Error('no input named "search" in the task');

const bls = JSON.parse(readFileSync(inPath, 'utf8'));
const best = bls.best ?? {};
const bestPeriod = Number(best.period);
const snr = Number(best.snr);
if (!Number.isFinite(bestPeriod) || !Number.isFinite(snr)) throw new Error(`${inPath}: best.period and best.snr must be numbers`);

let periodMatch = 'none';
for (const [label, factor] of MATCHES) {
  if (Math.abs(bestPeriod / (period * factor) - 1) < periodTol) { periodMatch = label; break; }
}
const detected = periodMatch !== 'none' && snr > snrMin;

const result = {
  noise_ppm: noisePpm,
  radius,
  detected,
  snr,
  best_period: bestPeriod,
  period_match: periodMatch,
  injected_period: period,
  snr_min: snrMin,
  period_tol: periodTol,
};
// Pass on what the report needs to describe the data; results hold numbers only, so skip missing ones.
for (const [key, value] of [['depth_ppm', best.depth_ppm], ['sde', best.sde], ['baseline_days', bls.baseline_days],
  ['cadence_min', bls.cadence_min], ['n_points', bls.n_points]]) {
  if (typeof value === 'number' && Number.isFinite(value)) result[key] = value;
}
writeResult(result);
console.log(`noise ${noisePpm} ppm, Rp ${radius} R_earth: best P ${bestPeriod.toFixed(4)} d (match: ${periodMatch}), ` +
  `SNR ${snr.toFixed(1)} -> ${detected ? 'DETECTED' : 'not detected'}`);
