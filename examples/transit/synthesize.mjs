#!/usr/bin/env node
// synthesize.mjs — simulate a photometric light curve of a Sun-like star with a transiting planet.
//
// Orrery task protocol: reads the task description named by $ORRERY_TASK, writes the light curve
// (CSV "time,flux", time in days, flux normalised to 1) to outputs.lightcurve, and its results
// (a JSON object) to $ORRERY_RESULT. No Orrery library is needed: it is plain JSON and files.
//
// Model
//   flux(t) = 1 - transit(t) + white(t) + red(t)
//   transit: trapezoid of depth (Rp/Rs)^2 (no limb darkening), total duration T14 and flat-bottom
//            duration T23 from Kepler's third law for the given star and impact parameter.
//   white:   Gaussian, rms noise_ppm per cadence.
//   red:     AR(1) (granulation-like) correlated noise, rms red_ppm, correlation time red_tau_min.
//
// Params (defaults in brackets)
//   days [200], cadence_min [30], radius (planet, Earth radii), period (days), noise_ppm,
//   seed [1], t0 (first mid-transit, days) [drawn from the seed], impact [0],
//   rstar (R_sun) [1], mstar (M_sun) [1], red_ppm [0.3 * noise_ppm], red_tau_min [60]
import { readFileSync, writeFileSync } from 'node:fs';

// Errors end the task with one readable line on stderr (Orrery shows the tail of stderr).
process.on('uncaughtException', (e) => { console.error(`synthesize.mjs: error: ${e.message}`); process.exit(1); });

const R_EARTH_IN_R_SUN = 0.009168; // 6371 km / 695700 km
const R_SUN_IN_AU = 1 / 215.032;

// ---- task protocol -----------------------------------------------------------------------------
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

// ---- seeded random numbers: mulberry32 + Box-Muller ---------------------------------------------
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function gaussian(uniform) {
  let spare = null;
  return function next() {
    if (spare !== null) { const s = spare; spare = null; return s; }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

// ---- main --------------------------------------------------------------------------------------
const task = readTask();
const p = task.params ?? {};
const days = num(p, 'days', 200);
const cadenceMin = num(p, 'cadence_min', 30);
const radiusEarth = num(p, 'radius');
const period = num(p, 'period');
const noisePpm = num(p, 'noise_ppm');
const seed = Math.round(num(p, 'seed', 1));
const impact = num(p, 'impact', 0);
const rstar = num(p, 'rstar', 1);
const mstar = num(p, 'mstar', 1);
const redPpm = num(p, 'red_ppm', 0.3 * noisePpm);
const redTauMin = num(p, 'red_tau_min', 60);
if (!(days > 0 && cadenceMin > 0 && period > 0 && radiusEarth >= 0 && noisePpm >= 0 && rstar > 0 && mstar > 0)) {
  throw new Error('days, cadence_min, period, rstar, mstar must be > 0; radius, noise_ppm must be >= 0');
}
const outPath = task.outputs?.lightcurve ?? process.env.ORRERY_OUTPUT_LIGHTCURVE;
if (!outPath) throw new Error('no output named "lightcurve" in the task');

const rand = mulberry32(seed * 2654435761 + 12345);
const gauss = gaussian(rand);

// Orbit (circular): a/Rs from Kepler's third law, durations from the transit geometry.
const k = (radiusEarth * R_EARTH_IN_R_SUN) / rstar;            // Rp/Rs
const depth = k * k;
const aAu = Math.cbrt(mstar * (period / 365.25) ** 2);
const aRs = aAu / (R_SUN_IN_AU * rstar);
if (impact >= 1 + k) throw new Error(`impact ${impact} >= 1 + Rp/Rs: the planet does not transit`);
const sinI = Math.sqrt(1 - (impact / aRs) ** 2);
const t14 = (period / Math.PI) * Math.asin(Math.min(1, Math.sqrt((1 + k) ** 2 - impact ** 2) / (aRs * sinI)));
const t23 = impact < 1 - k
  ? (period / Math.PI) * Math.asin(Math.min(1, Math.sqrt((1 - k) ** 2 - impact ** 2) / (aRs * sinI)))
  : 0;
const t0 = p.t0 !== undefined ? num(p, 't0') : period * (0.1 + 0.8 * rand());

const dt = cadenceMin / 1440;
const n = Math.floor(days / dt);
const phi = Math.exp(-cadenceMin / redTauMin);                 // AR(1) coefficient per cadence
const innov = redPpm * 1e-6 * Math.sqrt(1 - phi * phi);        // keeps the AR(1) rms at red_ppm
let red = redPpm * 1e-6 * gauss();
const lines = new Array(n + 1);
lines[0] = 'time,flux';
let inTransit = 0;
const transitsSeen = new Set();
for (let i = 0; i < n; i++) {
  const t = i * dt;
  // distance to the nearest mid-transit
  const epoch = Math.round((t - t0) / period);
  const x = Math.abs(t - t0 - epoch * period);
  let dip = 0;
  if (x < t14 / 2) {
    dip = x <= t23 / 2 ? depth : depth * (t14 / 2 - x) / ((t14 - t23) / 2);
    inTransit++;
    transitsSeen.add(epoch);
  }
  red = phi * red + innov * gauss();
  const flux = 1 - dip + noisePpm * 1e-6 * gauss() + red;
  lines[i + 1] = `${t.toFixed(6)},${flux.toFixed(8)}`;
}
writeFileSync(outPath, lines.join('\n') + '\n');

const result = {
  n_points: n,
  depth_ppm: depth * 1e6,
  rp_rs: k,
  a_rs: aRs,
  duration_hours: t14 * 24,
  t0,
  n_transits: transitsSeen.size,
  n_in_transit: inTransit,
};
writeResult(result);
console.log(`synthesized ${n} points over ${days} d: Rp = ${radiusEarth} R_earth (depth ${result.depth_ppm.toFixed(1)} ppm), ` +
  `P = ${period} d, T14 = ${result.duration_hours.toFixed(2)} h, ${result.n_transits} transits, noise ${noisePpm} ppm -> ${outPath}`);
