/** The Runner port: how a worker executes one command. */
export interface RunSpec {
  command: string;
  cwd: string;
  /**
   * Variables to set for the command on top of the worker's own environment, which it
   * inherits whole (NODE_OPTIONS included); a name given here replaces the inherited value.
   */
  env: Record<string, string>;
  timeoutMs: number | null;
  /** Aborting kills the process tree (cancellation, lost lease, shutdown). */
  signal: AbortSignal;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  onSpawn?(pid: number): void;
  /**
   * Start only once this command (another run's, from its onLaunch) has ended, the moment it
   * does, rather than now. The timeout and the wall time count from then.
   */
  after?: CommandHandle;
  /**
   * With `after`: aborting it while the command still waits takes the command back — it never
   * starts, and run() resolves `withdrawn` — so the caller can start it elsewhere when the
   * command it follows turns out to run long. Once the command has begun it changes nothing.
   * A command withdrawn counts as ended for those that follow it, which start then: withdraw
   * those first.
   */
  withdraw?: AbortSignal;
  /** Called within run() with the command's handle, for a later run to follow it. */
  onLaunch?(handle: CommandHandle): void;
  /** The command is starting: at once, or when `after` has ended. */
  onBegin?(): void;
}

/** Names a command given to a runner (see RunSpec.after). */
export type CommandHandle = number & { readonly __command: unique symbol };

export interface RunOutcome {
  /** null when the command never started: aborted while it waited for `after`. */
  exitCode: number | null;
  /** Signal that ended the command, when it was killed by one. */
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** Taken back (RunSpec.withdraw) before it started: nothing ran. */
  withdrawn: boolean;
  wallMs: number;
  cpuMs: number | null;
  peakRss: number | null;
}

export interface Runner {
  run(spec: RunSpec): Promise<RunOutcome>;
  /** Releases what the runner keeps between runs (a helper process); called once, when no run is left. */
  close?(): Promise<void>;
}
