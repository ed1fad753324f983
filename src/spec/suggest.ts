import { distance } from 'fastest-levenshtein';

/** The closest candidate to a misspelt word, or null when nothing is close enough to help. */
export function closestMatch(word: string, candidates: Iterable<string>): string | null {
  const limit = Math.max(1, Math.ceil(word.length / 3));
  const lower = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const d = candidate.toLowerCase() === lower ? 0 : distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : null;
}

/** " (did you mean "x"?)" or "" — ready to append to a message. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closestMatch(word, candidates);
  return match === null ? '' : ` (did you mean ${JSON.stringify(match)}?)`;
}

/** "a, b, c" — a short list for messages, truncated when long. */
export function listForMessage(items: readonly string[], max = 20): string {
  if (items.length === 0) return '(none)';
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown}, … (${items.length} in all)` : shown;
}
