import { formatPath } from './field-path.js';
import type { ExpandedTask } from './expand.js';
import type { ParsedDocument } from './parse.js';
import type { Problems } from './problems.js';

/**
 * Final task names, unique within the job. Explicit names (already suffixed per loop) must
 * not collide; automatic names (type + suffix) give way to explicit ones and take #2, #3, …
 * in document order when repeated. Returns the names, index-aligned with `tasks`.
 */
export function assignNames(tasks: readonly ExpandedTask[], doc: ParsedDocument, problems: Problems): string[] {
  const names = new Array<string>(tasks.length);
  const owner = new Map<string, number>();
  tasks.forEach((task, i) => {
    if (!task.explicit) return;
    const other = owner.get(task.name);
    if (other === undefined) {
      owner.set(task.name, i);
      names[i] = task.name;
      return;
    }
    const first = tasks[other].template;
    const here = [...task.template.path, 'name'];
    const there = formatPath([...first.path, 'name']);
    const sameField = first === task.template;
    problems.add(
      doc,
      here,
      sameField
        ? `task name "${task.name}" is given to several iterations of this loop; expected unique names (add a loop variable such as \${..._index}, or drop \${ } so the loop index is appended)`
        : `task name "${task.name}" is already used by ${there}; expected unique task names`,
      { once: `name\0${first.source}\0${task.template.source}` },
    );
  });
  const counters = new Map<string, number>();
  tasks.forEach((task, i) => {
    if (task.explicit) return;
    let n = counters.get(task.name) ?? 1;
    let name = n === 1 ? task.name : `${task.name}#${n}`;
    while (owner.has(name)) name = `${task.name}#${++n}`;
    counters.set(task.name, n + 1);
    owner.set(name, i);
    names[i] = name;
  });
  return names;
}
