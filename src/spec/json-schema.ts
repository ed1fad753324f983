import { z } from 'zod';
import { editorConfigSchema, editorJobSchema } from './schema.js';

/**
 * JSON Schemas for editors (YAML language servers, VS Code), generated from the zod schemas
 * that validate documents. Written to schema/ by scripts/write-schemas.mjs.
 */
export function jobJsonSchema(): Record<string, unknown> {
  return withTitle(z.toJSONSchema(editorJobSchema(), { io: 'input' }), 'Orrery job document');
}

export function configJsonSchema(): Record<string, unknown> {
  return withTitle(z.toJSONSchema(editorConfigSchema(), { io: 'input' }), 'Orrery orrery.yaml');
}

function withTitle(schema: Record<string, unknown>, title: string): Record<string, unknown> {
  const { $schema, ...rest } = schema;
  return { $schema, title, ...rest };
}
