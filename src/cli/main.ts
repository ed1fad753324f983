/**
 * The `orrery` command line. Exit codes (DESIGN.md): 0 all succeeded, 1 the job ended
 * with failed tasks, 2 invalid input or usage (or a job or task that does not exist), 3 infrastructure
 * (database, storage, an Orrery server given by --server, including one refusing the token),
 * 130 interrupted (the job stays resumable), 70 an internal error (a bug: please report).
 */
import { Command, CommanderError, Option } from 'commander';
import { InfrastructureError, InvalidDocumentError, InvalidInputError, NotFoundError } from '../core/errors.js';
import { packageVersion } from '../core/package-root.js';
import type { GlobalOptions } from './context.js';

/**
 * Each command's module is loaded when that command runs: `orrery run` need not load the
 * HTTP server, the metrics or the S3 client (a tenth of a second at every start).
 */
const commands = {
  control: () => import('./commands/control.js'),
  distributed: () => import('./commands/distributed.js'),
  export: () => import('./commands/export.js'),
  inspect: () => import('./commands/inspect.js'),
  results: () => import('./commands/results.js'),
  run: () => import('./commands/run.js'),
  ui: () => import('./commands/ui.js'),
  validate: () => import('./commands/validate.js'),
};

export async function main(argv: string[]): Promise<number> {
  // `orrery tasks 3 | head` closes the pipe early: that is not an error
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  let exitCode = 0;
  const program = buildProgram((code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(error);
  }
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('orrery')
    .version(packageVersion())
    .description('Run scientific pipelines: science codes wired together by the files they read and write.')
    .exitOverride()
    .showHelpAfterError('(orrery --help lists the commands)');

  const withState = (command: Command) =>
    command
      .addOption(new Option('--state-dir <dir>', 'where the task database and files live').env('ORRERY_STATE_DIR').default('.orrery'))
      .addOption(new Option('--db <path>', 'task database (default: <state-dir>/orrery.db)').env('ORRERY_DB'))
      .addOption(new Option('--store <dir>', 'file repository (default: <state-dir>/files)').env('ORRERY_STORE'))
      .option('--json', 'machine-readable output on stdout');
  // reading and control commands ask a server's HTTP API instead of the database when given --server
  const withRemote = (command: Command) =>
    withState(command)
      .addOption(new Option('--server <url>', 'ask the HTTP API of `orrery server` or `orrery ui` at this URL instead of opening the database').env('ORRERY_SERVER'))
      .addOption(new Option('--token <token>', 'token for --server (retry and cancel need the admin token)').env('ORRERY_TOKEN'));
  const withJob = (command: Command) =>
    command
      .option('--config <file>', 'orrery.yaml with the task types (default: nearest to the job file)')
      .option('--input <product=file>', 'an external input file (repeatable)', collect, [])
      .option('--max-tasks <n>', 'refuse jobs that expand to more tasks than this', '100000');
  type Action = (...args: never[]) => Promise<number> | number;
  const run = <M extends Record<string, unknown>>(module: () => Promise<M>, pick: (loaded: M) => Action) => async (...args: unknown[]) =>
    setExit(await (pick(await module()) as (...a: unknown[]) => Promise<number> | number)(...args));

  withJob(withState(program.command('run').argument('<job>', 'job file (YAML/JSON), or the id/name of a job to continue')))
    .description('run a job on this machine and wait for it (resumes an unfinished run of the same job)')
    .option('--fail-fast', 'stop the whole job at the first task that fails for good')
    .option('--no-cache', 're-run every task even if an identical one already succeeded')
    .option('--keep-scratch', "keep each attempt's scratch directory")
    .option('--cores <n>', 'cores the local pool may use (default: all)')
    .option('--memory <quantity>', 'memory the local pool may use, e.g. 8Gi (default: 90% of RAM)')
    .option('--quiet', 'print only the final summary')
    .action(run(commands.run, (m) => m.runCommand));

  withJob(program.command('validate').argument('<job>', 'job file'))
    .description('check a job document and print what it expands to; writes nothing')
    .option('--json', 'machine-readable output on stdout')
    .action(run(commands.validate, (m) => m.validateCommand));

  withRemote(program.command('status').argument('[job]', 'job id or name (default: list all jobs)'))
    .description('jobs and their task counts')
    .action(run(commands.inspect, (m) => m.statusCommand));
  withRemote(program.command('tasks').argument('<job>', 'job id or name'))
    .description("a job's tasks")
    .option('--state <state>', 'only tasks in this state')
    .option('--type <type>', 'only tasks of this type')
    .action(run(commands.inspect, (m) => m.tasksCommand));
  withRemote(program.command('show').argument('<task>', 'task id, or JOB/TASK'))
    .description('a task: params, inputs, outputs, result, attempts')
    .action(run(commands.inspect, (m) => m.showCommand));
  withRemote(program.command('logs').argument('<task>', 'task id, or JOB/TASK'))
    .description("an attempt's output (default: the latest attempt)")
    .option('--attempt <n>', 'attempt number')
    .action(run(commands.inspect, (m) => m.logsCommand));
  withRemote(program.command('retry').argument('<target>', 'JOB, or JOB/TASK for a task and its downstream'))
    .description('queue failed, upstream-failed and cancelled tasks again')
    .action(run(commands.control, (m) => m.retryCommand));
  withRemote(program.command('cancel').argument('<target>', 'JOB, or JOB/TASK for a task and its downstream'))
    .description('cancel tasks that have not finished')
    .action(run(commands.control, (m) => m.cancelCommand));
  withRemote(program.command('files').argument('<job>', 'job id or name'))
    .description("the current products of a job's working directory")
    .action(run(commands.inspect, (m) => m.filesCommand));
  withState(program.command('export').argument('<job>', 'job id or name').argument('<dir>', 'directory to write'))
    .description("write a job's current products as ordinary files under DIR")
    .action(run(commands.export, (m) => m.exportCommand));
  withState(program.command('ui'))
    .description('serve the dashboard and HTTP API over this state directory (docs/dashboard.md)')
    .option('--port <port>', 'port to listen on (0: any free port)', '8080')
    .option('--host <address>', 'address to bind; beyond loopback every viewer needs a token', '127.0.0.1')
    .addOption(new Option('--token <token>', 'admin token for retry/cancel (default: generated and printed)').env('ORRERY_TOKEN'))
    .addOption(new Option('--read-token <token>', 'read-only token for viewers').env('ORRERY_READ_TOKEN'))
    .option('--open', 'open the dashboard in a browser')
    .option('--poll-ms <ms>', 'how often live updates look at the database', '500')
    .action(run(commands.ui, (m) => m.uiCommand));

  withState(program.command('results').argument('<job>', 'job id or name'))
    .description('one row per task with its params and results')
    .option('--type <type>', 'only tasks of this type')
    .option('--format <format>', 'table, csv or json', 'table')
    .action(run(commands.results, (m) => m.resultsCommand));

  // distributed mode: docs/distributed.md
  withState(program.command('server'))
    .description('run the engine for workers on many machines (reaps expired leases, ends finished jobs) and serve the dashboard and HTTP API')
    .option('--lease <duration>', 'lease length workers use; expired ones are re-queued', '30s')
    .option('--port <port>', 'port of the dashboard and HTTP API (0: any free port)', '8080')
    .option('--host <address>', 'address to bind; beyond loopback every viewer needs a token', '127.0.0.1')
    .addOption(new Option('--token <token>', 'admin token for retry/cancel (default: generated and printed)').env('ORRERY_TOKEN'))
    .addOption(new Option('--read-token <token>', 'read-only token for viewers').env('ORRERY_READ_TOKEN'))
    .option('--poll-ms <ms>', 'how often live updates look at the database', '500')
    .option('--no-api', 'run the engine only: no dashboard, no HTTP API')
    .action(run(commands.distributed, (m) => m.serverCommand));
  withState(program.command('worker'))
    .description('run tasks from the task database (--db) until stopped; SIGTERM drains')
    .option('--pool <pool>', 'only tasks of this pool (default: every pool)')
    .option('--types <a,b>', 'only tasks of these types')
    .option('--concurrency <n>', 'at most this many tasks at once (default: one per core)')
    .option('--cores <n>', 'cores the worker may use (default: --concurrency, else all)')
    .option('--memory <quantity>', 'memory the worker may use, e.g. 8Gi (default: 90% of RAM)')
    .option('--exit-when-idle <duration>', 'exit after this long with nothing to do (batch allocations, Kubernetes Jobs)')
    .option('--lease <duration>', 'lease per task, renewed by heartbeats', '30s')
    .option('--grace <duration>', 'on SIGTERM, time running tasks get to finish before they are re-queued', '30s')
    .option('--poll <duration>', 'longest wait between looks for work where the database cannot notify', '100ms')
    .action(run(commands.distributed, (m) => m.workerCommand));
  withJob(withState(program.command('submit').argument('<job>', 'job file (YAML/JSON)')))
    .description('submit a job to the task database and return at once with its id')
    .option('--fail-fast', 'stop the whole job at the first task that fails for good')
    .action(run(commands.distributed, (m) => m.submitCommand));
  withRemote(program.command('workers'))
    .description('workers with host, pool, state, last heartbeat and current tasks')
    .option('--all', 'include stopped and lost workers')
    .action(run(commands.distributed, (m) => m.workersCommand));
  withState(program.command('drain'))
    .description("tell every worker (of a pool) to stop claiming; running tasks finish")
    .option('--pool <pool>', 'only this pool (default: every pool)')
    .action(run(commands.distributed, (m) => (options: GlobalOptions & { pool?: string }) => m.drainCommand(options, true)));
  withState(program.command('resume'))
    .description('undo `orrery drain`: workers claim again')
    .option('--pool <pool>', 'only this pool (default: every pool)')
    .action(run(commands.distributed, (m) => (options: GlobalOptions & { pool?: string }) => m.drainCommand(options, false)));
  return program;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander already printed the message; help and version are not errors
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof InvalidInputError || error instanceof InvalidDocumentError || error instanceof NotFoundError) {
    process.stderr.write(`orrery: ${error.message}\n`);
    return 2;
  }
  if (error instanceof InfrastructureError) {
    process.stderr.write(`orrery: ${error.message}\n`);
    return 3;
  }
  process.stderr.write(`orrery: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  return 70;
}
