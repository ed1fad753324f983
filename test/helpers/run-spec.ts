import os from 'node:os';
import type { RunSpec } from '../../src/worker/runner.js';

/** A Runner spec for a command in the temporary directory, collecting its output lines. */
export function runSpec(command: string, extra: Partial<RunSpec> = {}) {
  const lines: Array<[string, string]> = [];
  const s: RunSpec = {
    command,
    cwd: os.tmpdir(),
    env: {},
    timeoutMs: null,
    signal: new AbortController().signal,
    onLine: (stream, line) => lines.push([stream, line]),
    ...extra,
  };
  return { s, lines };
}
