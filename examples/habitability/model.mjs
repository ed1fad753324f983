#!/usr/bin/env node
// model.mjs — surface temperature of an Earth-like planet as a function of its CO2 and CH4.
//
// Orrery task protocol: reads params from the task description named by $ORRERY_TASK, writes the
// equilibrium climate (JSON, with the latitude profile) to outputs.climate, and its results (a
// JSON object) to $ORRERY_RESULT. The model is also exported as a function, climate(params).
//
// Model: a one-dimensional (latitude) diffusive energy-balance model (Budyko 1969, Sellers 1969,
// North et al. 1981, Rev. Geophys. 19, 91), 45 equal-area bands per hemisphere, x = sin(latitude):
//
//   C dT/dt = Q s(x) (1 - albedo(T, x)) - OLR(T) + d/dx[ D (1 - x^2) dT/dx ]
//
//   Sunlight   Q = S/4 (S = 1361 W/m2 x solar), s(x) = 1 - 0.482 P2(x) (annual mean; North 1975).
//   Albedo     ice-free 0.29 + 0.10 P2(x) (clouds and low Sun at high latitude); ice 0.62. The
//              surface switches smoothly between the two over 263-273 K (tanh centred on 268 K):
//              the ice-albedo feedback. Haze: when CH4/CO2 > 0.1 an organic haze forms (as in the
//              Archean; Haqq-Misra et al. 2008, Arney et al. 2016) and reflects up to 10% more
//              sunlight above the surface (anti-greenhouse; param haze: false turns it off).
//   OLR        gray atmosphere: OLR = sigma T^4 / (1 + 3/4 tau) (radiative equilibrium,
//              Eddington approximation). The infrared optical depth is
//                tau = P/P0 (tau_other + 0.0486 ln(1 + pCO2/1 ubar) + 0.0104 sqrt(pCH4/1 ubar)
//                             + tau_h2o(T))
//              - CO2: logarithmic, 0.0486 per e-fold = 5.35 W/m2 ln(C/C0) at Earth (Myhre et al.
//                1998), linear below ~1 ubar where the band is not saturated;
//              - CH4: square root, 0.036 W/m2 per sqrt(ppb) at Earth (Myhre et al. 1998);
//              - water vapour at fixed relative humidity, following Clausius-Clapeyron:
//                tau_h2o = 0.457 (e_sat(T)/e_sat(288 K))^0.4: the water-vapour feedback. It grows
//                so fast with T that OLR has a maximum: beyond it there is no warm equilibrium
//                (the runaway greenhouse);
//              - P/P0: pressure broadening, P = background (n2_bar) + pCO2 + pCH4.
//   Transport  D = 0.7 W/m2/K: heat carried poleward down the temperature gradient.
//
// Tuned so that present Earth (280 ubar CO2, 0.7 ubar CH4 in 1 bar) has a global mean surface
// temperature of 288 K, a planetary albedo of 0.29, equator 301 K, poles 262 K and a climate
// sensitivity of 3.7 K per CO2 doubling. Solved by implicit pseudo-time stepping (diffusion and
// OLR linearised implicitly, albedo explicit) from a warm present-day-like profile until no band
// changes by more than 1e-6 K per step. Where a warm and a snowball state both exist it therefore
// finds the warm one: a snowball is reported where no warm state exists.
//
// Regimes
//   snowball   the equator is frozen (below 273.15 K): the planet is ice-covered.
//   runaway    a runaway greenhouse (no equilibrium: the equator passes 400 K and the oceans would
//              boil off) or a moist greenhouse (global mean above 340 K: water reaches the upper
//              atmosphere and is lost to space; Kasting 1988, Icarus 74, 472).
//   temperate  otherwise: liquid water at the surface and a stable climate. habitable = temperate.
//
// Params (defaults in brackets). Partial pressures in ubar (= ppmv of a 1-bar atmosphere):
//   log_co2 | co2_ppm   log10 of pCO2 / pCO2 itself (one of them is required)
//   log_ch4 | ch4_ppm   log10 of pCH4 / pCH4 itself (one of them is required)
//   n2_bar [1]          background pressure (N2 + O2), bar
//   solar [1]           insolation relative to the present Sun
//   haze [true]         organic haze when CH4/CO2 > 0.1
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const SIGMA = 5.670374419e-8;      // W m^-2 K^-4
const S_EARTH = 1361;              // W m^-2, present solar constant
const BANDS = 45;                  // equal-area bands per hemisphere
const S2 = -0.482;                 // annual-mean insolation: s(x) = 1 + S2 P2(x)
const ALBEDO_OPEN = 0.29;          // ice-free planetary albedo at P2 = 0 (with clouds)
const ALBEDO_OPEN_P2 = 0.10;       // ... and its increase toward the poles
const ALBEDO_ICE = 0.62;
const T_ICE = 268;                 // K, centre of the ice-albedo switch
const T_ICE_WIDTH = 2.5;           // K: ice-covered below ~263 K, ice-free above ~273 K
const TAU_OTHER = 0.08;            // O3, N2O, clouds' infrared opacity
const K_CO2 = 0.0486;              // per e-fold of pCO2
const K_CH4 = 0.0104;              // per sqrt(ubar) of pCH4
const TAU_H2O_288 = 0.457;         // water vapour opacity at 288 K
const GAMMA_H2O = 0.4;             // tau_h2o ~ e_sat^GAMMA (absorption by strong lines: sublinear)
const L_OVER_RV = 5417;            // K, latent heat of vaporisation / gas constant of water vapour
const DIFFUSION = 0.7;             // W m^-2 K^-1
const HAZE_ALBEDO_MAX = 0.10;
const HAZE_ONSET = 0.1;            // CH4/CO2 where haze starts to form
const HAZE_SCALE = 0.5;
const T_FREEZE = 273.15;
const T_MOIST = 340;               // K, global mean: moist greenhouse
const T_RUNAWAY = 400;             // K, at the equator: no equilibrium below this, the oceans boil off
const RELAX = 10;                  // W m^-2 K^-1, pseudo heat capacity / time step
const TOLERANCE = 1e-6;            // K per step
const MAX_STEPS = 20000;

