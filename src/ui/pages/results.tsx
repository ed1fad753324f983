/** The results of one task type of a job as a sortable table (CSV download) and a plot. */
import type { JobDetail, Results } from '../api.js';
import { ErrorBox, lazyComponent, Loading, Section, useFetch } from '../components.js';
import { useLiveTick } from '../live.js';
import { href, navigate } from '../router.js';

const ResultsTable = lazyComponent('the table', () => import('../widgets/results-table.js').then((m) => m.ResultsTable));
const ResultsPlot = lazyComponent('the plot', () => import('../widgets/results-plot.js').then((m) => m.ResultsPlot));

/** Rows loaded into the browser; the CSV always has all of them. */
const LIMIT = 10_000;

export function ResultsPage({ jobRef, params }: { jobRef: string; params: URLSearchParams }) {
  const { data: job, error: jobError } = useFetch<JobDetail>(`/api/jobs/${encodeURIComponent(jobRef)}`);
  const type = params.get('type') ?? job?.types[0]?.type ?? null;
  const tick = useLiveTick((e) => e.kind === 'job' && e.job.id === job?.id, 3000);
  const url = job && type ? `/api/jobs/${job.id}/results?type=${encodeURIComponent(type)}&limit=${LIMIT}` : null;
  const { data, error } = useFetch<Results>(url, [tick]);
  document.title = job ? `Results of ${type} · ${job.name} · Orrery` : 'Results · Orrery';
  if (jobError) return <main><ErrorBox error={jobError} /></main>;
  if (!job) return <main><Loading what="the job" /></main>;
  return (
    <main>
      <section class="card">
        <header>
          <h1>
            Results of <a href={href(['jobs', job.id])}>{job.name} (job {job.id})</a>
          </h1>
          <div class="actions">
            <select aria-label="task type" value={type ?? ''} onChange={(e) => navigate(href(['jobs', job.id, 'results'], { type: (e.target as HTMLSelectElement).value }))}>
              {job.types.map((t) => (
                <option key={t.type} value={t.type}>
                  {t.type} ({t.total.toLocaleString()})
                </option>
              ))}
            </select>
            {type && (
              <a class="button" href={`/api/jobs/${job.id}/results.csv?type=${encodeURIComponent(type)}`} download>
                Download CSV
              </a>
            )}
          </div>
        </header>
        {data && data.total > data.rows.length && (
          <p class="muted">
            The table and plot show the first {data.rows.length.toLocaleString()} of {data.total.toLocaleString()} tasks; the CSV has all of them.
          </p>
        )}
      </section>
      <ErrorBox error={error} />
      {!data && !error && <Loading what="the results" />}
      {data && (
        <>
          <Section title="Plot" id="plot">
            <ResultsPlot results={data} />
          </Section>
          <Section title={`Table (${data.rows.length.toLocaleString()} rows)`} id="table">
            <ResultsTable results={data} />
          </Section>
        </>
      )}
    </main>
  );
}
