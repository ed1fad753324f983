/** Workers as the task database knows them: what each runs now, and its recent attempts. */
import type { Worker } from '../api.js';
import { ErrorBox, Loading, Section, useFetch } from '../components.js';
import { ago, duration } from '../format.js';
import { useLiveTick } from '../live.js';
import { href } from '../router.js';

export function WorkersPage() {
  const tick = useLiveTick((e) => e.kind === 'attempts' || e.kind === 'job' || e.kind === 'open', 2000);
  const { data, error } = useFetch<Worker[]>('/api/workers', [tick]);
  document.title = 'Workers · Orrery';
  const now = Date.now();
  return (
    <main>
      <Section title="Workers" actions={<span class="muted">from the tasks they run and the latest 10,000 attempts</span>}>
        <ErrorBox error={error} />
        {!data && !error && <Loading what="the workers" />}
        {data && data.length === 0 && <p class="muted">No worker has run a task yet.</p>}
        {data && data.length > 0 && (
          <table class="workers">
            <thead>
              <tr>
                <th>Worker</th>
                <th>Host</th>
                <th class="wide">Running now</th>
                <th>Attempts</th>
                <th>Failed</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {data.map((w) => (
                <tr key={`${w.worker}@${w.host}`} data-worker={w.worker}>
                  <td>
                    <span class={`dot ${w.running.length > 0 ? 'busy' : 'idle'}`} /> {w.worker}
                  </td>
                  <td>{w.host}</td>
                  <td class="wide">
                    {w.running.length === 0 ? (
                      <span class="muted">idle</span>
                    ) : (
                      w.running.map((r) => (
                        <span key={r.taskId} class="running-task">
                          <a href={href(['tasks', r.taskId])}>{r.taskName}</a> <span class="muted">({duration(now - r.startedAt)}, job {r.jobId})</span>
                        </span>
                      ))
                    )}
                  </td>
                  <td class="num">{w.attempts.toLocaleString()}</td>
                  <td class="num">{w.failed.toLocaleString()}</td>
                  <td>{w.running.length > 0 ? 'now' : ago(w.lastSeen, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </main>
  );
}
