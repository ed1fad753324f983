/**
 * A worker pool: claims tasks from the task database and runs them as local
 * subprocesses within a budget of cores and memory. The same loop serves `orrery run`
 * (one job, until it ends) and `orrery worker` (any job of its pool, until stopped,
 * drained or idle for long enough).
 *
 * Each task holds its type's cpu and memory while its processes run (room.ts); a task
 * asking for more cores than the pool has runs alone on all of them (as Snakemake does), a
 * task asking for more memory than the pool has fails at once with a clear error.
 *
 * With `lookahead`, the pool also claims tasks while its room is full, and stages them
 * (cache lookup, attempt, scratch directory, inputs) so that they start the moment a
 * running task's processes end: the cores never wait for that work. How many it holds
 * ahead follows how fast tasks end: one while they run for a while, up to `lookahead` when
 * many end within AHEAD_WINDOW_MS, taken several at a time so that one claim serves several
 * tasks. `orrery run` looks ahead; `orrery worker` does not (a task held ahead by a busy
 * worker could have run on an idle one).
 *
 * While tasks end that fast (two or more within AHEAD_WINDOW_MS), the task whose last
 * command the pool has just given to the runner offers its share to the task first in line
 * for room (room.ts) or, with none in line, to the next that would wait. One that needs the
 * same share takes it: its command is given to the runner at once, to start the moment the
 * other's ends, in the cores and memory it leaves — a chain of tasks holding one share, up
 * to CHAIN_LENGTH long (one running, the others queued behind it). The cores then do not
 * wait for this process to hear of an end and start the next command, which for commands
 * of a millisecond or two was half of the time. A task queued behind one that then runs
 * long would start only when that one ends, although room may free elsewhere: once no task
 * of a chain has ended for a while (patience(): four times as long as tasks have been
 * running, 50 ms at least), the tasks queued in it are taken back (the launcher drops a
 * command that has not started, request C) and wait in line again, where the next chain
 * that moves or the next share freed takes them.
 */
import { formatBytes } from '../core/bytes.js';
import { isConnectionError, OutageReporter } from '../store/outage.js';
import type { ClaimedTask, Store } from '../store/store.js';
import type { Dispatch } from '../dispatch/dispatch.js';
import { type ExecuteContext, type ExecuteResult, executeTask, type Place } from './execute.js';
import { TASK_FILE } from './protocol.js';
import { type Capacity, Room, sameShare, type Share } from './room.js';
import type { CommandHandle } from './runner.js';
import { ScratchDirectories } from './scratch-dirs.js';

export type { Capacity };

export type PoolEvent =
  | { kind: 'started'; task: ClaimedTask['task']; attempt: number }
  | { kind: 'finished'; task: ClaimedTask['task']; result: ExecuteResult }
  | { kind: 'database'; message: string };

export interface PoolOptions {
  store: Store;
  worker: string;
  capacity: Capacity;
  /** At most this many tasks running processes at once (besides cpu and memory). */
  concurrency?: number;
  /** Tasks claimed and staged while the room is full, to start as soon as room frees (default 0). */
  lookahead?: number;
  leaseMs: number;
  /** Embedded mode: only this job, and stop when it has ended. */
  jobId?: number;
  pool?: string;
  types?: string[];
  dispatch: Dispatch;
  /** Longest idle wait before looking again (backoff timers, missed wake-ups). */
  idlePollMs?: number;
  /** Stop after this long with nothing running and nothing to claim. */
  exitWhenIdleMs?: number;
  /** Reported with each heartbeat; the answer says whether the pool is paused. */
  registration?: { pool: string | null };
  context: Omit<ExecuteContext, 'store' | 'impossible' | 'onStart' | 'scratchDirs' | 'waitForRoom' | 'busy'>;
  onEvent(event: PoolEvent): void;
  /** Called when a task fails for good. */
  onFailed?(task: ClaimedTask['task']): Promise<void>;
}

