#!/usr/bin/env node
// map.mjs — the habitability map: every explored point of the climate exploration on one grid.
//
// Orrery task protocol: the job runs this task after the whole exploration (after: [climate]), so
// results_of in the task description holds every explored point's model result (model.mjs). It
// prints the grid as a text map (a character per point: # habitable, * snowball, ^ runaway,
// . not explored) with a table of temperatures, writes that text to outputs.table and an SVG plot
// to outputs.map.
//
// Params (defaults in brackets): x [log_co2], y [log_ch4]: the result fields on the columns and
//   the rows. The grid step of each axis is the smallest gap between the explored values; points
//   of the grid between the explored ones are shown as not explored.
import { readFileSync, writeFileSync } from 'node:fs';

process.on('uncaughtException', (e) => { console.error(`map.mjs: error: ${e.message}`); process.exit(1); });

const SYMBOL = { temperate: '#', snowball: '*', runaway: '^' };
const COLOUR = { '#': '#3a9a5b', '*': '#b9dcf2', '^': '#e0603f', '?': '#999999', '.': '#f3f3f3' };
const MEANING = { '#': 'habitable', '*': 'snowball', '^': 'runaway', '?': 'not habitable (regime unknown)', '.': 'not explored' };
const AXIS_TITLE = {
  log_co2: ['log10 pCO2 [ubar]', 'CO2 partial pressure [µbar = ppmv at 1 bar]'],
  log_ch4: ['log10 pCH4 [ubar]', 'CH4 partial pressure [µbar = ppmv at 1 bar]'],
};
const EARTH = { log_co2: Math.log10(280), log_ch4: Math.log10(0.7) };   // pre-industrial Earth

// ---- task ----------------------------------------------------------------------------------------
if (!process.env.ORRERY_TASK) throw new Error('ORRERY_TASK is not set: run me through Orrery, or set it to a task JSON file');
const task = JSON.parse(readFileSync(process.env.ORRERY_TASK, 'utf8'));
const params = task.params ?? {};
const xName = String(params.x ?? 'log_co2');
const yName = String(params.y ?? 'log_ch4');
const svgPath = task.outputs?.map ?? process.env.ORRERY_OUTPUT_MAP;
const tablePath = task.outputs?.table ?? process.env.ORRERY_OUTPUT_TABLE;
if (!svgPath) throw new Error('no output named "map" in the task');
if (!tablePath) throw new Error('no output named "table" in the task');

const resultsOf = task.results_of ?? {};
const points = Object.entries(resultsOf)
  .filter(([, r]) => r && typeof r === 'object' && typeof r.habitable === 'boolean')
  .map(([name, r]) => ({
    name,
    x: Number(r[xName]),
    y: Number(r[yName]),
    t: Number(r.temperature_k),
    symbol: r.habitable ? '#' : SYMBOL[r.regime] && r.regime !== 'temperate' ? SYMBOL[r.regime] : '?',
  }))
  .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
if (points.length === 0) {
  const names = Object.keys(resultsOf);
  throw new Error(names.length === 0
    ? 'results_of is empty: this task must run after the exploration (after: [climate]) to have model results to map'
    : `none of the results in results_of (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}) is a model result with habitable, ${xName} and ${yName}`);
}

// ---- grid ----------------------------------------------------------------------------------------
/** The axis through the explored values: a uniform grid if they lie on one, else the values. */
function axis(values) {
  const u = [...new Set(values.map((v) => Number(v.toPrecision(10))))].sort((a, b) => a - b);
  let step = Infinity;
  for (let i = 1; i < u.length; i++) step = Math.min(step, u[i] - u[i - 1]);
  if (u.length > 1 && u.every((v) => Math.abs((v - u[0]) / step - Math.round((v - u[0]) / step)) < 1e-6)) {
    const n = Math.round((u.at(-1) - u[0]) / step) + 1;
    if (n <= 1000) return { values: Array.from({ length: n }, (_, i) => u[0] + i * step), step };
  }
  return { values: u, step: u.length > 1 ? step : 1 };
}
const xs = axis(points.map((p) => p.x));
const ys = axis(points.map((p) => p.y));
const indexOf = (ax, v) => {
  let best = 0;
  for (let i = 1; i < ax.values.length; i++) if (Math.abs(ax.values[i] - v) < Math.abs(ax.values[best] - v)) best = i;
  return best;
};
const grid = ys.values.map(() => xs.values.map(() => null));       // grid[row][column], row 0 = lowest y
for (const p of points) grid[indexOf(ys, p.y)][indexOf(xs, p.x)] = p;

const count = (s) => points.filter((p) => p.symbol === s).length;
const counts = { '#': count('#'), '*': count('*'), '^': count('^'), '?': count('?') };
const habitable = points.filter((p) => p.symbol === '#' && Number.isFinite(p.t));
const fmt = (v) => (Math.abs(v) < 1e-9 ? 0 : v).toFixed(2);
const decimals = (v) => (Number.isInteger(Number(v.toFixed(2))) ? 0 : 2);

