/** Small pieces every page uses: data fetching, state badges, progress bars, errors. */
import type { ComponentChildren, ComponentType } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { type Counts, get, STATES, type TaskState } from './api.js';
import { plural } from './format.js';

/** Fetches `url` again whenever it or one of `deps` changes; keeps the last data while it does. */
export function useFetch<T>(url: string | null, deps: unknown[] = []): { data: T | undefined; error: Error | null; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const [nonce, setNonce] = useState(0);
  const latest = useRef(0);
  const shownUrl = useRef<string | null>(null);
  useEffect(() => {
    if (url === null) return;
    if (shownUrl.current !== url) setData(undefined);
    const mine = ++latest.current;
    get<T>(url)
      .then((value) => {
        if (mine !== latest.current) return;
        shownUrl.current = url;
        setData(value);
        setError(null);
      })
      .catch((e: Error) => mine === latest.current && setError(e));
  }, [url, nonce, ...deps]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, reload };
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge state-${state}`}>{state.replace('_', ' ')}</span>;
}

/** One bar, a segment per state, widths proportional to the counts. */
export function ProgressBar({ counts, total }: { counts: Counts; total: number }) {
  return (
    <div class="progress" title={STATES.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`).join(', ')}>
      {total > 0 &&
        STATES.filter((s) => counts[s] > 0).map((s) => <span key={s} class={`seg state-${s}`} style={{ width: `${(100 * counts[s]) / total}%` }} />)}
    </div>
  );
}

export function CountsLine({ counts }: { counts: Counts }) {
  const shown = STATES.filter((s) => counts[s] > 0);
  if (shown.length === 0) return <span class="muted">no tasks</span>;
  return (
    <span class="counts">
      {shown.map((s) => (
        <span key={s} class={`count state-text-${s}`} data-state={s}>
          {counts[s].toLocaleString()} {s.replace('_', ' ')}
        </span>
      ))}
    </span>
  );
}

export function done(counts: Counts): number {
  return counts.succeeded + counts.cached + counts.failed + counts.upstream_failed + counts.cancelled;
}

export function Percent({ counts, total }: { counts: Counts; total: number }) {
  return <span class="percent">{total === 0 ? '–' : `${Math.floor((100 * done(counts)) / total)}%`}</span>;
}

export function ErrorBox({ error }: { error: Error | string | null | undefined }) {
  if (!error) return null;
  return <div class="error-box" role="alert">{typeof error === 'string' ? error : error.message}</div>;
}

export function Section({ title, children, actions, id }: { title: string; children: ComponentChildren; actions?: ComponentChildren; id?: string }) {
  return (
    <section class="card" id={id}>
      <header>
        <h2>{title}</h2>
        {actions && <div class="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="loading">Loading {what}…</p>;
}

export function Pager({ total, limit, offset, onPage }: { total: number; limit: number; offset: number; onPage: (offset: number) => void }) {
  if (total <= limit) return <span class="muted">{plural(total, 'task')}</span>;
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.ceil(total / limit);
  return (
    <span class="pager">
      <button disabled={offset === 0} onClick={() => onPage(0)}>«</button>
      <button disabled={offset === 0} onClick={() => onPage(Math.max(0, offset - limit))}>‹</button>
      <span>
        {(offset + 1).toLocaleString()}–{Math.min(total, offset + limit).toLocaleString()} of {total.toLocaleString()} (page {page} of {pages.toLocaleString()})
      </span>
      <button disabled={page >= pages} onClick={() => onPage(offset + limit)}>›</button>
      <button disabled={page >= pages} onClick={() => onPage((pages - 1) * limit)}>»</button>
    </span>
  );
}

export const isState = (s: string | null): s is TaskState => s !== null && (STATES as string[]).includes(s);

/** A component whose code (and libraries) load the first time it is shown. */
export function lazyComponent<P extends object>(what: string, load: () => Promise<ComponentType<P>>) {
  let loaded: ComponentType<P> | null = null;
  let loading: Promise<ComponentType<P>> | null = null;
  return function Lazy(props: P) {
    const [Component, setComponent] = useState<ComponentType<P> | null>(() => loaded);
    const [error, setError] = useState<Error | null>(null);
    useEffect(() => {
      if (Component) return;
      loading ??= load();
      loading.then((c) => {
        loaded = c;
        setComponent(() => c);
      }, setError);
    }, []);
    if (error) return <ErrorBox error={`could not load ${what}: ${error.message}`} />;
    return Component ? <Component {...props} /> : <Loading what={what} />;
  };
}

/** A choice (a select's value) kept for the session, falling back when it is no longer offered. */
export function useStoredChoice(key: string, options: string[], fallback: string | undefined): [string | undefined, (v: string) => void] {
  const [value, setValue] = useState<string | undefined>(() => sessionStorage.getItem(key) ?? undefined);
  useEffect(() => {
    if (value === undefined || !options.includes(value)) setValue(fallback);
  }, [options.join('|'), fallback]);
  return [
    value !== undefined && options.includes(value) ? value : fallback,
    (v: string) => {
      sessionStorage.setItem(key, v);
      setValue(v);
    },
  ];
}
