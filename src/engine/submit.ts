/**
 * Submission: external inputs go into the file repository, the plan into the task
 * database. The same plan submitted while its job is still unfinished resumes that job
 * (nothing is re-run that already ran); otherwise a new job starts, and its tasks reuse
 * earlier results through the cache.
 */
import { planHash, typeHash } from '../core/hashing.js';
import type { PlannedJob } from '../core/types.js';
import type { FileRepository } from '../files/repository.js';
import type { FileVersion, JobRecord, Store } from '../store/store.js';

export interface SubmitResult {
  job: JobRecord;
  resumed: boolean;
}

export async function submitPlan(
  store: Store,
  files: FileRepository,
  plan: PlannedJob,
  options: { failFast: boolean; sourceFile: string | null; resume: boolean },
): Promise<SubmitResult> {
  const externalVersions: Record<string, FileVersion> = {};
  for (const [product, file] of Object.entries(plan.externalInputs)) externalVersions[product] = await files.putCopy(file);
  const hash = planHash(plan, externalVersions);
  if (options.resume) {
    const existing = await store.findResumableJob(plan.name, hash);
    if (existing) return { job: existing, resumed: true };
  }
  const typeHashes = Object.fromEntries(Object.values(plan.types).map((t) => [t.name, typeHash(t)]));
  const job = await store.submitJob(plan, { planHash: hash, failFast: options.failFast, sourceFile: options.sourceFile, externalVersions, typeHashes });
  return { job, resumed: false };
}
