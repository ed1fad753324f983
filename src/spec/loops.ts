import type { JsonValue } from '../core/types.js';
import type { LoopTemplate } from './entries.js';
import type { Scope } from './expressions.js';
import { describeValue } from './field-path.js';
import { FieldError } from './problems.js';

/** Number of iterations of a loop in a scope, without computing its values. */
export function loopSize(loop: LoopTemplate, scope: Scope): number {
  const range = loop.range;
  if (range.kind === 'values') return range.items.length;
  const path = [...loop.path, range.kind, 2];
  const n = range.n.evaluate(scope);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new FieldError(path, `expected n, the number of values, to be a positive whole number, got ${describeValue(n)}`);
  }
  return n;
}

/** The values a loop variable takes in a scope (ranges rounded to 12 significant digits). */
export function loopValues(loop: LoopTemplate, scope: Scope): JsonValue[] {
  const range = loop.range;
  if (range.kind === 'values') return range.items.map((item) => item.evaluate(scope));
  const n = loopSize(loop, scope);
  const start = number(range.start.evaluate(scope), [...loop.path, range.kind, 0], 'start');
  const end = number(range.end.evaluate(scope), [...loop.path, range.kind, 1], 'end');
  if (range.kind === 'linear_range') return spaced(n, start, end, (t) => start + (end - start) * t);
  for (const [value, i, what] of [[start, 0, 'start'], [end, 1, 'end']] as const) {
    if (value <= 0) {
      throw new FieldError([...loop.path, range.kind, i], `log_range needs ${what} > 0, got ${value}; use linear_range for ranges through zero`);
    }
  }
  const ratio = end / start;
  return spaced(n, start, end, (t) => start * ratio ** t);
}

function number(value: JsonValue, path: Array<string | number>, what: string): number {
  if (typeof value === 'number') return value;
  throw new FieldError(path, `expected ${what} to be a number, got ${describeValue(value)}`);
}

/** n values from start to end inclusive (numpy.linspace / geomspace: n = 1 gives [start]). */
function spaced(n: number, start: number, end: number, at: (t: number) => number): number[] {
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    values[i] = i === 0 ? start : i === n - 1 ? end : round12(at(i / (n - 1)));
  }
  return values;
}

/** 12 significant digits, so 14.6 * 5 ** (1 / 9) prints without float noise. */
export function round12(value: number): number {
  return value === 0 ? 0 : Number(value.toPrecision(12));
}
