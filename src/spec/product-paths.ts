/**
 * Product paths are relative to the job's workdir: "evs_3.lc", "tables/summary.csv".
 * Returns the normalised path ("./a//b" -> "a/b"), or a message saying what is expected.
 */
export function normalizeProductPath(raw: string, what = 'a product path'): string | { problem: string } {
  // The common case, already clean, skips the segment walk (30,000 tasks, a few paths each).
  if (raw.trim() !== '' && !DIRTY.test(raw)) return raw;
  const expected = `expected ${what} relative to the job's workdir, such as "results/evs_3.lc"`;
  if (raw.trim() === '') return { problem: `${expected}, got an empty path` };
  if (raw.includes('\\')) return { problem: `${expected}, with / between directories; got a backslash in ${JSON.stringify(raw)}` };
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || raw.startsWith('~')) {
    return { problem: `${expected}; ${JSON.stringify(raw)} is absolute (external files go under the job's inputs:)` };
  }
  const segments: string[] = [];
  for (const segment of raw.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) return { problem: `${expected}; ${JSON.stringify(raw)} escapes the workdir with ..` };
      segments.pop();
    } else segments.push(segment);
  }
  if (segments.length === 0) return { problem: `${expected}; ${JSON.stringify(raw)} names the workdir itself, not a file` };
  return segments.join('/');
}

/** Anything that may need normalising or refusing: leading / . ~, backslashes, //, /., trailing /. */
const DIRTY = /^[/.~]|\\|\/\/|\/\.|\/$|^[A-Za-z]:/;

/** The workdir: a relative directory path without `..` at all. */
export function normalizeWorkdir(raw: string): string | { problem: string } {
  const expected = 'expected a relative directory path without .. (products live under it), such as "earth_vs_snr"';
  if (raw.split(/[\\/]/).includes('..')) return { problem: `${expected}, got ${JSON.stringify(raw)}` };
  const normal = normalizeProductPath(raw, 'a directory path');
  return typeof normal === 'string' ? normal : { problem: `${expected}, got ${JSON.stringify(raw)}` };
}
