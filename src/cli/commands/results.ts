/**
 * `orrery results JOB [--type T] [--format table|csv|json]`: one row per task with its
 * params and its results (what ORRERY_RESULT held), for spreadsheets and plots. Nested
 * values are written as JSON; control tasks (if/while/explore) are left out.
 */
import { InvalidInputError } from '../../core/errors.js';
import type { JsonValue } from '../../core/types.js';
import { CONTROL_TYPE } from '../../spec/control-spec.js';
import type { TaskRecord } from '../../store/store.js';
import { type GlobalOptions, printJson, withStore } from '../context.js';
import { table } from '../format.js';

const FORMATS = ['table', 'csv', 'json'] as const;

export function resultsCommand(jobRef: string, options: GlobalOptions & { type?: string; format?: string }): Promise<number> {
  const format = (options.json ? 'json' : (options.format ?? 'table')) as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw new InvalidInputError('', '--format', `expected one of ${FORMATS.join(', ')}, got ${JSON.stringify(options.format)}`);
  return withStore(options, async (store) => {
    const job = await store.getJob(jobRef);
    const tasks = (await store.listTasks(job.id, { type: options.type })).filter((t) => t.type !== CONTROL_TYPE);
    const rows = tasks.map(toRow);
    if (format === 'json') {
      printJson(rows.map((r) => r.record));
      return 0;
    }
    const columns = collectColumns(rows);
    const cells = rows.map((r) => columns.map((c) => r.flat.get(c) ?? ''));
    if (format === 'csv') process.stdout.write(`${[columns, ...cells].map((line) => line.map(csvCell).join(',')).join('\n')}\n`);
    else process.stdout.write(`${table(columns.map((c) => c.toUpperCase()), cells)}\n`);
    return 0;
  });
}

function toRow(task: TaskRecord) {
  const record = { task: task.name, type: task.type, state: task.state, params: task.params, result: task.result };
  const flat = new Map<string, string>([
    ['task', task.name],
    ['type', task.type],
    ['state', task.state],
  ]);
  for (const [key, value] of Object.entries(task.params)) flat.set(`params.${key}`, text(value));
  for (const [key, value] of Object.entries(task.result ?? {})) flat.set(`result.${key}`, text(value));
  return { record, flat };
}

/** task, type, state, then the params and results any task has, in order of first appearance. */
function collectColumns(rows: Array<{ flat: Map<string, string> }>): string[] {
  const columns = new Set<string>();
  for (const row of rows) for (const key of row.flat.keys()) columns.add(key);
  return [...columns];
}

function text(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
