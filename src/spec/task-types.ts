import type { TaskType } from '../core/types.js';
import { checkNode } from './check.js';
import type { FieldPath } from './field-path.js';
import type { ParsedDocument } from './parse.js';
import type { Problems } from './problems.js';
import { PoolSchema, TaskTypeSchema } from './schema.js';
import { didYouMean, listForMessage } from './suggest.js';

/** A task type with the document that declared it (script paths are relative to that file). */
export interface DeclaredType {
  readonly type: TaskType;
  readonly doc: ParsedDocument;
  readonly path: FieldPath;
}

export interface DeclaredTypes {
  readonly declared: ReadonlyMap<string, DeclaredType>;
  /** Declared with problems (already reported): tasks using them are not reported again. */
  readonly broken: ReadonlySet<string>;
}

export interface TypeSources {
  /** orrery.yaml and its `types:` / `pools:` (raw, checked here). */
  readonly config: { doc: ParsedDocument; types?: Record<string, unknown>; pools?: Record<string, unknown> } | null;
  /** The job's inline `types:`; they replace orrery.yaml's types of the same name. */
  readonly job: { doc: ParsedDocument; types?: Record<string, unknown> };
}

/** Checks every declared type and pool and applies defaults: cpu 1, memory 0, no timeout. */
export function declareTypes(sources: TypeSources, problems: Problems): DeclaredTypes {
  const pools = new Map<string, { cpu?: number; memory?: number; image?: string }>();
  const { config, job } = sources;
  if (config) {
    for (const [name, raw] of Object.entries(config.pools ?? {})) {
      const pool = checkNode(PoolSchema, raw, config.doc, ['pools', name], problems);
      if (pool) pools.set(name, pool);
    }
  }
  const declared = new Map<string, DeclaredType>();
  const broken = new Set<string>();
  const declare = (doc: ParsedDocument, types: Record<string, unknown> | undefined) => {
    for (const [name, raw] of Object.entries(types ?? {})) {
      const path = ['types', name];
      const spec = checkNode(TaskTypeSchema, raw, doc, path, problems);
      declared.delete(name);
      broken.add(name);
      if (!spec) continue;
      if (spec.resources && (spec.cpu !== undefined || spec.memory !== undefined)) {
        problems.add(doc, [...path, 'resources'], 'use either cpu/memory or resources: {cpu, memory}, not both');
        continue;
      }
      let pool: { cpu?: number; memory?: number; image?: string } | undefined;
      if (spec.pool !== undefined) {
        pool = pools.get(spec.pool);
        if (!pool) {
          const known = [...pools.keys()];
          problems.add(
            doc,
            [...path, 'pool'],
            `unknown pool "${spec.pool}"${didYouMean(spec.pool, known)}; expected one of the pools declared under pools: in orrery.yaml: ${listForMessage(known)}`,
          );
          continue;
        }
      }
      const type: TaskType = {
        name,
        command: spec.command,
        cpu: spec.cpu ?? spec.resources?.cpu ?? pool?.cpu ?? 1,
        memory: spec.memory ?? spec.resources?.memory ?? pool?.memory ?? 0,
        timeoutMs: spec.timeout ?? null,
        retries: spec.retries ?? 0,
        backoffMs: spec.backoff ?? 1000,
        qc: spec.qc ?? null,
        env: Object.fromEntries(Object.entries(spec.env ?? {}).map(([k, v]) => [k, String(v)])),
        pool: spec.pool ?? null,
        image: spec.image ?? pool?.image ?? null,
      };
      declared.set(name, { type, doc, path });
      broken.delete(name);
    }
  };
  if (config) declare(config.doc, config.types);
  declare(job.doc, job.types);
  return { declared, broken };
}

/** The message for a task naming a type nobody declared. */
export function unknownTypeMessage(name: string, declared: ReadonlyMap<string, DeclaredType>, hasConfig: boolean): string {
  const known = [...declared.keys()].sort();
  if (known.length === 0) {
    const where = hasConfig ? 'orrery.yaml declares no types' : 'no orrery.yaml was found next to the job or in its parent directories';
    return `unknown task type "${name}": ${where} and the job has no types:; declare it under types:`;
  }
  return `unknown task type "${name}"${didYouMean(name, known)}; declared types: ${listForMessage(known)}`;
}
