/**
 * An attempt's log: every line as text (never HTML), stderr and Orrery's own lines marked,
 * tracebacks (Python, Node.js, Java-style) highlighted. Follows a running attempt live.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, type LogLine, type Logs, query } from '../api.js';
import { ErrorBox } from '../components.js';

/** Indexes of the lines that belong to a traceback. */
export function tracebackLines(lines: string[]): Set<number> {
  const marked = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    if (/^Traceback \(most recent call last\):/.test(lines[i])) {
      // Python: the indented frames, then the exception line
      let j = i;
      marked.add(j++);
      while (j < lines.length && /^(\s|$)/.test(lines[j])) marked.add(j++);
      if (j < lines.length) marked.add(j);
      i = j;
      continue;
    }
    if (/^\s+at\s.+/.test(lines[i])) {
      // Node.js / Java: frames "    at f (file:line:col)", after the error message
      marked.add(i);
      let k = i - 1;
      while (k >= 0 && !marked.has(k) && !/^\s+at\s/.test(lines[k]) && i - k <= 6) {
        marked.add(k);
        if (/(Error|Exception|Throwable)\b/.test(lines[k])) break;
        k--;
      }
    }
  }
  return marked;
}

export function LogText({ lines, streams }: { lines: string[]; streams?: Array<LogLine['stream']> }) {
  const traceback = tracebackLines(lines);
  return (
    <pre class="log" data-testid="log">
      {lines.map((line, i) => (
        <span key={i} class={`line ${streams?.[i] ?? ''} ${traceback.has(i) ? 'traceback' : ''}`}>
          {line}
          {'\n'}
        </span>
      ))}
    </pre>
  );
}

const TAIL = 5000;

/** `version` changes when the task's attempts do (a new one starts, one ends): the log is read again. */
export function LogView({ taskId, attempt, version }: { taskId: number; attempt: number | null; version: string }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [meta, setMeta] = useState<Logs | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [following, setFollowing] = useState(false);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let source: EventSource | null = null;
    let stopped = false;
    setLines([]);
    get<Logs>(`/api/tasks/${taskId}/logs${query({ attempt, tail: TAIL })}`)
      .then((logs) => {
        if (stopped) return;
        setMeta(logs);
        setLines(logs.lines);
        setError(null);
        if (logs.done || !logs.attempt) return;
        const after = logs.lines.length ? logs.lines[logs.lines.length - 1].seq : -1;
        source = new EventSource(`/api/tasks/${taskId}/logs${query({ attempt: logs.attempt.number, after, follow: 1 })}`);
        setFollowing(true);
        source.addEventListener('lines', (e) => {
          const more = JSON.parse((e as MessageEvent<string>).data) as LogLine[];
          setLines((old) => [...old, ...more].slice(-TAIL * 2));
        });
        source.addEventListener('end', () => {
          source?.close();
          setFollowing(false);
        });
      })
      .catch((e: Error) => setError(e));
    return () => {
      stopped = true;
      source?.close();
      setFollowing(false);
    };
  }, [taskId, attempt, version]);

  useEffect(() => {
    if (following && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, following]);

  return (
    <div>
      <ErrorBox error={error} />
      {meta?.cachedFrom && (
        <p class="muted">
          This task reused the result of task <a href={`#/tasks/${meta.cachedFrom.id}`}>{meta.cachedFrom.name}</a>; its log:
        </p>
      )}
      {meta && !meta.attempt && <p class="muted">No attempt yet: the task has not started.</p>}
      {following && <p class="notice">following the running attempt…</p>}
      {lines.length === TAIL && <p class="muted">the last {TAIL.toLocaleString()} lines; the full log: <code>orrery logs {taskId}</code></p>}
      <div class="log-box" ref={box}>
        <LogText lines={lines.map((l) => (l.stream === 'orrery' ? `[orrery] ${l.line}` : l.line))} streams={lines.map((l) => l.stream)} />
      </div>
    </div>
  );
}
