/**
 * Resource quantities as people write them in orrery.yaml (Kubernetes style). Each parser
 * returns the value in base units, or a string saying what is expected.
 */

const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const MEMORY_EXPECTED = 'a memory quantity with a unit, e.g. 512Mi, 4Gi, 2G or 1000M (Ki/Mi/Gi/Ti = powers of 1024, k/M/G/T = powers of 1000)';

/** Bytes of "512Mi", "4Gi", "2G", "1.5Gi". A bare number is refused: 4 what? */
export function parseMemory(value: unknown): number | string {
  if (value === 0 || value === '0') return 0;
  if (typeof value === 'number') return `expected ${MEMORY_EXPECTED}; a bare number is ambiguous, add a unit (e.g. ${value}Mi or ${value}Gi)`;
  if (typeof value !== 'string') return `expected ${MEMORY_EXPECTED}`;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  if (!match) return `expected ${MEMORY_EXPECTED}, got ${JSON.stringify(value)}`;
  const [, amount, unit] = match;
  if (unit === '') return `expected ${MEMORY_EXPECTED}; ${JSON.stringify(value)} has no unit, add one (e.g. ${amount}Mi or ${amount}Gi)`;
  const factor = MEMORY_UNITS[unit];
  if (factor === undefined) {
    const hint = /^[KkMGTPE]i?B$/.test(unit) ? ` (write ${amount}${unit.slice(0, -1)} without the B)` : '';
    return `expected ${MEMORY_EXPECTED}; unknown unit ${JSON.stringify(unit)}${hint}`;
  }
  return Math.ceil(Number(amount) * factor);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_EXPECTED = 'a duration such as 90s, 10m, 1h30m or 500ms (a bare number means seconds)';

/** Milliseconds of "90s", "10m", "1h30m", "500ms"; a bare number is seconds. */
export function parseDuration(value: unknown): number | string {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : `expected ${DURATION_EXPECTED}, got ${value}`;
  }
  if (typeof value !== 'string') return `expected ${DURATION_EXPECTED}`;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) return `expected ${DURATION_EXPECTED}, got ${JSON.stringify(value)}`;
  let total = 0;
  for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(amount) * DURATION_UNITS[unit];
  }
  return Math.round(total);
}

const CPU_EXPECTED = 'a positive number of cores, e.g. 1, 0.5 or "500m"';

/** Cores of 2, 0.5 or "500m" (Kubernetes millicores). */
export function parseCpu(value: unknown): number | string {
  let cores: number | undefined;
  if (typeof value === 'number') cores = value;
  else if (typeof value === 'string' && /^\s*\d+(\.\d+)?m\s*$/.test(value)) cores = Number.parseFloat(value) / 1000;
  else if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) cores = Number(value);
  if (cores === undefined || !Number.isFinite(cores) || cores <= 0) {
    return `expected ${CPU_EXPECTED}, got ${JSON.stringify(value)}`;
  }
  return cores;
}
