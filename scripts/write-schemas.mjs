#!/usr/bin/env node
// Writes schema/job.schema.json and schema/orrery.schema.json from the zod schemas in
// src/spec/schema.ts (via the built output). Run: npm run build && node scripts/write-schemas.mjs
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema, jobJsonSchema } from '../dist/spec/json-schema.js';

const dir = fileURLToPath(new URL('../schema/', import.meta.url));
writeFileSync(`${dir}job.schema.json`, `${JSON.stringify(jobJsonSchema(), null, 2)}\n`);
writeFileSync(`${dir}orrery.schema.json`, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${dir}job.schema.json and ${dir}orrery.schema.json`);
