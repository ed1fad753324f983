/** Command-line values with units, checked at the edge: errors name the flag and what is expected. */
import { InvalidInputError } from '../core/errors.js';
import { parseDuration, parseMemory } from '../spec/units.js';

export function durationFlag(value: string, flag: string): number {
  const parsed = parseDuration(value);
  if (typeof parsed === 'string') throw new InvalidInputError('', flag, parsed);
  return parsed;
}

export function memoryFlag(value: string, flag = '--memory'): number {
  const parsed = parseMemory(value);
  if (typeof parsed === 'string') throw new InvalidInputError('', flag, parsed);
  return parsed;
}

export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidInputError('', flag, `expected a whole number of at least 1, got ${JSON.stringify(value)}`);
  return n;
}
