/**
 * A job: progress overall and per type, failures first, the graph aggregated by loop and
 * type, the timeline of attempts by worker, and its tasks with filters. Live throughout.
 */
import { useEffect, useState } from 'preact/hooks';
import { type JobDetail, post } from '../api.js';
import { CountsLine, ErrorBox, lazyComponent, Loading, Percent, ProgressBar, Section, StateBadge, useFetch } from '../components.js';
import { duration, plural, time } from '../format.js';
import { useInfo } from '../info.js';
import { onLive, useLiveTick } from '../live.js';
import { href, navigate } from '../router.js';
import { TaskTable } from './task-table.js';

const GraphView = lazyComponent('the graph', () => import('../widgets/graph.js').then((m) => m.GraphView));
const Timeline = lazyComponent('the timeline', () => import('../widgets/timeline.js').then((m) => m.Timeline));

export function JobPage({ jobRef, params }: { jobRef: string; params: URLSearchParams }) {
  const [jobId, setJobId] = useState<number | null>(/^\d+$/.test(jobRef) ? Number(jobRef) : null);
  const tick = useLiveTick((e) => e.kind === 'open' || (e.kind === 'job' && (jobId === null || e.job.id === jobId)));
  const { data, error } = useFetch<JobDetail>(`/api/jobs/${encodeURIComponent(jobRef)}`, [tick]);
  const [job, setJob] = useState<JobDetail | undefined>(undefined);
  useEffect(() => {
    setJob(data);
    if (data) setJobId(data.id);
  }, [data]);
  // counts arrive with the event itself: no need to wait for the refetch
  useEffect(() => onLive((e) => e.kind === 'job' && e.job.id === jobId && setJob((j) => (j ? { ...j, ...e.job } : j))), [jobId]);
  document.title = job ? `${job.name} (job ${job.id}) · Orrery` : 'Job · Orrery';

  if (error && !job) return <main><ErrorBox error={error} /></main>;
  if (!job) return <main><Loading what="the job" /></main>;
  return (
    <main>
      <JobHeader job={job} />
      <Section title="Progress by task type">
        <table class="types">
          <thead>
            <tr>
              <th>Type</th>
              <th class="wide">Progress</th>
              <th>Done</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {job.types.map((t) => (
              <tr key={t.type} data-type={t.type}>
                <td>
                  <a href={href(['jobs', job.id], { type: t.type })}>{t.type}</a>
                </td>
                <td class="wide">
                  <ProgressBar counts={t.counts} total={t.total} />
                  <CountsLine counts={t.counts} />
                </td>
                <td class="num">
                  <Percent counts={t.counts} total={t.total} /> of {t.total.toLocaleString()}
                </td>
                <td>
                  <a href={href(['jobs', job.id, 'results'], { type: t.type })}>results</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {job.failures.total > 0 && <Failures job={job} />}
      <GraphView jobId={job.id} />
      <Timeline jobId={job.id} running={job.state === 'running'} />
      <TaskTable jobId={job.id} params={params} tick={tick} types={job.types.map((t) => t.type)} />
    </main>
  );
}

function JobHeader({ job }: { job: JobDetail }) {
  const { access } = useInfo();
  const [message, setMessage] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const act = async (what: 'retry' | 'cancel') => {
    if (what === 'cancel' && !window.confirm(`Cancel every unfinished task of job ${job.id}?`)) return;
    try {
      const r = await post<{ requeued?: number; cancelled?: number; hint?: string | null }>(`/api/jobs/${job.id}/${what}`);
      setMessage(what === 'retry' ? `${plural(r.requeued ?? 0, 'task')} queued again. ${r.hint ?? ''}` : `${plural(r.cancelled ?? 0, 'task')} cancelled.`);
      setFailure(null);
    } catch (e) {
      setFailure(e as Error);
    }
  };
  const retryable = job.counts.failed + job.counts.upstream_failed + job.counts.cancelled;
  const cancellable = job.counts.waiting + job.counts.queued + job.counts.running;
  const noAdmin = access !== 'admin' ? 'needs the admin token' : undefined;
  return (
    <section class="card job-header">
      <header>
        <h1>
          {job.name} <span class="muted">job {job.id}</span> <StateBadge state={job.state} />
        </h1>
        <div class="actions">
          <a class="button" href={href(['jobs', job.id, 'results'], { type: job.types[0]?.type })}>
            Results
          </a>
          <button disabled={!!noAdmin || retryable === 0} title={noAdmin ?? 'queue failed, upstream-failed and cancelled tasks again'} onClick={() => act('retry')}>
            Retry failed
          </button>
          <button class="danger" disabled={!!noAdmin || cancellable === 0} title={noAdmin ?? 'cancel what has not finished'} onClick={() => act('cancel')}>
            Cancel
          </button>
        </div>
      </header>
      <ProgressBar counts={job.counts} total={job.total} />
      <p class="summary">
        <Percent counts={job.counts} total={job.total} /> of {plural(job.total, 'task')}: <CountsLine counts={job.counts} />
      </p>
      <p class="muted">
        started {time(job.createdAt)}
        {job.finishedAt ? `, finished ${time(job.finishedAt)} (${duration(job.finishedAt - job.createdAt)})` : ''} · workdir {job.workdir}
        {job.sourceFile ? ` · ${job.sourceFile}` : ''}
      </p>
      {message && <p class="notice">{message}</p>}
      <ErrorBox error={failure} />
    </section>
  );
}

function Failures({ job }: { job: JobDetail }) {
  return (
    <Section title={`Failures (${job.failures.total.toLocaleString()})`} id="failures" actions={job.failures.total > job.failures.tasks.length ? <a href={href(['jobs', job.id], { state: 'failed' })}>all failed tasks</a> : null}>
      <ul class="failures">
        {job.failures.tasks.map((t) => (
          <li key={t.id} data-task={t.name} onClick={() => navigate(href(['tasks', t.id]))}>
            <a href={href(['tasks', t.id])}>{t.name}</a> <span class="muted">{t.type}, {plural(t.attempts, 'attempt')}</span>
            <pre class="error-lines">{lastLines(t.errorText, 4)}</pre>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function lastLines(text: string | null, n: number): string {
  if (!text) return '';
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.length <= n + 1 ? lines.join('\n') : [lines[0], '…', ...lines.slice(-n)].join('\n');
}