interface Running {
  claim: ClaimedTask;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * A share of the room held by a chain of tasks that follow one another, each starting when
 * the one before it ends (see the top of the file): at first the one task that took it.
 * Given back to the room when the last of them has ended.
 */
interface Chain {
  share: Share;
  /** Tasks of the chain that have not ended: the one running and those queued behind it. */
  holders: number;
  /** The last command of the chain's last task, for the next task to follow; null while that task has yet to give it. */
  tail: CommandHandle | null;
  /** What takes back each task queued in the chain whose command has not started, in the order they joined. */
  queued: AbortController[];
  /** When a task of the chain last ended, or the chain began. */
  lastEnd: number;
  /** Set while tasks are queued: takes them back once the chain has not moved for patience(). */
  watch: NodeJS.Timeout | null;
  /** Its queued tasks were taken back (the task running runs long): none joins it any more. */
  stalled: boolean;
}

/** A chain offered to a task waiting for room: it joins the chain, after this command. */
interface Offer {
  chain: Chain;
  after: CommandHandle;
  withdrawal: AbortController;
}

/**
 * Tasks in one chain at most: the one running and four queued behind it. Each queued command
 * covers for the orrery process while it is busy elsewhere (a commit, a claim): with two
 * queued, the cores of a 2-core fan-out of `true` stood idle 16–22% of the time, with four
 * 14–16%, about as much as `xargs -P 2` leaves (13%). Tasks queued behind one that turns
 * out to run long are taken back (see patience()).
 */
const CHAIN_LENGTH = 5;

/**
 * A chain none of whose tasks ended for FOLLOW_PATIENCE times as long as tasks have been
 * running (the median of the last RUN_TIMES), and for FOLLOW_PATIENCE_MS at least, holds one
 * that runs long: the tasks queued behind it are taken back and start wherever room frees
 * instead. Relative, since chains form whenever tasks end within milliseconds of each other,
 * which many cores running tasks of 100 ms do as well as two running tasks of 1 ms.
 */
const FOLLOW_PATIENCE = 4;
const FOLLOW_PATIENCE_MS = 50;
const RUN_TIMES = 15;

/** Tasks held ahead: as many as ended within this long (at least one, at most `lookahead`). */
const AHEAD_WINDOW_MS = 50;

/** How often an idle worker looks for work anyway while wake-ups arrive as notifications. */
const LISTENING_POLL_MS = 5000;

export type PoolEnd = 'succeeded' | 'failed' | 'cancelled' | 'stopped' | 'idle';

export class WorkerPool {
  private readonly running = new Map<number, Running>();
  private readonly room: Room<Offer>;
  /** The chains holding a share of the room. */
  private readonly chains = new Set<Chain>();
  /** Tasks claimed ahead that hold no share of the room yet. */
  private ahead = 0;
  /** When the last tasks' processes ended (at most `lookahead` of them), oldest first. */
  private readonly recentEnds: number[] = [];
  /** How long the last RUN_TIMES tasks' processes ran, in ms, oldest first. */
  private readonly runTimes: number[] = [];
  private wake: (() => void) | null = null;
  /** Set when a task ended since the last claim, so an idle wait returns at once. */
  private signalled = false;
  private stopping = false;
  private draining = false;
  private readonly outage: OutageReporter;
  private readonly scratchDirs: ScratchDirectories;

  constructor(private readonly options: PoolOptions) {
    this.room = new Room(options.capacity, options.concurrency);
    this.outage = new OutageReporter((message) => options.onEvent({ kind: 'database', message }));
    this.scratchDirs = new ScratchDirectories(options.context.scratchRoot, TASK_FILE);
  }

