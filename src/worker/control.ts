/**
 * Control tasks (if / while / explore) run inside the worker, without a process: the
 * condition is evaluated on the results of the tasks the block depends on, and the tasks it
 * decides on join the job in the transaction that completes the control task.
 */
import { InvalidDocumentError, InvalidInputError } from '../core/errors.js';
import type { ControlSpec } from '../spec/control-spec.js';
import { ControlError, runControl } from '../spec/control.js';
import { InvalidExtensionError } from '../store/sql/extend.js';
import type { ClaimedTask, Store } from '../store/store.js';
import type { ExecuteResult } from './execute.js';
import { retryThroughOutage } from './outage.js';

export async function executeControl(claim: ClaimedTask, store: Store): Promise<ExecuteResult> {
  let error: string;
  try {
    const types = await store.jobTypes(claim.job.id);
    const outcome = runControl(claim.task.params as unknown as ControlSpec, claim.task.name, claim.resultsOf, types);
    const done = await retryThroughOutage(() => store.completeControl(claim, outcome.result, { groups: outcome.groups, budget: outcome.budget }));
    return done ? { outcome: 'succeeded', wallMs: 0 } : { outcome: 'fenced' };
  } catch (caught) {
    if (!(caught instanceof ControlError || caught instanceof InvalidExtensionError || caught instanceof InvalidInputError || caught instanceof InvalidDocumentError)) {
      throw caught;
    }
    error = caught.message;
  }
  // a condition that cannot be evaluated or a body that contradicts the job: no retry helps
  const outcome = await retryThroughOutage(() => store.fail(claim, { error, exitCode: null, signal: null, usage: null, retryable: false }));
  return outcome === 'fenced' ? { outcome } : { outcome, error };
}
