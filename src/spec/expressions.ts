import { Parser, type Expression } from 'expr-eval-fork';
import type { JsonValue } from '../core/types.js';
import type { FieldPath } from './field-path.js';
import { FieldError } from './problems.js';
import { didYouMean, listForMessage } from './suggest.js';

/**
 * `${...}` expressions (expr-eval-fork: arithmetic on JS floats, comparisons, `and`/`or`,
 * `x ? a : b`, math functions; no assignment, no function definitions, no random).
 * Parsed once per distinct text: a 30,000-task job reuses the same few expressions.
 */

/** Values visible to an expression: loop variables, `<var>_index`, and `constants`. */
export type Scope = Readonly<Record<string, unknown>>;

/** What an expression may name at one place in the document. */
export interface ExpressionContext {
  /** Loop variables of the enclosing loops and their `_index` companions. */
  readonly names: ReadonlySet<string>;
  readonly constants: Readonly<Record<string, JsonValue>>;
  /** Conditions of if/while/explore may read earlier tasks' results as `tasks.NAME.result`. */
  readonly allowTasks?: boolean;
  /** Compile-time problems (syntax, unknown names) are reported here. */
  report(error: FieldError): void;
}

const parser = new Parser({ operators: { assignment: false, fndef: false, random: false } });
// Planning must be deterministic (cache keys hash params): the option above leaves random() callable.
delete (parser.functions as Record<string, unknown>).random;
const cache = new Map<string, Expression | Error>();

/** Names expressions may not use as loop variables: expr-eval's own words. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'constants',
  'tasks',
  'and',
  'or',
  'not',
  'in',
  ...Object.keys(parser.functions as object),
  ...Object.keys(parser.consts as object),
  ...Object.keys(parser.unaryOps as object),
]);

/** One `${...}` in a string, parsed and checked against the names in scope. */
export interface CompiledExpression {
  readonly source: string;
  readonly expression: Expression;
}

export function compileExpression(source: string, path: FieldPath, ctx: ExpressionContext): CompiledExpression | null {
  let parsed = cache.get(source);
  if (parsed === undefined) {
    try {
      parsed = parser.parse(source);
    } catch (error) {
      parsed = error as Error;
    }
    cache.set(source, parsed);
  }
  if (parsed instanceof Error) {
    ctx.report(new FieldError(path, `invalid expression "\${${source}}": ${parsed.message}; expected an expression such as "\${nsr * 2}"`));
    return null;
  }
  for (const variable of parsed.variables({ withMembers: true })) {
    const problem = unknownName(variable, ctx);
    if (problem) {
      ctx.report(new FieldError(path, `expression "\${${source}}": ${problem}`));
      return null;
    }
  }
  return { source, expression: parsed };
}

function unknownName(variable: string, ctx: ExpressionContext): string | null {
  const [root, member] = variable.split('.');
  const constantNames = Object.keys(ctx.constants).map((name) => `constants.${name}`);
  if (root === 'constants') {
    if (member === undefined || Object.hasOwn(ctx.constants, member)) return null;
    return `unknown constant "${root}.${member}"${didYouMean(`constants.${member}`, constantNames)}; declared constants: ${listForMessage(constantNames)} (declare it under constants: in the job or orrery.yaml)`;
  }
  if (ctx.names.has(root)) return null;
  if (root === 'tasks' && ctx.allowTasks) return null;
  const known = [...ctx.names, ...constantNames];
  const hint = ctx.names.size === 0 ? ' (loop variables exist only inside their for: loop)' : '';
  return `unknown variable "${root}"${didYouMean(root, known)}; expected one of: ${listForMessage(known)}${hint}`;
}

/** Names of the tasks an expression reads results of: `tasks.search.result.snr` → search. */
export function taskRefs(compiled: CompiledExpression): string[] {
  const names = new Set<string>();
  for (const variable of compiled.expression.variables({ withMembers: true })) {
    const [root, name] = variable.split('.');
    if (root === 'tasks' && name) names.add(name);
  }
  return [...names];
}

/** Evaluates a compiled expression; a result that is not a usable JSON value is a FieldError. */
export function evaluate(compiled: CompiledExpression, scope: Scope, path: FieldPath): JsonValue {
  let value: unknown;
  try {
    value = compiled.expression.evaluate(scope as never);
  } catch (error) {
    throw new FieldError(path, `cannot evaluate "\${${compiled.source}}": ${(error as Error).message}`);
  }
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new FieldError(path, `"\${${compiled.source}}" gives ${value}; expected a finite number (check for a division by zero or arithmetic on a string)`);
  }
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value;
  if (typeof value === 'object') return value as JsonValue;
  throw new FieldError(path, `"\${${compiled.source}}" gives ${value === undefined ? 'no value' : typeof value}; expected a number, string, boolean or list (check member names)`);
}

/** A string split into literal text and `${...}` expressions; `$${` writes a literal `${`. */
export type TemplatePart = string | { readonly expression: string };

export function splitTemplate(text: string, path: FieldPath): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('${', i);
    if (open < 0) break;
    if (open > 0 && text[open - 1] === '$') {
      literal += text.slice(i, open - 1) + '${';
      i = open + 2;
      continue;
    }
    literal += text.slice(i, open);
    const close = findClose(text, open + 2);
    if (close < 0) throw new FieldError(path, `unclosed "\${" in ${JSON.stringify(text)}; expected "\${expression}"`);
    const expression = text.slice(open + 2, close).trim();
    if (!expression) throw new FieldError(path, `empty "\${}" in ${JSON.stringify(text)}; expected "\${expression}"`);
    if (literal) parts.push(literal);
    literal = '';
    parts.push({ expression });
    i = close + 1;
  }
  literal += text.slice(i);
  if (literal) parts.push(literal);
  return parts;
}

/** Index of the `}` closing an expression, skipping quoted strings inside it. */
function findClose(text: string, from: number): number {
  let quote = '';
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '}') return i;
  }
  return -1;
}

/** How a value is written when interpolated into a string. */
export function toText(value: JsonValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value);
}
