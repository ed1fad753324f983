/**
 * Live updates: one EventSource on /api/events for the whole dashboard. Pages either take
 * the pushed job counts as they are, or refetch what they show when a tick says something
 * relevant changed (at most once a second, so a busy job does not flood the server).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Counts } from './api.js';

export interface JobEvent {
  id: number;
  state: string;
  finishedAt: number | null;
  counts: Counts;
  total: number;
}

export type LiveEvent = { kind: 'job'; job: JobEvent } | { kind: 'attempts'; maxAttemptId: number } | { kind: 'open' };

const listeners = new Set<(event: LiveEvent) => void>();
const statusListeners = new Set<(connected: boolean) => void>();
let source: EventSource | null = null;
let connected = false;

function setConnected(value: boolean): void {
  connected = value;
  for (const l of statusListeners) l(value);
}

export function connectLive(): void {
  if (source) return;
  source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    setConnected(true);
    for (const l of listeners) l({ kind: 'open' });
  });
  source.addEventListener('error', () => setConnected(false));
  source.addEventListener('job', (e) => {
    const job = JSON.parse((e as MessageEvent<string>).data) as JobEvent;
    for (const l of listeners) l({ kind: 'job', job });
  });
  source.addEventListener('attempts', (e) => {
    const { maxAttemptId } = JSON.parse((e as MessageEvent<string>).data) as { maxAttemptId: number };
    for (const l of listeners) l({ kind: 'attempts', maxAttemptId });
  });
}

export function onLive(listener: (event: LiveEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useLiveConnected(): boolean {
  const [value, setValue] = useState(connected);
  useEffect(() => {
    statusListeners.add(setValue);
    return () => statusListeners.delete(setValue);
  }, []);
  return value;
}

/** A number that grows (at most once per `ms`) after each event `relevant` accepts. */
export function useLiveTick(relevant: (event: LiveEvent) => boolean, ms = 1000): number {
  const [tick, setTick] = useState(0);
  const test = useRef(relevant);
  test.current = relevant;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last = 0;
    const off = onLive((event) => {
      if (!test.current(event) || timer) return;
      const wait = Math.max(0, last + ms - Date.now());
      timer = setTimeout(() => {
        timer = null;
        last = Date.now();
        setTick((t) => t + 1);
      }, wait);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [ms]);
  return tick;
}
