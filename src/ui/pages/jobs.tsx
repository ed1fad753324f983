/** The jobs, newest first, with their counts and progress bars updated live. */
import { useEffect, useState } from 'preact/hooks';
import type { JobSummary } from '../api.js';
import { CountsLine, ErrorBox, Loading, Percent, ProgressBar, Section, StateBadge, useFetch } from '../components.js';
import { ago, duration, time } from '../format.js';
import { onLive } from '../live.js';
import { href } from '../router.js';

export function JobsPage() {
  const { data, error, reload } = useFetch<JobSummary[]>('/api/jobs');
  const [jobs, setJobs] = useState<JobSummary[] | undefined>(undefined);
  useEffect(() => setJobs(data), [data]);
  useEffect(
    () =>
      onLive((event) => {
        if (event.kind === 'open') reload();
        if (event.kind !== 'job') return;
        setJobs((list) => {
          if (!list) return list;
          if (!list.some((j) => j.id === event.job.id)) {
            reload();
            return list;
          }
          return list.map((j) => (j.id === event.job.id ? { ...j, ...event.job } : j));
        });
      }),
    [reload],
  );
  document.title = 'Jobs · Orrery';
  return (
    <main>
      <Section title="Jobs">
        <ErrorBox error={error} />
        {!jobs && !error && <Loading what="the jobs" />}
        {jobs && jobs.length === 0 && (
          <p class="muted">
            No jobs yet. Run one with <code>orrery run job.yaml</code>; it appears here at once.
          </p>
        )}
        {jobs && jobs.length > 0 && (
          <table class="jobs">
            <thead>
              <tr>
                <th>Job</th>
                <th>State</th>
                <th class="wide">Progress</th>
                <th>Tasks</th>
                <th>Started</th>
                <th>Took</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id} data-job={job.id}>
                  <td>
                    <a href={href(['jobs', job.id])}>
                      {job.id} · {job.name}
                    </a>
                  </td>
                  <td>
                    <StateBadge state={job.state} />
                  </td>
                  <td class="wide">
                    <ProgressBar counts={job.counts} total={job.total} />
                    <CountsLine counts={job.counts} />
                  </td>
                  <td class="num">
                    <Percent counts={job.counts} total={job.total} /> of {job.total.toLocaleString()}
                  </td>
                  <td title={time(job.createdAt)}>{ago(job.createdAt)}</td>
                  <td>{job.finishedAt ? duration(job.finishedAt - job.createdAt) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </main>
  );
}
