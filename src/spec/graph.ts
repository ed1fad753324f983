import type { PlannedTask } from '../core/types.js';
import { findCycle } from './cycles.js';
import type { ExpandedTask } from './expand.js';
import { formatPath } from './field-path.js';
import type { ParsedDocument } from './parse.js';
import type { Problems } from './problems.js';
import { didYouMean } from './suggest.js';

export interface GraphInput {
  readonly doc: ParsedDocument;
  readonly problems: Problems;
  readonly tasks: readonly ExpandedTask[];
  /** Final names, index-aligned with tasks. */
  readonly names: readonly string[];
  /** Normalised product paths that come from outside (job inputs: and --input). */
  readonly external: ReadonlySet<string>;
  /**
   * Planning part of a running job (a control block's body, spawned tasks): products and
   * `after` names not found here may belong to the job, and are left for the store to resolve.
   */
  readonly fragment?: boolean;
}

export interface Graph {
  readonly tasks: PlannedTask[];
  /** Fragments only: per task, `after` entries that name no task of the fragment. */
  readonly unresolvedAfter: string[][];
  readonly edges: Array<[number, number]>;
  /** Product path -> index of the task writing it. */
  readonly writers: ReadonlyMap<string, number>;
}

/**
 * The DAG: a task reading a product depends on its writer; `after` adds edges (a name in the
 * same loop iteration first, then job-wide; a `*` glob matches job-wide names).
 */
export function buildGraph(input: GraphInput): Graph {
  const { doc, problems, tasks, names, external } = input;
  const writers = new Map<string, number>();
  tasks.forEach((task, i) => {
    for (const [key, product] of Object.entries(task.outputs)) {
      const other = writers.get(product);
      if (other === undefined && !external.has(product)) {
        writers.set(product, i);
        continue;
      }
      const field = [...task.template.path, 'outputs', key];
      if (external.has(product)) {
        problems.add(doc, field, `product "${product}" is an external input (inputs:) and also written by task ${names[i]}; expected another output path`, {
          once: `external-output\0${formatPath(field)}`,
        });
      } else if (other !== undefined) {
        const first = tasks[other].template;
        const sameTemplate = first === task.template;
        const otherField = Object.keys(tasks[other].outputs).find((k) => tasks[other].outputs[k] === product);
        const hint = sameTemplate ? ' (put a loop variable such as ${x_index} in the path so each iteration writes its own file)' : '';
        problems.add(
          doc,
          field,
          `product "${product}" is written by two tasks: ${names[other]} (${formatPath([...first.path, 'outputs', otherField ?? ''])}) and ${names[i]} (${formatPath(field)}); expected one writer per product${hint}`,
          { once: `writers\0${first.source}\0${formatPath(field)}` },
        );
      }
    }
  });

  const edges: Array<[number, number]> = [];
  const seen = new Set<number>();
  const addEdge = (up: number, down: number) => {
    const key = up * tasks.length + down;
    if (seen.has(key)) return;
    seen.add(key);
    edges.push([up, down]);
  };

  const resolver = afterResolver(names);
  const unresolvedAfter: string[][] = tasks.map(() => []);
  const planned: PlannedTask[] = tasks.map((task, i) => {
    for (const [key, product] of Object.entries(task.inputs)) {
      const writer = writers.get(product);
      if (writer !== undefined && writer !== i) {
        addEdge(writer, i);
        continue;
      }
      if (writer === undefined && (external.has(product) || input.fragment)) continue;
      const field = [...task.template.path, 'inputs', key];
      if (writer === i) {
        problems.add(doc, field, `cycle: ${names[i]} -> ${names[i]}: the task reads "${product}", which it writes itself; expected an input written by another task`, {
          once: `self\0${formatPath(field)}`,
        });
      } else {
        problems.add(
          doc,
          field,
          () =>
            `no task writes product "${product}" and it is not an external input${didYouMean(product, [...writers.keys(), ...external])}; expected the output path of another task, or a file listed under the job's inputs: (or --input)`,
          { once: `unread\0${formatPath(field)}` },
        );
      }
    }
    const after: string[] = [];
    task.after.forEach((entry, k) => {
      const found = resolver.resolve(entry, task, i);
      if (found.length === 0 && input.fragment) {
        unresolvedAfter[i].push(entry);
        return;
      }
      if (found.length === 0) {
        const template = task.template;
        // an `if` reads results of the tasks its condition names: those come after its own after: entries
        const fromCondition = template.kind === 'control' && k >= template.after.length;
        const field = fromCondition ? [...template.path, template.control] : [...template.path, 'after', k];
        const prefix = fromCondition ? `the condition reads tasks.${entry}, but ` : '';
        problems.add(doc, field, () => prefix + resolver.noMatch(entry), { once: `after\0${formatPath(field)}\0${entry}` });
      }
      for (const up of found) {
        addEdge(up, i);
        after.push(names[up]);
      }
    });
    return {
      name: names[i],
      type: task.type,
      params: task.params,
      inputs: task.inputs,
      outputs: task.outputs,
      after: [...new Set(after)],
      loop: { ...task.iteration.loop },
      source: task.template.source,
    };
  });

  const cycle = findCycle(tasks.length, edges);
  if (cycle) reportCycle(cycle, input, writers, resolver, problems);
  return { tasks: planned, edges, writers, unresolvedAfter };
}

