/** spec/: job documents and orrery.yaml -> PlannedJob. See docs/job-language.md. */
export { loadJob, findConfig, CONFIG_FILE_NAME, type LoadJobOptions } from './load.js';
export { planJob, DEFAULT_MAX_TASKS, type PlanInput } from './plan.js';
export { parseDocument, locate, type ParsedDocument } from './parse.js';
export { jobJsonSchema, configJsonSchema } from './json-schema.js';
