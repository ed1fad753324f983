/**
 * What a control task (an if / while / explore block) carries in its params: enough to plan
 * its body when it runs, on another machine, long after submission.
 */
import type { JsonObject, TaskType } from '../core/types.js';

/** The built-in task type of control tasks: the engine runs them, no command is spawned. */
export const CONTROL_TYPE = '@control';

export const controlTaskType: TaskType = {
  name: CONTROL_TYPE,
  command: '',
  cpu: 0,
  memory: 0,
  timeoutMs: null,
  retries: 0,
  backoffMs: 1000,
  qc: null,
  env: {},
  pool: null,
  image: null,
};

export interface ControlSpec {
  control: 'if' | 'while' | 'explore';
  /** The job file and the block's field path, for messages. */
  file: string;
  source: string;
  /** The block as written. */
  block: JsonObject;
  /** Loop variables around the block (and, inside a while or explore, its own). */
  vars: JsonObject;
  /** Name suffixes of the enclosing iterations, innermost first. */
  suffixes: string[];
  constants: JsonObject;
  /**
   * null: the block itself (an if decides; a while or explore starts).
   * A while's gate after iteration n: { iteration: n }. An explore's gate after a point: { point: [i, j, …] }.
   */
  step: { iteration: number } | { point: number[] } | null;
}
