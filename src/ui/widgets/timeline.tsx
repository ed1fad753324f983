/**
 * A Gantt chart of the job's latest attempts, one row per worker slot: the attempts of a
 * worker are packed into as few rows as overlap allows, so parallel tasks sit on parallel
 * rows. Floating horizontal bars of Chart.js; click a bar for its task.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip, type TooltipItem } from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';
import type { TimelineAttempt } from '../api.js';
import { stateColor } from '../colors.js';
import { ErrorBox, Section, useFetch } from '../components.js';
import { duration } from '../format.js';
import { useLiveTick } from '../live.js';
import { href, navigate } from '../router.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

const LIMIT = 2000;

interface Bar {
  x: [number, number];
  y: string;
  attempt: TimelineAttempt;
}

/** Rows "worker", or "worker #2" when its attempts overlap. */
export function lanes(attempts: TimelineAttempt[], now: number): Bar[] {
  const byWorker = new Map<string, TimelineAttempt[]>();
  for (const a of attempts) {
    const key = a.host && !a.worker.includes(a.host) ? `${a.worker} (${a.host})` : a.worker;
    byWorker.set(key, [...(byWorker.get(key) ?? []), a]);
  }
  const start = Math.min(...attempts.map((a) => a.startedAt));
  const bars: Bar[] = [];
  for (const [worker, list] of [...byWorker.entries()].sort()) {
    const ends: number[] = [];
    const sorted = [...list].sort((a, b) => a.startedAt - b.startedAt);
    const assigned = sorted.map((a) => {
      const end = a.finishedAt ?? now;
      let lane = ends.findIndex((e) => e <= a.startedAt);
      if (lane === -1) lane = ends.push(end) - 1;
      else ends[lane] = end;
      return { a, lane, end };
    });
    for (const { a, lane, end } of assigned) {
      bars.push({ x: [(a.startedAt - start) / 1000, (Math.max(end, a.startedAt + 50) - start) / 1000], y: ends.length > 1 ? `${worker} #${lane + 1}` : worker, attempt: a });
    }
  }
  return bars;
}

export function Timeline({ jobId, running }: { jobId: number; running: boolean }) {
  const tick = useLiveTick((e) => e.kind === 'attempts' || (e.kind === 'job' && e.job.id === jobId), running ? 2000 : 5000);
  const { data, error } = useFetch<{ now: number; attempts: TimelineAttempt[] }>(`/api/jobs/${jobId}/timeline?limit=${LIMIT}`, [tick]);
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar', Bar[]> | null>(null);
  const rows = useRef(1);

  useEffect(() => {
    if (!canvas.current || !data) return;
    const bars = lanes(data.attempts, data.now);
    const states = [...new Set(bars.map((b) => b.attempt.state))].sort();
    const datasets = states.map((state) => ({
      label: state,
      data: bars.filter((b) => b.attempt.state === state),
      backgroundColor: stateColor(state),
      borderSkipped: false,
      grouped: false,
      barPercentage: 0.8,
      categoryPercentage: 1,
    }));
    const labels = [...new Set(bars.map((b) => b.y))].sort();
    rows.current = labels.length;
    if (canvas.current.parentElement) canvas.current.parentElement.style.height = `${Math.max(120, labels.length * 26 + 70)}px`;
    if (chart.current) {
      chart.current.data.labels = labels;
      chart.current.data.datasets = datasets;
      chart.current.update('none');
      return;
    }
    chart.current = new Chart<'bar', Bar[]>(canvas.current, {
      type: 'bar',
      data: { labels, datasets },
      options: {
        indexAxis: 'y',
        animation: false,
        maintainAspectRatio: false,
        parsing: { xAxisKey: 'x', yAxisKey: 'y' },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'seconds since the first attempt shown' }, min: 0 },
          y: { type: 'category', stacked: true, ticks: { autoSkip: false } },
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: {
            callbacks: {
              label: (item: TooltipItem<'bar'>) => {
                const bar = item.raw as Bar;
                const a = bar.attempt;
                return `${a.taskName} (attempt ${a.number}): ${a.state}, ${duration((a.finishedAt ?? data.now) - a.startedAt)}`;
              },
            },
          },
        },
        onClick: (_event, elements) => {
          const hit = elements[0];
          if (!hit || !chart.current) return;
          const bar = chart.current.data.datasets[hit.datasetIndex].data[hit.index] as Bar;
          navigate(href(['tasks', bar.attempt.taskId]));
        },
      },
    });
  }, [data]);

  useEffect(() => () => chart.current?.destroy(), []);

  const count = data?.attempts.length ?? 0;
  return (
    <Section title="Timeline" id="timeline" actions={<span class="muted">{count >= LIMIT ? `the latest ${LIMIT.toLocaleString()} attempts` : `${count} attempt${count === 1 ? '' : 's'}`} by worker</span>}>
      <ErrorBox error={error} />
      {data && data.attempts.length === 0 && <p class="muted">No attempt has started yet.</p>}
      <div class="timeline" style={{ display: data && data.attempts.length > 0 ? 'block' : 'none' }}>
        <canvas ref={canvas} aria-label="timeline of attempts by worker" role="img" />
      </div>
    </Section>
  );
}
