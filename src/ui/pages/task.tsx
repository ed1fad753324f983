/**
 * A task: what it ran with (params, inputs), what it made (outputs with their QC verdict and
 * a download link, results), every attempt, the log with the traceback highlighted, and its
 * neighbours. Retry and cancel for the admin.
 */
import { useState } from 'preact/hooks';
import { type Json, type JsonObject, post, type ProductRef, type TaskDetail, type TaskLink } from '../api.js';
import { ErrorBox, Loading, Section, StateBadge, useFetch } from '../components.js';
import { bytes, duration, plural, short, time } from '../format.js';
import { useInfo } from '../info.js';
import { useLiveTick } from '../live.js';
import { href } from '../router.js';
import { LogText, LogView } from '../widgets/log-view.js';

export function TaskPage({ taskId }: { taskId: string }) {
  const [jobId, setJobId] = useState<number | null>(null);
  const tick = useLiveTick((e) => e.kind === 'open' || e.kind === 'attempts' || (e.kind === 'job' && e.job.id === jobId));
  const { data: task, error } = useFetch<TaskDetail>(`/api/tasks/${encodeURIComponent(taskId)}`, [tick]);
  const [attempt, setAttempt] = useState<number | null>(null);
  if (task && task.jobId !== jobId) setJobId(task.jobId);
  document.title = task ? `${task.name} · ${task.job.name} · Orrery` : 'Task · Orrery';
  if (error && !task) return <main><ErrorBox error={error} /></main>;
  if (!task) return <main><Loading what="the task" /></main>;
  const shown = attempt ?? (task.attempts.length ? task.attempts[task.attempts.length - 1].number : null);
  const latest = task.attempts[task.attempts.length - 1];
  const version = latest ? `${latest.id}:${latest.state}` : 'none';
  return (
    <main>
      <TaskHeader task={task} />
      {task.error && (
        <Section title="Error" id="error">
          <div class="log-box error">
            <LogText lines={task.error.split('\n')} />
          </div>
        </Section>
      )}
      <div class="columns">
        <Section title="Params">
          <KeyValues object={task.params} empty="no params" />
          {Object.keys(task.loop).length > 0 && (
            <p class="muted">
              loop:{' '}
              {Object.entries(task.loop)
                .map(([k, v]) => `${k}=${short(v)}`)
                .join(', ')}
            </p>
          )}
        </Section>
        <Section title="Results">
          <KeyValues object={task.result} empty={task.state === 'succeeded' || task.state === 'cached' ? 'no results written' : 'none yet'} />
        </Section>
      </div>
      <Section title="Files" id="files">
        <Products title="inputs" products={task.inputs} />
        <Products title="outputs" products={task.outputs} />
      </Section>
      <Section title={`Attempts (${task.attempts.length})`} id="attempts">
        {task.attempts.length === 0 ? (
          <p class="muted">{task.state === 'cached' ? 'none: the result came from the cache' : 'none yet'}</p>
        ) : (
          <table class="attempts">
            <thead>
              <tr>
                <th>#</th>
                <th>State</th>
                <th>Worker</th>
                <th>Host</th>
                <th>Started</th>
                <th>Wall</th>
                <th>CPU</th>
                <th>Peak memory</th>
                <th>Exit</th>
                <th class="wide">Error</th>
              </tr>
            </thead>
            <tbody>
              {task.attempts.map((a) => (
                <tr key={a.id} class={a.number === shown ? 'selected' : ''} onClick={() => setAttempt(a.number)}>
                  <td>{a.number}</td>
                  <td>
                    <StateBadge state={a.state} />
                  </td>
                  <td>{a.worker}</td>
                  <td>{a.host}</td>
                  <td>{time(a.startedAt)}</td>
                  <td>{duration(a.wallMs ?? (a.finishedAt ? a.finishedAt - a.startedAt : Date.now() - a.startedAt))}</td>
                  <td>{duration(a.cpuMs)}</td>
                  <td>{bytes(a.peakRss)}</td>
                  <td>{a.signal ?? a.exitCode ?? ''}</td>
                  <td class="wide error-cell">{a.error?.split('\n').filter(Boolean).slice(-1)[0] ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title={shown ? `Log of attempt ${shown}` : 'Log'} id="log">
        <LogView taskId={task.id} attempt={attempt} version={version} />
      </Section>
      <div class="columns">
        <Section title={`Upstream (${task.upstreamTotal})`}>
          <Links tasks={task.upstream} total={task.upstreamTotal} />
        </Section>
        <Section title={`Downstream (${task.downstreamTotal})`}>
          <Links tasks={task.downstream} total={task.downstreamTotal} />
        </Section>
      </div>
    </main>
  );
}

function TaskHeader({ task }: { task: TaskDetail }) {
  const { access } = useInfo();
  const [message, setMessage] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const act = async (what: 'retry' | 'cancel') => {
    try {
      const r = await post<{ requeued?: number; cancelled?: number; hint?: string | null }>(`/api/tasks/${task.id}/${what}`);
      setMessage(
        what === 'retry'
          ? `${plural(r.requeued ?? 0, 'task')} (this one and its downstream) queued again. ${r.hint ?? ''}`
          : `${plural(r.cancelled ?? 0, 'task')} cancelled.`,
      );
      setFailure(null);
    } catch (e) {
      setFailure(e as Error);
    }
  };
  const noAdmin = access !== 'admin' ? 'needs the admin token' : undefined;
  const retryable = ['failed', 'upstream_failed', 'cancelled'].includes(task.state);
  const cancellable = ['waiting', 'queued', 'running'].includes(task.state);
  return (
    <section class="card">
      <header>
        <h1>
          {task.name} <StateBadge state={task.state} />
        </h1>
        <div class="actions">
          <button disabled={!!noAdmin || !retryable} title={noAdmin ?? 'queue this task and its downstream again'} onClick={() => act('retry')}>
            Retry
          </button>
          <button class="danger" disabled={!!noAdmin || !cancellable} title={noAdmin ?? 'cancel this task and its downstream'} onClick={() => act('cancel')}>
            Cancel
          </button>
        </div>
      </header>
      <p>
        task {task.id} of job <a href={href(['jobs', task.job.id])}>{task.job.name} ({task.job.id})</a> · type {task.type} · attempts{' '}
        {task.attempts.filter((a) => a.state !== 'lost').length}/{task.maxAttempts} · defined at <code>{task.source}</code>
      </p>
      <p class="muted">
        created {time(task.createdAt)}
        {task.startedAt ? ` · started ${time(task.startedAt)}` : ''}
        {task.finishedAt ? ` · finished ${time(task.finishedAt)}` : ''}
        {task.cachedFrom ? ' · result reused from the cache' : ''}
      </p>
      {message && <p class="notice">{message}</p>}
      <ErrorBox error={failure} />
    </section>
  );
}

function KeyValues({ object, empty }: { object: JsonObject | null; empty: string }) {
  const entries = Object.entries(object ?? {});
  if (entries.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table class="kv">
      <tbody>
        {entries.map(([key, value]) => (
          <tr key={key}>
            <th>{key}</th>
            <td>
              <Value value={value} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Value({ value }: { value: Json }) {
  if (value !== null && typeof value === 'object') return <code class="json">{JSON.stringify(value, null, 1)}</code>;
  return <span>{short(value)}</span>;
}

function Products({ title, products }: { title: string; products: ProductRef[] }) {
  if (products.length === 0) return <p class="muted">no {title}</p>;
  return (
    <table class="products">
      <thead>
        <tr>
          <th>{title}</th>
          <th>Path</th>
          <th>Size</th>
          <th>QC</th>
          <th>Made by</th>
          <th>sha256</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {products.map((p) => (
          <tr key={p.name} data-product={p.path}>
            <td>{p.name}</td>
            <td>
              <code>{p.path}</code>
            </td>
            <td>{bytes(p.size)}</td>
            <td>{p.qcPassed === null ? (p.sha256 ? '–' : '') : p.qcPassed ? <span class="state-text-succeeded">passed</span> : <span class="state-text-failed">failed</span>}</td>
            <td>{p.producerTaskId ? <a href={href(['tasks', p.producerTaskId])}>{p.producer}</a> : p.sha256 ? 'external input' : ''}</td>
            <td class="muted">{p.sha256?.slice(0, 12) ?? 'not made yet'}</td>
            <td>
              {p.download && (
                <a class="button" href={p.download} download>
                  Download
                </a>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Links({ tasks, total }: { tasks: TaskLink[]; total: number }) {
  if (total === 0) return <p class="muted">none</p>;
  return (
    <ul class="links">
      {tasks.map((t) => (
        <li key={t.id}>
          <a href={href(['tasks', t.id])}>{t.name}</a> <StateBadge state={t.state} />
        </li>
      ))}
      {total > tasks.length && <li class="muted">and {(total - tasks.length).toLocaleString()} more</li>}
    </ul>
  );
}
