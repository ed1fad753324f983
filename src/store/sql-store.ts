/**
 * The Store over Kysely. Dialect-neutral: per-database differences come from `Dialect`.
 * Hot statements live in ./sql, each file with the invariant it keeps.
 */
import { type CompiledQuery, type Kysely, type Selectable, sql } from 'kysely';
import { emptyCounts } from '../core/states.js';
import type { JobState, JsonObject, TaskState, TaskType } from '../core/types.js';
import type { Dialect } from './dialect.js';
import type { CacheEntryTable, Database } from './schema.js';
import { closeAttempt, dropAttempt } from './sql/attempts.js';
import { claimTasks, inputsOf, leaseGrant, readClaimContext } from './sql/claim.js';
import { markDone, recordOutputs, rememberCacheEntry, releaseDependents } from './sql/complete.js';
import { cancelTasks, retryTasks, settleJob } from './sql/control.js';
import { extendJob, lockJob } from './sql/extend.js';
import { failTask, failureOutcome } from './sql/fail.js';
import { renewLeases, requeueLost } from './sql/leases.js';
import { StoreReader } from './sql/read.js';
import { chunks, toTaskRecord } from './sql/rows.js';
import { isPoolPaused, listWorkers, markSilentWorkersLost, registerWorker, setPoolPaused, stopWorker, touchWorker } from './sql/workers.js';
import { insertJob } from './sql/submit.js';
import type {
  CacheEntry,
  ClaimedTask,
  CompletionTiming,
  ClaimRequest,
  Failure,
  JobRecord,
  LogLine,
  LostAttempt,
  Store,
  SubmitOptions,
  Success,
  Extension,
  TaskTarget,
  WorkerInfo,
  WorkerRecord,
} from './store.js';

export class SqlStore extends StoreReader implements Store {
  /** Job name, workdir and types never change after submission: read them once. */
  private readonly jobInfo = new Map<number, { job: ClaimedTask['job']; types: Map<string, { type: TaskType; hash: string }> }>();
  /** findCacheEntry's query, compiled on first use (its one parameter is the key). */
  private cacheLookup?: CompiledQuery<Selectable<CacheEntryTable>>;

