/** A job's tasks, a page at a time, filtered by state, type, name, loop values or group. */
import { useEffect, useState } from 'preact/hooks';
import { query, STATES, type TaskPage } from '../api.js';
import { ErrorBox, Loading, Pager, Section, StateBadge, useFetch } from '../components.js';
import { duration, short } from '../format.js';
import { href, navigate } from '../router.js';

const LIMIT = 50;

/** "noise_index=2, radius=1" -> { "loop.noise_index": "2", "loop.radius": "1" } */
function loopParams(text: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const [key, ...value] = part.split('=');
    if (key?.trim() && value.length > 0) out[`loop.${key.trim()}`] = value.join('=').trim();
  }
  return out;
}

export function TaskTable({ jobId, params, tick, types }: { jobId: number; params: URLSearchParams; tick: number; types: string[] }) {
  const filters = {
    state: params.get('state'),
    type: params.get('type'),
    name: params.get('name'),
    source: params.get('source'),
    loop: params.get('loop'),
  };
  const offset = Number(params.get('offset') ?? 0) || 0;
  const url = `/api/jobs/${jobId}/tasks${query({ state: filters.state, type: filters.type, name: filters.name, source: filters.source, ...loopParams(filters.loop), limit: LIMIT, offset })}`;
  const { data, error } = useFetch<TaskPage>(url, [tick]);
  const [name, setName] = useState(filters.name ?? '');
  const [loop, setLoop] = useState(filters.loop ?? '');
  useEffect(() => setName(filters.name ?? ''), [filters.name]);
  useEffect(() => setLoop(filters.loop ?? ''), [filters.loop]);

  const go = (change: Record<string, string | number | null>, replace = false) => {
    const next = href(['jobs', jobId], { ...filters, offset: null, ...change });
    if (replace) {
      history.replaceState(null, '', next);
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } else navigate(next);
  };
  // typing filters: wait for a pause
  useEffect(() => {
    if (name === (filters.name ?? '') && loop === (filters.loop ?? '')) return;
    const timer = setTimeout(() => go({ name: name || null, loop: loop || null }, true), 300);
    return () => clearTimeout(timer);
  }, [name, loop]);

  return (
    <Section title="Tasks" id="tasks" actions={data && <Pager total={data.total} limit={LIMIT} offset={offset} onPage={(o) => go({ offset: o || null })} />}>
      <div class="filters">
        <select aria-label="state" value={filters.state ?? ''} onChange={(e) => go({ state: (e.target as HTMLSelectElement).value || null })}>
          <option value="">every state</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s.replace('_', ' ')}
            </option>
          ))}
        </select>
        <select aria-label="type" value={filters.type ?? ''} onChange={(e) => go({ type: (e.target as HTMLSelectElement).value || null })}>
          <option value="">every type</option>
          {types.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <input type="search" aria-label="name" placeholder="name contains…" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <input type="search" aria-label="loop values" placeholder="loop values, e.g. noise_index=2" value={loop} onInput={(e) => setLoop((e.target as HTMLInputElement).value)} />
        {filters.source && (
          <button class="chip" title="tasks from one place of the job document" onClick={() => go({ source: null })}>
            group {filters.source} ✕
          </button>
        )}
      </div>
      <ErrorBox error={error} />
      {!data && !error && <Loading what="the tasks" />}
      {data && (
        <table class="tasks">
          <thead>
            <tr>
              <th>Task</th>
              <th>Type</th>
              <th>State</th>
              <th>Loop</th>
              <th>Attempts</th>
              <th>Took</th>
              <th class="wide">Error</th>
            </tr>
          </thead>
          <tbody>
            {data.tasks.map((t) => (
              <tr key={t.id} data-task={t.name}>
                <td>
                  <a href={href(['tasks', t.id])}>{t.name}</a>
                </td>
                <td>{t.type}</td>
                <td>
                  <StateBadge state={t.state} />
                </td>
                <td class="loop">
                  {Object.entries(t.loop)
                    .filter(([k]) => !k.endsWith('_index'))
                    .map(([k, v]) => `${k}=${short(v)}`)
                    .join(' ')}
                </td>
                <td class="num">
                  {t.attempts}/{t.maxAttempts}
                </td>
                <td>{t.startedAt && t.finishedAt ? duration(t.finishedAt - t.startedAt) : ''}</td>
                <td class="wide error-cell">{t.error}</td>
              </tr>
            ))}
            {data.tasks.length === 0 && (
              <tr>
                <td colSpan={7} class="muted">
                  No task matches.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </Section>
  );
}
