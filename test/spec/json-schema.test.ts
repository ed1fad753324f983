import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, jobJsonSchema } from '../../src/spec/json-schema.js';

const committed = (name: string) => JSON.parse(readFileSync(new URL(`../../schema/${name}`, import.meta.url), 'utf8'));

describe('JSON Schemas for editors', () => {
  it('are generated from the zod schemas and committed up to date (npm run build && node scripts/write-schemas.mjs)', () => {
    expect(committed('job.schema.json')).toEqual(jobJsonSchema());
    expect(committed('orrery.schema.json')).toEqual(configJsonSchema());
  });

  it('describe nested loops recursively and refuse unknown keys', () => {
    const text = JSON.stringify(jobJsonSchema());
    expect(text).toContain('"linear_range"');
    expect(text).toContain('"additionalProperties":false');
    expect(text).toMatch(/"\$ref":"#\/\$defs\/__schema\d+"/);
  });
});