// ---- text ----------------------------------------------------------------------------------------
const [xTitle] = AXIS_TITLE[xName] ?? [xName];
const [yTitle] = AXIS_TITLE[yName] ?? [yName];
const yLabels = ys.values.map((v) => fmt(v));
const margin = Math.max(yTitle.length, ...yLabels.map((l) => l.length)) + 1;
const rowsTopDown = [...ys.values.keys()].reverse();

function chart(cell, width) {
  const lines = [`${yTitle.padStart(margin)} |`];
  for (const r of rowsTopDown) {
    lines.push(`${yLabels[r].padStart(margin)} | ${grid[r].map((p) => cell(p).padStart(width)).join(' ')}`);
  }
  // Column labels every few columns, each starting under a '+' on the axis at its column.
  const every = Math.max(1, Math.ceil(6 / (width + 1)));
  const rule = [...`${' '.repeat(margin)} +-${'-'.repeat(xs.values.length * (width + 1))}`];
  let ticks = '';
  for (let c = 0; c < xs.values.length; c += every) {
    const at = margin + 3 + c * (width + 1) + width - 1;             // last character of the cell
    rule[at] = '+';
    ticks = ticks.padEnd(at) + fmt(xs.values[c]) + ' ';
  }
  lines.push(rule.join(''));
  lines.push(ticks.trimEnd());
  lines.push(`${' '.repeat(margin + 3)}${xTitle}`);
  return lines;
}

const first = resultsOf[points[0].name];
const setting = [
  first.solar !== undefined ? `${first.solar} x present Sun` : 'present Sun',
  `${first.n2_bar ?? 1} bar N2+O2`,
].join(', ');
const text = [
  'Habitability of an Earth-like planet vs CO2 and CH4: where is the climate temperate?',
  `1-D energy-balance model with water-vapour and ice-albedo feedbacks (model.mjs), ${setting}.`,
  `Explored ${points.length} points: ` +
    `${counts['#']} habitable, ${counts['*']} snowball, ${counts['^']} runaway${counts['?'] ? `, ${counts['?']} other` : ''}.`,
  `# habitable (liquid water, no runaway)   * snowball (frozen equator)   ^ runaway or moist greenhouse   . not explored` +
    (counts['?'] ? '   ? not habitable (regime unknown)' : ''),
  '',
  ...chart((p) => (p ? p.symbol : '.'), 1),
  '',
  'Global mean surface temperature [K]',
  '',
  ...chart((p) => (p && Number.isFinite(p.t) ? String(Math.round(p.t)) : '.'), 3),
  '',
  habitable.length
    ? `Habitable points: ${Math.min(...habitable.map((p) => p.t)).toFixed(1)} K to ${Math.max(...habitable.map((p) => p.t)).toFixed(1)} K global mean.`
    : 'No habitable point was found.',
].join('\n') + '\n';