export class ModelError extends Error {}

function number(params, name) {
  const v = params[name];
  const x = typeof v === 'number' ? v : Number(v);
  if (v === undefined || v === null || v === '' || typeof v === 'boolean' || !Number.isFinite(x)) {
    throw new ModelError(`param ${name} must be a number, got ${JSON.stringify(v)}`);
  }
  return x;
}
/** pCO2 or pCH4 in ubar from log_<gas> or <gas>_ppm. */
function pressureOf(params, gas) {
  if (params[`log_${gas}`] !== undefined) return 10 ** number(params, `log_${gas}`);
  if (params[`${gas}_ppm`] !== undefined) {
    const p = number(params, `${gas}_ppm`);
    if (p < 0) throw new ModelError(`param ${gas}_ppm must be >= 0, got ${p}`);
    return p;
  }
  throw new ModelError(`param log_${gas} (log10 of the ${gas.toUpperCase()} partial pressure in ubar) or ${gas}_ppm is required`);
}

/**
 * The equilibrium climate for params (see the header). Returns the global results and the
 * latitude profile. Pure: no files, no environment.
 */
export function climate(params = {}) {
  const pco2 = pressureOf(params, 'co2');
  const pch4 = pressureOf(params, 'ch4');
  const n2 = params.n2_bar === undefined ? 1 : number(params, 'n2_bar');
  const solar = params.solar === undefined ? 1 : number(params, 'solar');
  const haze = params.haze === undefined ? true : params.haze !== false && params.haze !== 'false';
  if (!(n2 >= 0 && solar > 0)) throw new ModelError('n2_bar must be >= 0 and solar > 0');

  const pressure = n2 + (pco2 + pch4) * 1e-6;             // bar
  const broadening = pressure;                              // tau ~ P / 1 bar
  const tauDry = broadening * (TAU_OTHER + K_CO2 * Math.log1p(pco2) + K_CH4 * Math.sqrt(pch4));
  const tauH2o = (t) => broadening * TAU_H2O_288 * Math.exp(GAMMA_H2O * L_OVER_RV * (1 / 288 - 1 / t));
  const olr = (t) => SIGMA * t ** 4 / (1 + 0.75 * (tauDry + tauH2o(t)));
  const ratio = pco2 > 0 ? pch4 / pco2 : Infinity;
  const hazeAlbedo = haze ? HAZE_ALBEDO_MAX * (1 - Math.exp(-Math.max(0, ratio - HAZE_ONSET) / HAZE_SCALE)) : 0;
  const iceCover = (t) => 0.5 * (1 - Math.tanh((t - T_ICE) / T_ICE_WIDTH));

  const q = (S_EARTH * solar) / 4;
  const n = BANDS;
  const dx = 1 / n;
  const x = new Float64Array(n);
  const sun = new Float64Array(n);                          // W/m2 at the top of the atmosphere
  const open = new Float64Array(n);                         // ice-free surface albedo
  for (let i = 0; i < n; i++) {
    x[i] = (i + 0.5) * dx;
    const p2 = (3 * x[i] * x[i] - 1) / 2;
    sun[i] = q * (1 + S2 * p2);
    open[i] = ALBEDO_OPEN + ALBEDO_OPEN_P2 * p2;
  }
  const albedo = (t, i) => {
    const surface = open[i] + (ALBEDO_ICE - open[i]) * iceCover(t);
    return 1 - (1 - hazeAlbedo) * (1 - surface);
  };
  // Diffusion coefficients between bands i-1 and i (no flux at the equator by symmetry, nor at
  // the pole where 1 - x^2 = 0).
  const k = new Float64Array(n + 1);
  for (let i = 1; i < n; i++) k[i] = (DIFFUSION * (1 - (i * dx) ** 2)) / (dx * dx);

  const T = new Float64Array(n);
  for (let i = 0; i < n; i++) T[i] = 300 - 45 * x[i] * x[i];   // present-day-like start
  const lower = new Float64Array(n);
  const diag = new Float64Array(n);
  const upper = new Float64Array(n);
  const rhs = new Float64Array(n);
  let steps = 0;
  let equilibrium = false;
  let boiling = false;
  while (steps < MAX_STEPS) {
    steps++;
    // (RELAX + B) T' - diffusion(T') = RELAX T + absorbed(T) - OLR(T) + B T, B = dOLR/dT >= 0
    for (let i = 0; i < n; i++) {
      const t = T[i];
      const o = olr(t);
      const b = Math.max(0, (olr(t + 0.01) - o) / 0.01);
      lower[i] = -k[i];
      upper[i] = -k[i + 1];
      diag[i] = RELAX + b + k[i] + k[i + 1];
      rhs[i] = RELAX * t + sun[i] * (1 - albedo(t, i)) - o + b * t;
    }
    for (let i = 1; i < n; i++) {                           // tridiagonal solve (Thomas)
      const m = lower[i] / diag[i - 1];
      diag[i] -= m * upper[i - 1];
      rhs[i] -= m * rhs[i - 1];
    }
    let change = 0;
    let next = rhs[n - 1] / diag[n - 1];
    change = Math.abs(next - T[n - 1]);
    T[n - 1] = next;
    for (let i = n - 2; i >= 0; i--) {
      next = (rhs[i] - upper[i] * T[i + 1]) / diag[i];
      change = Math.max(change, Math.abs(next - T[i]));
      T[i] = next;
    }
    if (!Number.isFinite(change)) throw new ModelError('the solver diverged');
    if (T[0] > T_RUNAWAY) { boiling = true; break; }
    if (change < TOLERANCE) { equilibrium = true; break; }
  }
  if (!equilibrium && !boiling) throw new ModelError(`no equilibrium after ${MAX_STEPS} steps`);

  let tMean = 0, absorbed = 0, emitted = 0, ice = 0, tau = 0;
  const profile = [];
  for (let i = 0; i < n; i++) {
    const a = albedo(T[i], i);
    tMean += T[i] / n;
    absorbed += (sun[i] * (1 - a)) / n;
    emitted += olr(T[i]) / n;
    ice += iceCover(T[i]) / n;
    tau += (tauDry + tauH2o(T[i])) / n;
    profile.push({ lat_deg: round((Math.asin(x[i]) * 180) / Math.PI, 2), temperature_k: round(T[i], 3), albedo: round(a, 4), ice: round(iceCover(T[i]), 4) });
  }
  // The ice edge: the latitude where the ice cover passes 1/2 (0 = snowball, 90 = no ice).
  let iceLine = 90;
  for (let i = 0; i < n; i++) {
    if (iceCover(T[i]) < 0.5) continue;
    if (i === 0) { iceLine = 0; break; }
    const a = iceCover(T[i - 1]);
    const f = (0.5 - a) / (iceCover(T[i]) - a);
    iceLine = round(profile[i - 1].lat_deg + f * (profile[i].lat_deg - profile[i - 1].lat_deg), 2);
    break;
  }

  const equator = T[0];
  const moist = equilibrium && tMean > T_MOIST;
  const regime = boiling || moist ? 'runaway' : equator < T_FREEZE ? 'snowball' : 'temperate';
  return {
    result: {
      ...params,
      pco2_ubar: round(pco2, 6),
      pch4_ubar: round(pch4, 6),
      temperature_k: round(tMean, 3),
      temperature_equator_k: round(equator, 3),
      temperature_pole_k: round(T[n - 1], 3),
      albedo: round(1 - absorbed / q, 4),
      haze_albedo: round(hazeAlbedo, 4),
      ice_fraction: round(ice, 4),
      ice_line_deg: iceLine,
      tau_ir: round(tau, 4),
      olr_w_m2: round(emitted, 3),
      equilibrium,
      moist_greenhouse: moist,
      runaway_greenhouse: boiling,
      regime,
      habitable: regime === 'temperate',
      steps,
    },
    profile,
  };
}