  constructor(
    db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly now: () => number = Date.now,
  ) {
    super(db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async submitJob(plan: Parameters<Store['submitJob']>[0], options: SubmitOptions): Promise<JobRecord> {
    const jobId = await this.write(async (trx) => {
      const id = await insertJob(trx, this.dialect, plan, options, this.now());
      await this.dialect.notifyQueued(trx);
      return id;
    });
    await this.dialect.tasksAdded?.(this.db, plan.tasks.length);
    return this.getJob(jobId);
  }

  async findResumableJob(name: string, planHash: string): Promise<JobRecord | undefined> {
    const jobs = await this.listJobs();
    return jobs.find((j) => j.name === name && j.planHash === planHash && j.state === 'running');
  }

  async claim(request: ClaimRequest): Promise<ClaimedTask[]> {
    const now = this.now();
    const grant = leaseGrant(request, now);
    const statements = this.dialect.taskStatements;
    // one statement where the dialect has it, else a transaction (sql/claim.ts)
    const rows = statements ? await statements.claim(this.db, request, grant, now) : await this.write((trx) => claimTasks(trx, this.dialect, request, grant, now));
    if (rows.length === 0) return [];
    const claimed: ClaimedTask[] = [];
    for (const row of await readClaimContext(this.db, rows)) {
      const task = toTaskRecord(row);
      const info = await this.jobInfoOf(task.jobId);
      const type = info.types.get(task.type)!;
      claimed.push({
        task,
        job: info.job,
        type: type.type,
        typeHash: type.hash,
        leaseToken: grant.leaseToken,
        attempt: row.attempt,
        inputs: inputsOf(task, row.inputVersions),
        resultsOf: row.upstream.resultsOf,
        upstreamKeys: row.upstream.upstreamKeys,
      });
    }
    return claimed;
  }

  async findCacheEntry(cacheKey: string): Promise<CacheEntry | undefined> {
    // asked once for every task a worker runs: compiled once, then run with each key, which
    // costs a third of building and compiling the query each time (4.8 against 12–14 µs)
    this.cacheLookup ??= this.db.selectFrom('cache_entries').selectAll().where('cache_key', '=', '').compile();
    const {
      rows: [row],
    } = await this.db.executeQuery<Selectable<CacheEntryTable>>({ ...this.cacheLookup, parameters: [cacheKey] });
    if (!row) return undefined;
    return {
      cacheKey,
      taskId: Number(row.task_id),
      outputs: JSON.parse(row.outputs),
      result: row.result === null ? null : JSON.parse(row.result),
    };
  }

  async completeFromCache(claim: ClaimedTask, entry: CacheEntry, timing: CompletionTiming = {}): Promise<boolean> {
    const now = this.now();
    const result = entry.result === null ? null : JSON.stringify(entry.result);
    const statements = this.dialect.taskStatements;
    if (statements) {
      return statements.complete(
        this.db,
        { state: 'cached', ...this.completing(claim), cacheKey: entry.cacheKey, result, outputs: entry.outputs },
        now,
        timing.deferrable,
      );
    }
    return this.write(async (trx) => {
      const done = await markDone(trx, this.fence(claim), { state: 'cached', cacheKey: entry.cacheKey, result, countAttempt: false }, now);
      if (!done) return false;
      await dropAttempt(trx, claim.attempt.id);
      await recordOutputs(trx, this.dialect, claim.job.id, null, entry.outputs, now);
      if ((await releaseDependents(trx, claim.task.id, now)) > 0) await this.dialect.notifyQueued(trx);
      return true;
    });
  }

  async completeControl(claim: ClaimedTask, result: JsonObject, extension: Extension): Promise<boolean> {
    const now = this.now();
    const done = await this.write(async (trx) => {
      await lockJob(trx, this.dialect, claim.job.id);
      const done = await markDone(trx, this.fence(claim), { state: 'succeeded', cacheKey: null, result: JSON.stringify(result), countAttempt: false }, now);
      if (!done) return false;
      await dropAttempt(trx, claim.attempt.id);
      await this.extend(trx, claim, extension, now);
      await releaseDependents(trx, claim.task.id, now);
      await this.dialect.notifyQueued(trx);
      return true;
    });
    if (done) await this.extended(extension);
    return done;
  }

  /** After the commit of an extension: the dialect hears how many tasks it may have added. */
  private async extended(extension: Extension): Promise<void> {
    await this.dialect.tasksAdded?.(this.db, extension.groups.reduce((n, group) => n + group.fragment.tasks.length, 0));
  }

  private async extend(trx: Kysely<Database>, claim: ClaimedTask, extension: Extension, now: number): Promise<void> {
    const info = await this.jobInfoOf(claim.job.id);
    const types = new Map([...info.types].map(([name, t]) => [name, { retries: t.type.retries, cpu: t.type.cpu, memory: t.type.memory, pool: t.type.pool }]));
    await extendJob(trx, this.dialect, { jobId: claim.job.id, taskId: claim.task.id, taskName: claim.task.name }, extension, types, now);
  }

  /** Every task type of a job (control blocks and spawned tasks may use any of them). */
  async jobTypes(jobId: number): Promise<Record<string, TaskType>> {
    const info = await this.jobInfoOf(jobId);
    return Object.fromEntries([...info.types].map(([name, t]) => [name, t.type]));
  }

  async recordProcess(attemptId: number, pid: number, pidStart: number | null): Promise<void> {
    await this.db.updateTable('attempts').set({ pid, pid_start: pidStart }).where('id', '=', attemptId).execute();
  }

  async appendLogs(lines: LogLine[]): Promise<void> {
    if (lines.length === 0) return;
    const insert = (db: Kysely<Database>, batch: LogLine[]) =>
      db
        .insertInto('attempt_logs')
        .values(batch.map((l) => ({ attempt_id: l.attemptId, seq: l.seq, stream: l.stream, at: l.at, line: l.line })))
        .execute();
    const batches = chunks(lines, 500);
    // one statement is atomic by itself: a transaction only when the lines need several
    if (batches.length === 1) {
      await insert(this.db, batches[0]);
      return;
    }
    await this.write(async (trx) => {
      for (const batch of batches) await insert(trx, batch);
    });
  }

  async succeed(claim: ClaimedTask, success: Success, spawned?: Extension, timing: CompletionTiming = {}): Promise<boolean> {
    const attemptId = claim.attempt.id;
    const now = this.now();
    const result = success.result === null ? null : JSON.stringify(success.result);
    const statements = this.dialect.taskStatements;
    // spawned tasks join the job in the transaction below (sql/extend.ts), under the job's lock
    if (statements && !spawned) {
      return statements.complete(
        this.db,
        {
          state: 'succeeded',
          ...this.completing(claim),
          cacheKey: success.cacheKey,
          result,
          outputs: success.outputs,
          exitCode: success.exitCode,
          usage: success.usage,
        },
        now,
        timing.deferrable,
      );
    }
    const done = await this.write(async (trx) => {
      if (spawned) await lockJob(trx, this.dialect, claim.job.id);
      const done = await markDone(trx, this.fence(claim), { state: 'succeeded', cacheKey: success.cacheKey, result, countAttempt: true }, now);
      if (!done) return false;
      await closeAttempt(trx, attemptId, { state: 'succeeded', exitCode: success.exitCode, signal: null, usage: success.usage, error: null, result }, now);
      await recordOutputs(trx, this.dialect, claim.job.id, attemptId, success.outputs, now);
      if (spawned) await this.extend(trx, claim, spawned, now);
      // a task that spawned others is not reused from the cache: its spawned tasks would be missing
      if (!spawned) await rememberCacheEntry(trx, this.dialect, { cacheKey: success.cacheKey, taskId: claim.task.id, outputs: success.outputs, result }, now);
      const queued = await releaseDependents(trx, claim.task.id, now);
      if (queued > 0 || spawned) await this.dialect.notifyQueued(trx);
      return true;
    });
    if (done && spawned) await this.extended(spawned);
    return done;
  }

  async fail(claim: ClaimedTask, failure: Failure): Promise<'retrying' | 'failed' | 'fenced'> {
    const now = this.now();
    const statements = this.dialect.taskStatements;
    if (statements) {
      // decided from the task as claimed; the statement holds only while that is still so
      const task = { attemptsBefore: claim.task.attempts, maxAttempts: claim.task.maxAttempts, backoffMs: claim.type.backoffMs };
      const outcome = await statements.fail(
        this.db,
        {
          ...this.completing(claim),
          ...task,
          outcome: failureOutcome(task, failure.retryable, now),
          error: failure.error,
          exitCode: failure.exitCode,
          signal: failure.signal,
          usage: failure.usage,
        },
        now,
      );
      // null: the lease is lost, or the task changed since the claim; the transaction tells which
      if (outcome !== null) return outcome;
    }
    return this.write(async (trx) => {
      const outcome = await failTask(trx, { ...this.fence(claim), backoffMs: claim.type.backoffMs }, failure, now);
      if (outcome !== 'fenced') {
        await closeAttempt(
          trx,
          claim.attempt.id,
          { state: 'failed', exitCode: failure.exitCode, signal: failure.signal, usage: failure.usage, error: failure.error, result: null },
          now,
        );
      }
      if (outcome === 'retrying') await this.dialect.notifyQueued(trx);
      return outcome;
    });
  }

  heartbeat(worker: string, held: Array<{ taskId: number; leaseToken: string }>, leaseMs: number): Promise<number[]> {
    return this.write((trx) => renewLeases(trx, worker, held, leaseMs, this.now()));
  }

  requeueLost(where: Parameters<Store['requeueLost']>[0], reason: string): Promise<LostAttempt[]> {
    return this.write(async (trx) => {
      const lost = await requeueLost(trx, where, reason, this.now());
      if (lost.length > 0) await this.dialect.notifyQueued(trx);
      return lost;
    });
  }

  registerWorker(worker: WorkerInfo): Promise<void> {
    return this.write((trx) => registerWorker(trx, worker, this.now()));
  }

  async touchWorker(id: string, state: 'active' | 'draining', pool: string | null): Promise<{ paused: boolean }> {
    await this.write((trx) => touchWorker(trx, id, state, this.now()));
    return { paused: await isPoolPaused(this.db, pool) };
  }

  stopWorker(id: string, state: 'stopped' | 'lost'): Promise<void> {
    return this.write((trx) => stopWorker(trx, id, state, this.now()));
  }

  markSilentWorkersLost(before: number): Promise<void> {
    return this.write((trx) => markSilentWorkersLost(trx, before, this.now()));
  }

  listRegisteredWorkers(): Promise<WorkerRecord[]> {
    return listWorkers(this.db);
  }

  setPoolPaused(pool: string, paused: boolean): Promise<void> {
    return this.write(async (trx) => {
      await setPoolPaused(trx, pool, paused, this.now());
      if (!paused) await this.dialect.notifyQueued(trx);
    });
  }

  async runningJobIds(): Promise<number[]> {
    const rows = await this.db.selectFrom('jobs').select('id').where('state', '=', 'running').execute();
    return rows.map((r) => Number(r.id));
  }

  async nextClaimable(filter: { jobId?: number; pool?: string; types?: string[] }): Promise<number | null> {
    let query = this.db
      .selectFrom('tasks')
      .select((eb) => eb.fn.min('not_before').as('at'))
      // a literal: on SQLite only that reaches the index of queued tasks (migration 0005)
      .where('state', '=', sql.lit('queued'));
    if (filter.jobId !== undefined) query = query.where('job_id', '=', filter.jobId);
    if (filter.pool !== undefined) query = query.where('pool', '=', filter.pool);
    if (filter.types !== undefined) query = query.where('type', 'in', filter.types.length > 0 ? filter.types : ['']);
    const row = await query.executeTakeFirst();
    return row?.at === null || row?.at === undefined ? null : Number(row.at);
  }

  cancel(target: TaskTarget): Promise<number> {
    return this.write((trx) => cancelTasks(trx, target, this.now()));
  }

  retry(target: TaskTarget): Promise<number> {
    return this.write(async (trx) => {
      const count = await retryTasks(trx, target, this.now());
      await this.dialect.notifyQueued(trx);
      return count;
    });
  }

  settleJob(jobId: number): Promise<JobState> {
    return this.write((trx) => settleJob(trx, jobId, this.now()));
  }

  nextClaimableAt(jobId: number): Promise<number | null> {
    return this.nextClaimable({ jobId });
  }

  async countTasks(jobId: number): Promise<Record<TaskState, number>> {
    const rows = await this.db
      .selectFrom('tasks')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('job_id', '=', jobId)
      .groupBy('state')
      .execute();
    const counts = emptyCounts();
    for (const row of rows) counts[row.state as TaskState] = Number(row.n);
    return counts;
  }

  private write<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.dialect.writeTransaction(this.db, fn);
  }

  private fence(claim: ClaimedTask) {
    return { id: claim.task.id, leaseToken: claim.leaseToken };
  }

  /** What every single-statement transition of a claimed task needs (Dialect.taskStatements). */
  private completing(claim: ClaimedTask) {
    return { taskId: claim.task.id, leaseToken: claim.leaseToken, jobId: claim.job.id, attemptId: claim.attempt.id };
  }

  private async jobInfoOf(jobId: number) {
    let info = this.jobInfo.get(jobId);
    if (!info) {
      const job = await this.getJob(jobId);
      const rows = await this.db.selectFrom('job_types').selectAll().where('job_id', '=', jobId).execute();
      info = {
        job: { id: job.id, name: job.name, workdir: job.workdir },
        types: new Map(rows.map((r) => [r.name, { type: JSON.parse(r.definition) as TaskType, hash: r.definition_hash }])),
      };
      this.jobInfo.set(jobId, info);
    }
    return info;
  }
}