interface AfterResolver {
  resolve(entry: string, task: ExpandedTask, self: number): number[];
  noMatch(entry: string): string;
}

function afterResolver(names: readonly string[]): AfterResolver {
  const index = new Map<string, number>();
  names.forEach((name, i) => index.set(name, i));
  let sorted: string[] | null = null;
  const globs = new Map<string, number[]>();
  const glob = (pattern: string): number[] => {
    let found = globs.get(pattern);
    if (found) return found;
    // Only names starting with the pattern's literal prefix can match: binary search to them.
    sorted ??= [...names].sort();
    const prefix = pattern.slice(0, pattern.indexOf('*'));
    const regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`);
    found = [];
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid] < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < sorted.length && sorted[k].startsWith(prefix); k++) {
      if (regex.test(sorted[k])) found.push(index.get(sorted[k]) as number);
    }
    globs.set(pattern, found);
    return found;
  };
  return {
    resolve(entry, task, self) {
      if (entry.includes('*')) return glob(entry).filter((i) => i !== self);
      for (const suffix of task.iteration.suffixes) {
        const hit = index.get(entry + suffix);
        if (hit !== undefined) return [hit];
      }
      return [];
    },
    noMatch(entry) {
      if (entry.includes('*')) return `no task name matches the pattern "${entry}"; expected a pattern matching at least one task (names are listed by orrery validate)`;
      const looped = names.some((name) => name.startsWith(`${entry}_`));
      const hint = looped ? `; to wait for every iteration of a loop, write "${entry}_*"` : didYouMean(entry, index.keys());
      return `no task is named "${entry}"${hint}; expected the name of a task of this job (inside a loop, a name without its _index suffix means the task of the same iteration)`;
    },
  };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function reportCycle(
  cycle: number[],
  input: GraphInput,
  writers: ReadonlyMap<string, number>,
  resolver: AfterResolver,
  problems: Problems,
): void {
  const { tasks, names, doc } = input;
  const lines: string[] = [];
  let firstField: Array<string | number> = [...tasks[cycle[0]].template.path];
  for (let k = 0; k < cycle.length; k++) {
    const up = cycle[k];
    const down = cycle[(k + 1) % cycle.length];
    const task = tasks[down];
    let why = '';
    let field: Array<string | number> = [...task.template.path];
    const read = Object.entries(task.inputs).find(([, product]) => writers.get(product) === up);
    if (read) {
      field = [...task.template.path, 'inputs', read[0]];
      why = `${formatPath(field)} reads "${read[1]}", written by ${names[up]}`;
    } else {
      const k2 = task.after.findIndex((entry) => resolver.resolve(entry, task, down).includes(up));
      field = [...task.template.path, 'after', Math.max(k2, 0)];
      why = `${formatPath(field)} = "${task.after[k2]}"`;
    }
    if (k === 0) firstField = field;
    lines.push(`  ${names[up]} -> ${names[down]}: ${why}`);
  }
  const chain = [...cycle, cycle[0]].map((i) => names[i]).join(' -> ');
  problems.add(doc, firstField, `cycle: ${chain}; expected tasks without circular dependencies:\n${lines.join('\n')}`);
}
