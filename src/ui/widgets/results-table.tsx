/**
 * The results table: Tabulator, with its virtual rendering (thousands of rows scroll
 * smoothly) and column sorting. Every cell is a text node: HTML in a result stays text.
 */
import { type ColumnDefinition, FormatModule, FrozenColumnsModule, InteractionModule, ResizeColumnsModule, SortModule, Tabulator } from 'tabulator-tables';
import { useEffect, useRef } from 'preact/hooks';
import type { Json, Results } from '../api.js';
import { short } from '../format.js';
import { href, navigate } from '../router.js';

Tabulator.registerModule([FormatModule, SortModule, ResizeColumnsModule, InteractionModule, FrozenColumnsModule]);

type Row = Record<string, Json> & { __id: number };

/** Nested values become their JSON text: a cell shows one line. */
function cell(value: Json | undefined): Json {
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : (value ?? null);
}

function flatten(results: Results): Row[] {
  return results.rows.map((r) => {
    const row: Row = { __id: r.id, task: r.name, state: r.state };
    for (const k of results.columns.loop) row[`loop.${k}`] = cell(r.loop[k]);
    for (const k of results.columns.params) row[`params.${k}`] = cell(r.params[k]);
    for (const k of results.columns.results) row[`result.${k}`] = cell(r.result[k]);
    return row;
  });
}

/** Numbers sort as numbers; anything else as its text. */
function sorter(a: Json, b: Json): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return short(a).localeCompare(short(b), undefined, { numeric: true });
}

export function ResultsTable({ results }: { results: Results }) {
  const box = useRef<HTMLDivElement>(null);
  const table = useRef<Tabulator | null>(null);
  const built = useRef(false);
  const columnsKey = JSON.stringify(results.columns);

  useEffect(() => {
    if (!box.current) return;
    const column = (field: string, title: string): ColumnDefinition => ({
      field,
      title,
      // a text node, never HTML: science output stays text; long floats shortened for reading
      formatter: (cell) => {
        const span = document.createElement('span');
        span.textContent = short(cell.getValue() as Json);
        return span;
      },
      sorter: (a, b) => sorter(a as Json, b as Json),
    });
    const columns: ColumnDefinition[] = [
      { ...column('task', 'task'), frozen: true },
      column('state', 'state'),
      ...results.columns.loop.map((k) => column(`loop.${k}`, k)),
      ...results.columns.params.map((k) => column(`params.${k}`, `params.${k}`)),
      ...results.columns.results.map((k) => column(`result.${k}`, k)),
    ];
    table.current = new Tabulator(box.current, {
      data: flatten(results),
      columns,
      height: '480px',
      layout: 'fitDataFill',
      index: '__id',
      // column names hold dots (params.x): they are names, not paths into the row
      nestedFieldSeparator: false,
      columnDefaults: { resizable: true },
    });
    table.current.on('rowClick', (_e, row) => navigate(href(['tasks', (row.getData() as Row).__id])));
    table.current.on('tableBuilt', () => (built.current = true));
    return () => {
      built.current = false;
      table.current?.destroy();
      table.current = null;
    };
  }, [columnsKey]);

  useEffect(() => {
    // new values, same columns: keep the reader's sort and scroll position
    if (table.current && built.current) void table.current.replaceData(flatten(results));
  }, [results]);

  return <div class="results-table" ref={box} data-testid="results-table" />;
}