function round(v, digits) {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

// ---- task protocol -----------------------------------------------------------------------------
function main() {
  if (!process.env.ORRERY_TASK) throw new Error('ORRERY_TASK is not set: run me through Orrery, or set it to a task JSON file');
  const task = JSON.parse(readFileSync(process.env.ORRERY_TASK, 'utf8'));
  const outPath = task.outputs?.climate ?? process.env.ORRERY_OUTPUT_CLIMATE;
  const started = performance.now();
  const { result, profile } = climate(task.params ?? {});
  const ms = performance.now() - started;
  if (outPath) {
    writeFileSync(outPath, JSON.stringify({
      model: '1-D diffusive energy-balance model, gray atmosphere with water-vapour and ice-albedo feedbacks (examples/habitability/model.mjs)',
      result,
      profile,
    }, null, 1) + '\n');
  }
  if (process.env.ORRERY_RESULT) writeFileSync(process.env.ORRERY_RESULT, JSON.stringify(result) + '\n');
  const r = result;
  console.log(`pCO2 ${fmtP(r.pco2_ubar)} ubar, pCH4 ${fmtP(r.pch4_ubar)} ubar: T = ${r.temperature_k.toFixed(1)} K ` +
    `(equator ${r.temperature_equator_k.toFixed(1)} K, pole ${r.temperature_pole_k.toFixed(1)} K), albedo ${r.albedo.toFixed(3)}, ` +
    `ice ${(100 * r.ice_fraction).toFixed(0)}% -> ${r.regime}${r.runaway_greenhouse ? ' (no equilibrium)' : r.moist_greenhouse ? ' (moist greenhouse)' : ''}` +
    ` [${r.steps} steps, ${ms.toFixed(0)} ms]`);
}
function fmtP(p) {
  return p >= 100 ? p.toFixed(0) : p.toPrecision(3);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    main();
  } catch (e) {
    console.error(`model.mjs: error: ${e.message}`);
    process.exit(1);
  }
}
