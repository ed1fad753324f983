/**
 * A job's graph as the dashboard draws it: never 100,000 nodes. Tasks are grouped by where
 * they came from in the job document (a loop body: their `source`) and their type, with
 * counts per state; a group of at most EXPANDABLE tasks can be expanded on demand into its
 * tasks and their own edges.
 */
import type { TaskGroup, TaskLink } from '../store/store.js';
import type { ApiContext } from './context.js';

export const EXPANDABLE = 200;

export interface GroupNode extends TaskGroup {
  id: string;
  kind: 'group';
  expandable: boolean;
}

export interface TaskNode {
  id: string;
  kind: 'task';
  taskId: number;
  name: string;
  type: string;
  state: string;
  group: string;
}

export interface JobGraph {
  nodes: Array<GroupNode | TaskNode>;
  edges: Array<{ from: string; to: string }>;
}

export function groupId(group: { type: string; source: string }): string {
  return `g:${group.type}@${group.source}`;
}

export async function jobGraph(ctx: ApiContext, jobId: number, expand: string[]): Promise<JobGraph> {
  const groups = await ctx.store.taskGroups(jobId);
  const total = groups.reduce((n, g) => n + g.total, 0);
  const groupEdges = await ctx.groupEdges(jobId, total);
  const wanted = new Set(expand);
  const expanded = new Set(groups.filter((g) => g.total <= EXPANDABLE && wanted.has(groupId(g))).map(groupId));

  const nodes: JobGraph['nodes'] = [];
  const members: TaskLink[] = [];
  for (const group of groups) {
    const id = groupId(group);
    if (!expanded.has(id)) {
      nodes.push({ ...group, id, kind: 'group', expandable: group.total <= EXPANDABLE && group.total > 1 });
      continue;
    }
    const tasks = await ctx.store.listTasks(jobId, { source: group.source, type: group.type, limit: EXPANDABLE });
    for (const t of tasks) {
      members.push({ id: t.id, name: t.name, type: t.type, state: t.state, source: t.source });
      nodes.push({ id: `t:${t.id}`, kind: 'task', taskId: t.id, name: t.name, type: t.type, state: t.state, group: id });
    }
  }

  const edges = new Map<string, { from: string; to: string }>();
  const add = (from: string, to: string) => {
    if (from !== to) edges.set(`${from}>${to}`, { from, to });
  };
  for (const e of groupEdges) {
    const from = groupId(e.from);
    const to = groupId(e.to);
    if (!expanded.has(from) && !expanded.has(to)) add(from, to);
  }
  const end = (t: TaskLink) => (expanded.has(groupId(t)) ? `t:${t.id}` : groupId(t));
  if (members.length > 0) for (const e of await ctx.store.edgesOf(members.map((m) => m.id))) add(end(e.from), end(e.to));
  return { nodes, edges: [...edges.values()] };
}
