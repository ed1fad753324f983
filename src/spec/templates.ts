import type { JsonValue } from '../core/types.js';
import {
  compileExpression,
  evaluate,
  splitTemplate,
  toText,
  type CompiledExpression,
  type ExpressionContext,
  type Scope,
} from './expressions.js';
import type { FieldPath } from './field-path.js';
import { FieldError } from './problems.js';

/**
 * Document values compiled once into functions of the loop scope. A template without `${`
 * costs nothing per task; objects and lists are rebuilt per task so planned tasks never
 * share mutable containers.
 */
export interface Compiled<T> {
  readonly evaluate: (scope: Scope) => T;
  /** True when the value holds no expression at all. */
  readonly isStatic: boolean;
  /** True when an expression names a loop variable (and not only constants). */
  readonly usesLoop: boolean;
}

/** A string where `${...}` interpolates; the result is always a string (names, paths, `after`). */
export function compileText(text: string, path: FieldPath, ctx: ExpressionContext): Compiled<string> | null {
  const value = compileValue(text, path, ctx);
  if (!value) return null;
  if (value.isStatic) return value as Compiled<string>;
  return { ...value, evaluate: (scope) => toText(value.evaluate(scope)) };
}

/**
 * Any JSON value with expressions in its strings, deep. A string that is exactly one
 * `${expr}` keeps the type of the result (a number stays a number).
 */
export function compileValue(value: JsonValue, path: FieldPath, ctx: ExpressionContext): Compiled<JsonValue> | null {
  if (typeof value === 'string') return compileString(value, path, ctx);
  if (Array.isArray(value)) {
    const items = value.map((item, i) => compileValue(item, [...path, i], ctx));
    if (items.some((item) => item === null)) return null;
    const compiled = items as Compiled<JsonValue>[];
    return {
      evaluate: (scope) => compiled.map((item) => item.evaluate(scope)),
      isStatic: compiled.every((item) => item.isStatic),
      usesLoop: compiled.some((item) => item.usesLoop),
    };
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    const fields = keys.map((key) => compileValue(value[key], [...path, key], ctx));
    if (fields.some((field) => field === null)) return null;
    const compiled = fields as Compiled<JsonValue>[];
    return {
      evaluate: (scope) => {
        const out: Record<string, JsonValue> = {};
        for (let i = 0; i < keys.length; i++) out[keys[i]] = compiled[i].evaluate(scope);
        return out;
      },
      isStatic: compiled.every((field) => field.isStatic),
      usesLoop: compiled.some((field) => field.usesLoop),
    };
  }
  return { evaluate: () => value, isStatic: true, usesLoop: false };
}

function compileString(text: string, path: FieldPath, ctx: ExpressionContext): Compiled<JsonValue> | null {
  if (!text.includes('${')) return { evaluate: () => text, isStatic: true, usesLoop: false };
  let parts;
  try {
    parts = splitTemplate(text, path);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    ctx.report(error);
    return null;
  }
  const compiled: Array<string | CompiledExpression> = [];
  for (const part of parts) {
    if (typeof part === 'string') compiled.push(part);
    else {
      const expression = compileExpression(part.expression, path, ctx);
      if (!expression) return null;
      compiled.push(expression);
    }
  }
  const expressions = compiled.filter((part): part is CompiledExpression => typeof part !== 'string');
  const usesLoop = expressions.some((e) =>
    e.expression.variables().some((name) => name !== 'constants'),
  );
  if (expressions.length === 0) {
    const literal = compiled.join('');
    return { evaluate: () => literal, isStatic: true, usesLoop: false };
  }
  const only = compiled.length === 1 ? expressions[0] : undefined;
  if (only) return { evaluate: (scope) => evaluate(only, scope, path), isStatic: false, usesLoop };
  return {
    evaluate: (scope) => {
      let out = '';
      for (const part of compiled) out += typeof part === 'string' ? part : toText(evaluate(part, scope, path));
      return out;
    },
    isStatic: false,
    usesLoop,
  };
}
