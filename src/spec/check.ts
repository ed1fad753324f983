import type { z } from 'zod';
import type { FieldPath } from './field-path.js';
import type { ParsedDocument } from './parse.js';
import type { Problems } from './problems.js';
import { didYouMean } from './suggest.js';

/**
 * Validates one node of a document against a zod schema and turns zod's issues into
 * problems at full field paths, with a did-you-mean for unknown keys. Returns the parsed
 * value, or undefined when the node has problems.
 */
export function checkNode<S extends z.ZodType>(
  schema: S,
  value: unknown,
  doc: ParsedDocument,
  base: FieldPath,
  problems: Problems,
): z.output<S> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const path = [...base, ...(issue.path as Array<string | number>)];
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeysAt(schema, issue.path as Array<string | number>);
      for (const key of issue.keys) problems.add(doc, [...path, key], unknownKeyMessage(key, allowed), { at: 'key' });
    } else if (issue.code === 'invalid_key') {
      const inner = issue.issues[0]?.message ?? 'invalid key';
      problems.add(doc, path, `invalid key: ${inner}`, { at: 'key' });
    } else {
      problems.add(doc, path, issue.message);
    }
  }
  return undefined;
}

export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  return `unknown key ${JSON.stringify(key)}${didYouMean(key, allowed)}; expected one of: ${allowed.join(', ')}`;
}

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  items?: z.ZodType[];
  in?: z.ZodType;
  getter?: () => z.ZodType;
};

/** The keys an object schema accepts at a path inside `schema` (zod's issue omits them). */
export function allowedKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let node: z.ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (!node) return [];
    const def = node._zod.def as unknown as Def;
    if (def.type === 'object') node = def.shape?.[String(segment)];
    else if (def.type === 'record') node = def.valueType;
    else if (def.type === 'array') node = def.element;
    else if (def.type === 'tuple') node = def.items?.[Number(segment)];
    else return [];
    node = node && unwrap(node);
  }
  const def = node?._zod.def as unknown as Def | undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let node = schema;
  for (;;) {
    const def = node._zod.def as unknown as Def;
    if (def.innerType) node = def.innerType;
    else if (def.type === 'pipe' && def.in) node = def.in;
    else if (def.type === 'lazy' && def.getter) node = def.getter();
    else return node;
  }
}

/**
 * Like checkNode for a top-level mapping, but keeps every field that is valid on its own,
 * so one wrong field does not hide the problems of the others.
 */
export function checkFields<S extends z.ZodObject>(
  schema: S,
  value: unknown,
  doc: ParsedDocument,
  base: FieldPath,
  problems: Problems,
): Partial<z.output<S>> | undefined {
  const whole = checkNode(schema, value, doc, base, problems);
  if (whole !== undefined) return whole;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const raw = (value as Record<string, unknown>)[key];
    if (raw === undefined) continue;
    const parsed = field.safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
  }
  return out as Partial<z.output<S>>;
}