// ---- SVG -----------------------------------------------------------------------------------------
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const CELL = 26;
const left = 90;
const top = 64;
const plotW = xs.values.length * CELL;
const plotH = ys.values.length * CELL;
const legendW = 190;
const width = left + plotW + 30 + legendW;
const height = top + plotH + 70;
const px = (v) => left + ((v - xs.values[0]) / xs.step + 0.5) * CELL;  // centre of value v's cell
const py = (v) => top + plotH - ((v - ys.values[0]) / ys.step + 0.5) * CELL;
const uniform = (ax) => ax.values.length < 2 || ax.values.every((v, i) => Math.abs(v - (ax.values[0] + i * ax.step)) < 1e-6 * ax.step);
const svg = [];
svg.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
svg.push(`<rect width="${width}" height="${height}" fill="white"/>`);
svg.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">Habitability of an Earth-like planet vs CO2 and CH4</text>`);
svg.push(`<text x="${left}" y="44" fill="#444">1-D energy-balance model, ${esc(setting)}: ${points.length} points explored, ${counts['#']} habitable. Cells show the global mean surface temperature [K].</text>`);
for (let r = 0; r < ys.values.length; r++) {
  for (let c = 0; c < xs.values.length; c++) {
    const p = grid[r][c];
    const symbol = p ? p.symbol : '.';
    const x = left + c * CELL;
    const y = top + plotH - (r + 1) * CELL;
    const tip = p ? `${xName} ${fmt(p.x)}, ${yName} ${fmt(p.y)}: ${MEANING[symbol]}, ${Number.isFinite(p.t) ? p.t.toFixed(1) + ' K' : 'T unknown'} (${p.name})` : 'not explored';
    svg.push(`<rect x="${x}" y="${y}" width="${CELL}" height="${CELL}" fill="${COLOUR[symbol]}" stroke="white" stroke-width="1"><title>${esc(tip)}</title></rect>`);
    if (p && Number.isFinite(p.t)) {
      svg.push(`<text x="${x + CELL / 2}" y="${y + CELL / 2 + 3}" font-size="8" text-anchor="middle" fill="${symbol === '*' ? '#234' : 'white'}">${Math.round(p.t)}</text>`);
    }
  }
}
svg.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
const SUPERSCRIPT = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };
/** 0.01, 0.1, 1, 10, 100, 1000, then 10⁴, 10⁵ ... */
function powerOfTen(k) {
  if (k >= -2 && k <= 3) return String(Number((10 ** k).toPrecision(1)));
  return `10${[...String(k)].map((ch) => SUPERSCRIPT[ch]).join('')}`;
}
// Ticks: at powers of ten on a log10 axis on a uniform grid, else at every cell.
function ticks(ax, name) {
  if (name.startsWith('log_') && uniform(ax)) {
    const lo = ax.values[0] - ax.step / 2;
    const hi = ax.values.at(-1) + ax.step / 2;
    const out = [];
    for (let k = Math.ceil(lo); k <= Math.floor(hi); k++) out.push({ v: k, label: powerOfTen(k) });
    return { out, pos: true };
  }
  return { out: ax.values.map((v) => ({ v, label: v.toFixed(decimals(v)) })), pos: false };
}
const xt = ticks(xs, xName);
for (const { v, label } of xt.out) {
  const x = xt.pos ? px(v) : left + (xs.values.indexOf(v) + 0.5) * CELL;
  svg.push(`<line x1="${x}" y1="${top + plotH}" x2="${x}" y2="${top + plotH + 5}" stroke="#333"/>`);
  svg.push(`<text x="${x}" y="${top + plotH + 17}" text-anchor="middle">${esc(label)}</text>`);
}
const yt = ticks(ys, yName);
for (const { v, label } of yt.out) {
  const y = yt.pos ? py(v) : top + plotH - (ys.values.indexOf(v) + 0.5) * CELL;
  svg.push(`<line x1="${left - 5}" y1="${y}" x2="${left}" y2="${y}" stroke="#333"/>`);
  svg.push(`<text x="${left - 8}" y="${y + 4}" text-anchor="end">${esc(label)}</text>`);
}
const [, xLong] = AXIS_TITLE[xName] ?? [xName, xName];
const [, yLong] = AXIS_TITLE[yName] ?? [yName, yName];
svg.push(`<text x="${left + plotW / 2}" y="${top + plotH + 40}" text-anchor="middle" font-size="12">${esc(xLong)}</text>`);
svg.push(`<text transform="translate(${left - 58} ${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(yLong)}</text>`);
// Earth today, where it is on the map.
if (EARTH[xName] !== undefined && EARTH[yName] !== undefined && uniform(xs) && uniform(ys)) {
  const ex = px(EARTH[xName]);
  const ey = py(EARTH[yName]);
  if (ex >= left && ex <= left + plotW && ey >= top && ey <= top + plotH) {
    svg.push(`<circle cx="${ex}" cy="${ey}" r="${CELL / 2 - 2}" fill="none" stroke="black" stroke-width="2"><title>Earth, pre-industrial (280 ppm CO2, 0.7 ppm CH4)</title></circle>`);
  }
}
// Legend.
const lx = left + plotW + 30;
let ly = top;
for (const s of ['#', '*', '^', ...(counts['?'] ? ['?'] : []), '.']) {
  const n = s === '.' ? '' : ` (${counts[s]})`;
  svg.push(`<rect x="${lx}" y="${ly}" width="14" height="14" fill="${COLOUR[s]}" stroke="#999"/>`);
  svg.push(`<text x="${lx + 20}" y="${ly + 11}">${esc(MEANING[s] + n)}</text>`);
  ly += 22;
}
if (EARTH[xName] !== undefined && EARTH[yName] !== undefined) {
  svg.push(`<circle cx="${lx + 7}" cy="${ly + 7}" r="6" fill="none" stroke="black" stroke-width="2"/>`);
  svg.push(`<text x="${lx + 20}" y="${ly + 11}">Earth, pre-industrial</text>`);
}
svg.push('</svg>');

writeFileSync(tablePath, text);
writeFileSync(svgPath, svg.join('\n') + '\n');
process.stdout.write(text);
if (process.env.ORRERY_RESULT) {
  writeFileSync(process.env.ORRERY_RESULT, JSON.stringify({
    explored: points.length,
    habitable: counts['#'],
    snowball: counts['*'],
    runaway: counts['^'],
    columns: xs.values.length,
    rows: ys.values.length,
    ...(habitable.length ? {
      habitable_t_min_k: Math.min(...habitable.map((p) => p.t)),
      habitable_t_max_k: Math.max(...habitable.map((p) => p.t)),
    } : {}),
  }) + '\n');
}
