/** One result column against a parameter (or loop value), a series per state: a Chart.js scatter plot. */
import { Chart, Legend, LinearScale, LogarithmicScale, PointElement, ScatterController, Tooltip, type TooltipItem } from 'chart.js';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Results } from '../api.js';
import { stateColor } from '../colors.js';
import { useStoredChoice } from '../components.js';

Chart.register(ScatterController, PointElement, LinearScale, LogarithmicScale, Tooltip, Legend);

interface Point {
  x: number;
  y: number;
  name: string;
}

function numeric(results: Results, key: string): boolean {
  return results.rows.some((r) => typeof pick(r, key) === 'number' || typeof pick(r, key) === 'boolean');
}

function pick(row: Results['rows'][number], key: string): unknown {
  const [where, ...rest] = key.split('.');
  const name = rest.join('.');
  return where === 'loop' ? row.loop[name] : where === 'params' ? row.params[name] : row.result[name];
}

/** A column worth plotting first: it takes more than one value. */
function varies(results: Results, key: string): boolean {
  return new Set(results.rows.map((r) => JSON.stringify(pick(r, key) ?? null))).size > 1;
}

function asNumber(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return null;
}

export function ResultsPlot({ results }: { results: Results }) {
  const xs = useMemo(
    () => [...results.columns.loop.map((k) => `loop.${k}`), ...results.columns.params.map((k) => `params.${k}`)].filter((k) => numeric(results, k)),
    [results],
  );
  const ys = useMemo(() => results.columns.results.map((k) => `result.${k}`).filter((k) => numeric(results, k)), [results]);
  const [x, setX] = useStoredChoice(`plot-x-${results.type}`, xs, xs.find((k) => varies(results, k)) ?? xs[0]);
  const [y, setY] = useStoredChoice(`plot-y-${results.type}`, ys, ys.find((k) => varies(results, k)) ?? ys[0]);
  const [logX, setLogX] = useState(false);
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'scatter', Point[]> | null>(null);

  useEffect(() => {
    chart.current?.destroy();
    chart.current = null;
    if (!canvas.current || !x || !y) return;
    const byState = new Map<string, Point[]>();
    for (const row of results.rows) {
      const px = asNumber(pick(row, x));
      const py = asNumber(pick(row, y));
      if (px === null || py === null || (logX && px <= 0)) continue;
      byState.set(row.state, [...(byState.get(row.state) ?? []), { x: px, y: py, name: row.name }]);
    }
    chart.current = new Chart<'scatter', Point[]>(canvas.current, {
      type: 'scatter',
      data: {
        datasets: [...byState.entries()].map(([state, points]) => ({ label: state, data: points, backgroundColor: stateColor(state), pointRadius: 4 })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { x: { type: logX ? 'logarithmic' : 'linear', title: { display: true, text: x } }, y: { title: { display: true, text: y } } },
        plugins: {
          tooltip: { callbacks: { label: (item: TooltipItem<'scatter'>) => `${(item.raw as Point).name}: ${x}=${(item.raw as Point).x}, ${y}=${(item.raw as Point).y}` } },
        },
      },
    });
  }, [results, x, y, logX]);

  useEffect(() => () => chart.current?.destroy(), []);

  if (xs.length === 0 || ys.length === 0) return <p class="muted">Nothing to plot: this type has no numeric {xs.length === 0 ? 'parameter' : 'result'} yet.</p>;
  return (
    <div>
      <div class="filters">
        <label>
          y{' '}
          <select aria-label="plot y" value={y} onChange={(e) => setY((e.target as HTMLSelectElement).value)}>
            {ys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          against x{' '}
          <select aria-label="plot x" value={x} onChange={(e) => setX((e.target as HTMLSelectElement).value)}>
            {xs.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={logX} onChange={(e) => setLogX((e.target as HTMLInputElement).checked)} /> log x
        </label>
      </div>
      <div class="plot">
        <canvas ref={canvas} aria-label={`${y} against ${x}`} role="img" />
      </div>
    </div>
  );
}
