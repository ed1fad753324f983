/** The dashboard: pages by hash route, live updates from /api/events, access from /api/info. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, type Info } from './api.js';
import { ErrorBox, Loading } from './components.js';
import { InfoContext } from './info.js';
import { connectLive, useLiveConnected } from './live.js';
import { JobPage } from './pages/job.js';
import { JobsPage } from './pages/jobs.js';
import { ResultsPage } from './pages/results.js';
import { TaskPage } from './pages/task.js';
import { WorkersPage } from './pages/workers.js';
import { href, useRoute } from './router.js';

function SignIn() {
  const [token, setToken] = useState('');
  return (
    <main class="signin card">
      <h1>This dashboard needs a token</h1>
      <p>Open the address <code>orrery ui</code> printed (it ends with <code>?token=…</code>), or paste a token you were given:</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          window.location.href = `/?token=${encodeURIComponent(token)}`;
        }}
      >
        <input type="password" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} placeholder="token" aria-label="token" />
        <button type="submit">Open</button>
      </form>
    </main>
  );
}

function Page() {
  const route = useRoute();
  const [first, second, third] = route.path;
  if (first === 'jobs' && second && third === 'results') return <ResultsPage jobRef={second} params={route.params} />;
  if (first === 'jobs' && second) return <JobPage jobRef={second} params={route.params} />;
  if (first === 'tasks' && second) return <TaskPage taskId={second} />;
  if (first === 'workers') return <WorkersPage />;
  return <JobsPage />;
}

function App() {
  const [info, setInfo] = useState<Info | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const connected = useLiveConnected();
  useEffect(() => {
    get<Info>('/api/info')
      .then((i) => {
        setInfo(i);
        if (i.access !== 'none') connectLive();
      })
      .catch((e: Error) => setError(e));
  }, []);
  if (error) return <ErrorBox error={error instanceof ApiError ? error.message : `cannot reach the Orrery server: ${error.message}`} />;
  if (!info) return <Loading what="the dashboard" />;
  if (info.access === 'none') return <SignIn />;
  return (
    <InfoContext.Provider value={info}>
      <nav class="topbar">
        <a class="brand" href={href([])}>
          Orrery
        </a>
        <a href={href([])}>Jobs</a>
        <a href={href(['workers'])}>Workers</a>
        <span class="spacer" />
        <span class={`live ${connected ? 'on' : 'off'}`} title={connected ? 'live updates on' : 'reconnecting to the server…'}>
          {connected ? 'live' : 'offline'}
        </span>
        <span class="muted" title="what this browser may do">
          {info.access === 'admin' ? 'admin' : 'read-only'} · {info.mode} · v{info.version}
        </span>
      </nav>
      <Page />
    </InfoContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