  /** Runs until the job ends (embedded), or until stopped, drained or idle (worker). */
  async run(): Promise<PoolEnd> {
    const heartbeat = setInterval(() => void this.heartbeat(), Math.min(1000, this.options.leaseMs / 3));
    let idleSince = Date.now();
    let backoff = 100;
    try {
      for (;;) {
        if (this.stopping) break;
        if (this.draining) {
          if (this.running.size === 0) break;
          // a task's processes may end before its outcome is recorded: wait for the record
          this.signalled = false;
          await this.sleep(1000);
          continue;
        }
        this.signalled = false;
        try {
          const claimed = await this.claim();
          this.reachable();
          backoff = 100;
          if (claimed > 0 || this.running.size > 0) idleSince = Date.now();
          if (claimed > 0) continue;
          if (this.running.size === 0) {
            if (this.options.jobId !== undefined) {
              const state = await this.options.store.settleJob(this.options.jobId);
              if (state !== 'running') return state;
            } else if (this.options.exitWhenIdleMs !== undefined && Date.now() - idleSince >= this.options.exitWhenIdleMs) {
              return 'idle';
            }
          }
          await this.sleep(await this.idleDelay());
        } catch (error) {
          if (!isConnectionError(error)) throw error;
          this.unreachable(error as Error);
          await this.sleep(backoff);
          backoff = Math.min(backoff * 2, 5000);
        }
      }
      return 'stopped';
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Kills every running task and waits for them to end; their leases are left to the caller. */
  async stop(): Promise<number[]> {
    this.stopping = true;
    const ids = [...this.running.keys()];
    for (const entry of this.running.values()) entry.abort.abort();
    this.wake?.();
    await Promise.all([...this.running.values()].map((r) => r.done));
    return ids;
  }

  /**
   * Stops claiming and lets running tasks finish within `graceMs`; tasks still running
   * then are stopped and handed back to the queue at once (not counted as failures).
   */
  async drain(graceMs: number, reason: string): Promise<void> {
    this.draining = true;
    this.wake?.();
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
    if (!timedOut) return;
    const left = [...this.running.values()];
    for (const entry of left) entry.abort.abort();
    await all;
    for (const entry of left) {
      await this.options.store.requeueLost({ taskId: entry.claim.task.id, leaseToken: entry.claim.leaseToken }, reason);
    }
  }

  /** Stops the given tasks' processes (cancelled, or lease lost). */
  abort(taskIds: number[]): void {
    for (const id of taskIds) this.running.get(id)?.abort.abort();
  }

  get runningClaims(): ClaimedTask[] {
    return [...this.running.values()].map((r) => r.claim);
  }

  private async claim(): Promise<number> {
    const room = this.room;
    // claimed now, a task takes its share at once; claimed ahead, when room frees
    const now = !room.full;
    // nothing could be taken: don't take the write lock to find that out; and claimed ahead,
    // tasks are taken several at a time, once half of those held ahead have started
    const lookahead = this.wantedAhead();
    if (!now && (lookahead === 0 || this.ahead > lookahead / 2)) return 0;
    const claims = await this.options.store.claim({
      worker: this.options.worker,
      host: this.options.context.host,
      scratchRoot: this.options.context.scratchRoot,
      jobId: this.options.jobId,
      pool: this.options.pool,
      types: this.options.types,
      leaseMs: this.options.leaseMs,
      limit: now ? Math.max(1, room.openings) : lookahead - this.ahead,
      room: now ? room.freeRoom() : undefined,
    });
    for (const claim of claims) this.start(claim, now);
    return claims.length;
  }

  private start(claim: ClaimedTask, claimedNow: boolean): void {
    const room = this.room;
    const share = room.shareOf(claim.task);
    // claimed for room that was free when the claim was asked for, it may find that room
    // taken meanwhile (a task waiting in line was let in while the claim ran): it then waits
    // in line as one claimed ahead does, rather than take cores that are not there
    const now = claimedNow && room.fits(share);
    // 'ahead': claimed while the room was full (or taken), holding nothing yet
    let holding: Chain | 'ahead' | null = now ? this.chain(share) : 'ahead';
    // the command it was queued to follow, until it gives its own last command
    let follows: CommandHandle | null = null;
    // what takes it back from the chain it was queued in, until its command starts
    let queuedAs: AbortController | null = null;
    // when its command started
    let begunAt: number | null = null;
    if (now) room.take(share);
    else this.ahead += 1;
    const impossible = room.impossible(claim.task)
      ? `task type ${claim.type.name} needs ${formatBytes(claim.task.memory)} of memory but this worker pool has ${formatBytes(room.capacity.memory)}; lower its \`memory\` or run it on a bigger machine`
      : undefined;
    const abort = new AbortController();
    const entry: Running = { claim, abort, done: Promise.resolve() };
    const release = () => {
      if (holding === 'ahead') this.ahead -= 1;
      else if (holding !== null) {
        const endedAt = performance.now();
        this.ended(endedAt, begunAt === null ? null : endedAt - begunAt);
        const chain = holding;
        chain.lastEnd = endedAt;
        // it ended before giving its last command: the next task follows the one it followed
        if (chain.tail === null && follows !== null) chain.tail = follows;
        this.leave(chain, queuedAs);
        if (chain.holders > 0) this.extend(chain);
      }
      holding = null;
      queuedAs = null;
      this.signalled = true;
      this.wake?.();
    };
    const queuedIn = (chain: Chain, after: CommandHandle, withdrawal: AbortController): Place => {
      holding = chain;
      follows = after;
      queuedAs = withdrawal;
      return { follows: after, withdraw: withdrawal.signal };
    };
    const waitForRoom = async (withdrawn = false): Promise<Place | undefined> => {
      if (withdrawn && holding !== null && holding !== 'ahead') {
        // taken back from a chain that stalled, before its command started: in line again
        this.leave(holding, queuedAs);
        holding = 'ahead';
        follows = null;
        queuedAs = null;
        this.ahead += 1;
      }
      if (holding !== 'ahead') return undefined;
      const open = this.openChain(share);
      if (open) {
        this.ahead -= 1;
        const withdrawal = new AbortController();
        return queuedIn(open, this.join(open, withdrawal), withdrawal);
      }
      // still counted ahead while in line, so that no more are claimed meanwhile
      const admission = await room.wait(share, abort.signal);
      this.ahead -= 1;
      if (admission === 'aborted') holding = null;
      else if (admission === 'admitted') holding = this.chain(share);
      // extend() counted it among the chain's holders already
      else return queuedIn(admission.follows.chain, admission.follows.after, admission.follows.withdrawal);
      return undefined;
    };
    // its command has started: there is nothing to take back any more
    const begun = () => {
      begunAt = performance.now();
      if (queuedAs !== null && holding !== null && holding !== 'ahead') unqueue(holding, queuedAs);
      queuedAs = null;
    };
    const onLastCommand = (handle: CommandHandle) => {
      if (holding === null || holding === 'ahead') return;
      follows = null;
      holding.tail = handle;
      this.extend(holding);
    };
    const context: ExecuteContext = {
      ...this.options.context,
      store: this.options.store,
      scratchDirs: this.scratchDirs,
      impossible,
      waitForRoom,
      onStart: (c, attempt) => {
        begun();
        this.options.onEvent({ kind: 'started', task: c.task, attempt });
      },
      onProcessesEnded: release,
      onLastCommand,
      busy: () => room.full,
    };
    entry.done = executeTask(claim, context, abort.signal)
      .then(async (result) => {
        this.options.onEvent({ kind: 'finished', task: claim.task, result });
        if (result.outcome === 'failed') await this.options.onFailed?.(claim.task);
      })
      .catch(async (error: Error) => {
        // the disk, the file repository or the database failed us: record a failed attempt
        // (retries apply); if even that cannot be written, the lease expires and the task is
        // re-queued as lost. Nothing is lost either way.
        const message = `orrery could not run the task: ${error.message}`;
        const outcome = await this.options.store
          .fail(claim, { error: message, exitCode: null, signal: null, usage: null, retryable: true })
          .catch(() => 'fenced' as const);
        const result: ExecuteResult = outcome === 'fenced' ? { outcome } : { outcome, error: message };
        this.options.onEvent({ kind: 'finished', task: claim.task, result });
      })
      .finally(() => {
        this.running.delete(claim.task.id);
        release();
        this.signalled = true;
        this.wake?.();
      });
    this.running.set(claim.task.id, entry);
  }

  /** How many tasks to hold ahead now (see the top of the file). */
  private wantedAhead(): number {
    const most = this.options.lookahead ?? 0;
    if (most === 0) return 0;
    const since = performance.now() - AHEAD_WINDOW_MS;
    let recent = 0;
    for (const at of this.recentEnds) if (at >= since) recent += 1;
    return Math.max(1, Math.min(most, recent));
  }

  /** A chain of one task, which took its share from the room. */
  private chain(share: Share): Chain {
    const chain: Chain = { share, holders: 1, tail: null, queued: [], lastEnd: performance.now(), watch: null, stalled: false };
    this.chains.add(chain);
    return chain;
  }

  /** Offers the chain to the task first in line for room, if it may grow (see the top of the file). */
  private extend(chain: Chain): void {
    if (chain.tail === null || chain.stalled || chain.holders >= CHAIN_LENGTH || !this.relaying()) return;
    const withdrawal = new AbortController();
    if (this.room.offer(chain.share, { chain, after: chain.tail, withdrawal })) this.join(chain, withdrawal);
  }

  /** A task joins the chain, behind its tail: returns the command it follows. */
  private join(chain: Chain, withdrawal: AbortController): CommandHandle {
    const after = chain.tail!;
    chain.holders += 1;
    chain.tail = null;
    chain.queued.push(withdrawal);
    chain.watch ??= setTimeout(() => this.checkStalled(chain), this.patience());
    return after;
  }

  /**
   * Takes back the tasks queued in a chain that has not moved for patience(), the
   * last first: a command taken back lets the one queued behind it start, and there is none.
   */
  private checkStalled(chain: Chain): void {
    chain.watch = null;
    if (chain.queued.length === 0 || chain.holders === 0) return;
    const still = performance.now() - chain.lastEnd;
    const patience = this.patience();
    if (still < patience) {
      chain.watch = setTimeout(() => this.checkStalled(chain), patience - still);
      return;
    }
    chain.stalled = true;
    const queued = chain.queued;
    chain.queued = [];
    for (const withdrawal of queued.reverse()) withdrawal.abort();
  }

  /** A task of the chain has ended, or was taken back: the last to leave gives the share back. */
  private leave(chain: Chain, queuedAs: AbortController | null): void {
    if (queuedAs !== null) unqueue(chain, queuedAs);
    chain.holders -= 1;
    if (chain.holders > 0) return;
    this.chains.delete(chain);
    if (chain.watch !== null) clearTimeout(chain.watch);
    this.room.give(chain.share);
  }

  /**
   * A chain that a task of this share, about to wait in line for room, should join
   * instead — while none could take room now and none waits in line before it.
   */
  private openChain(share: Share): Chain | null {
    if (this.room.waiting > 0 || this.room.fits(share) || !this.relaying()) return null;
    for (const chain of this.chains) {
      if (chain.tail !== null && !chain.stalled && chain.holders < CHAIN_LENGTH && sameShare(chain.share, share)) return chain;
    }
    return null;
  }

  /** Tasks end fast enough that one should follow another (see the top of the file). */
  private relaying(): boolean {
    return this.wantedAhead() >= 2;
  }

  /** A task's processes ended at `at`, having run `ranMs` (null: they never started). */
  private ended(at: number, ranMs: number | null): void {
    if ((this.options.lookahead ?? 0) === 0) return;
    this.recentEnds.push(at);
    if (this.recentEnds.length > this.options.lookahead!) this.recentEnds.shift();
    if (ranMs === null) return;
    this.runTimes.push(ranMs);
    if (this.runTimes.length > RUN_TIMES) this.runTimes.shift();
  }

  /** How long a chain may go without an end before its queued tasks are taken back. */
  private patience(): number {
    const sorted = [...this.runTimes].sort((a, b) => a - b);
    const typical = sorted.length === 0 ? 0 : sorted[sorted.length >> 1];
    return Math.max(FOLLOW_PATIENCE_MS, FOLLOW_PATIENCE * typical);
  }

  private async heartbeat(): Promise<void> {
    const held = [...this.running.values()].map((r) => ({ taskId: r.claim.task.id, leaseToken: r.claim.leaseToken }));
    try {
      if (this.options.registration) {
        await this.options.store.touchWorker(this.options.worker, this.draining ? 'draining' : 'active', this.options.registration.pool);
      }
      if (held.length > 0) this.abort(await this.options.store.heartbeat(this.options.worker, held, this.options.leaseMs));
      this.reachable();
    } catch (error) {
      // the next heartbeat tries again, well within the lease
      if (isConnectionError(error)) this.unreachable(error as Error);
    }
  }

  /** How long to wait when nothing could be claimed: until a task ends, work is queued, or a backoff passes. */
  private async idleDelay(): Promise<number> {
    let poll = this.options.idlePollMs ?? 1000;
    // while notifications arrive, looking is only a safety net (a wake-up lost with a
    // dropped connection), so an idle fleet does not keep the database busy
    if (this.options.dispatch.listening) poll = Math.max(poll, Math.min(LISTENING_POLL_MS, this.options.exitWhenIdleMs ?? LISTENING_POLL_MS));
    // every slot is taken: the next chance to claim comes when a task's processes end
    if (this.room.full) return poll;
    const next = await this.options.store.nextClaimable({ jobId: this.options.jobId, pool: this.options.pool, types: this.options.types });
    // nothing queued, or queued tasks this worker could not take (its pool is paused, they
    // need more memory than is free): only a wake-up or a task ending changes that
    if (next === null || next <= Date.now()) return poll;
    // a retry's backoff ends soon
    return Math.max(5, Math.min(poll, next - Date.now()));
  }

  private sleep(ms: number): Promise<void> {
    if (this.signalled || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        this.wake = null;
        resolve();
      };
      this.wake = done;
      void this.options.dispatch.wait(ms).then(done);
    });
  }

  private reachable(): void {
    this.outage.succeeded();
  }

  private unreachable(error: Error): void {
    this.outage.failed(error);
  }
}

/** A task queued in the chain has started, ended or been taken back. */
function unqueue(chain: Chain, withdrawal: AbortController): void {
  const at = chain.queued.indexOf(withdrawal);
  if (at !== -1) chain.queued.splice(at, 1);
}
