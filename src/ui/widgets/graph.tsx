/**
 * The job's graph, aggregated: one node per group of tasks (a loop body and a type) drawn as
 * a pie of its states, laid out left to right by dagre in cytoscape. A small group expands
 * into its tasks on click; a large one opens its tasks in the list below.
 */
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type Graph, type GraphNode, STATES } from '../api.js';
import { stateColor } from '../colors.js';
import { ErrorBox, Section, useFetch } from '../components.js';
import { useLiveTick } from '../live.js';
import { href, navigate } from '../router.js';

cytoscape.use(dagre);

function label(node: GraphNode): string {
  if (node.kind === 'task') return node.name ?? '';
  const vars = node.loopVariables?.length ? `\nfor ${node.loopVariables.join(' × ')}` : '';
  const failed = (node.counts?.failed ?? 0) + (node.counts?.upstream_failed ?? 0);
  return `${node.type} ×${(node.total ?? 0).toLocaleString()}${vars}${failed ? `\n${failed.toLocaleString()} failed` : ''}`;
}

function elementData(node: GraphNode): Record<string, unknown> {
  const text = label(node);
  const data: Record<string, unknown> = { id: node.id, label: text, kind: node.kind, color: stateColor(node.state ?? 'waiting'), width: 12 + 6 * text.length };
  STATES.forEach((state, i) => {
    data[`p${i + 1}`] = node.kind === 'group' && node.total ? (100 * (node.counts?.[state] ?? 0)) / node.total : 0;
  });
  return data;
}

const pieStyle: Record<string, string | number> = { 'pie-size': '100%' };
STATES.forEach((state, i) => {
  pieStyle[`pie-${i + 1}-background-color`] = stateColor(state);
  pieStyle[`pie-${i + 1}-background-size`] = `data(p${i + 1})`;
});

export function GraphView({ jobId }: { jobId: number }) {
  const [expand, setExpand] = useState<string[]>([]);
  const tick = useLiveTick((e) => e.kind === 'job' && e.job.id === jobId, 2000);
  const url = `/api/jobs/${jobId}/graph${expand.length ? `?${expand.map((e) => `expand=${encodeURIComponent(e)}`).join('&')}` : ''}`;
  const { data, error } = useFetch<Graph>(url, [tick]);
  const box = useRef<HTMLDivElement>(null);
  const cy = useRef<cytoscape.Core | null>(null);
  const shape = useRef('');
  const nodes = useRef(new Map<string, GraphNode>());

  useEffect(() => {
    if (!box.current) return;
    const instance = cytoscape({
      container: box.current,
      minZoom: 0.2,
      maxZoom: 3,
      style: [
        {
          selector: 'node[kind = "group"]',
          style: {
            shape: 'ellipse',
            width: 46,
            height: 46,
            'background-color': '#f1f3f5',
            'border-width': 1,
            'border-color': '#868e96',
            label: 'data(label)',
            'text-wrap': 'wrap',
            'text-valign': 'bottom',
            'text-margin-y': 4,
            'font-size': 11,
            ...pieStyle,
          },
        },
        {
          selector: 'node[kind = "task"]',
          style: {
            shape: 'round-rectangle',
            width: 'data(width)',
            height: 18,
            'background-color': 'data(color)',
            label: 'data(label)',
            'text-valign': 'center',
            'font-size': 10,
            color: '#fff',
          },
        },
        { selector: 'edge', style: { width: 1.2, 'line-color': '#adb5bd', 'target-arrow-color': '#adb5bd', 'target-arrow-shape': 'triangle', 'curve-style': 'bezier' } },
      ],
    });
    instance.on('tap', 'node', (event) => {
      const node = nodes.current.get(event.target.id());
      if (!node) return;
      if (node.kind === 'task') navigate(href(['tasks', node.taskId!]));
      else if (node.expandable) setExpand((list) => (list.includes(node.id) ? list : [...list, node.id]));
      else if (node.total === 1 && node.firstTaskId) navigate(href(['tasks', node.firstTaskId]));
      else {
        navigate(href(['jobs', jobId], { source: node.source, type: node.type }));
        document.getElementById('tasks')?.scrollIntoView({ behavior: 'smooth' });
      }
    });
    cy.current = instance;
    return () => instance.destroy();
  }, [jobId]);

  useEffect(() => {
    const instance = cy.current;
    if (!instance || !data) return;
    nodes.current = new Map(data.nodes.map((n) => [n.id, n]));
    const fingerprint = `${data.nodes.map((n) => n.id).join('|')}#${data.edges.map((e) => `${e.from}>${e.to}`).join('|')}`;
    if (fingerprint === shape.current) {
      // same graph, new counts: restyle without moving anything
      for (const node of data.nodes) instance.getElementById(node.id).data(elementData(node));
      return;
    }
    shape.current = fingerprint;
    instance.elements().remove();
    instance.add([
      ...data.nodes.map((n) => ({ group: 'nodes' as const, data: elementData(n) })),
      ...data.edges.map((e) => ({ group: 'edges' as const, data: { id: `${e.from}>${e.to}`, source: e.from, target: e.to } })),
    ]);
    instance.layout({ name: 'dagre', rankDir: 'LR', nodeSep: 30, rankSep: 90, padding: 30 } as cytoscape.LayoutOptions).run();
    // a small graph fits at a readable size, not blown up
    if (instance.zoom() > 1.2) {
      instance.zoom(1.2);
      instance.center();
    }
  }, [data]);

  const groups = data?.nodes.filter((n) => n.kind === 'group').length ?? 0;
  return (
    <Section
      title="Graph"
      id="graph"
      actions={
        <>
          <span class="muted">
            {groups} group{groups === 1 ? '' : 's'} · click a group to expand it (up to 200 tasks) or list its tasks
          </span>
          {expand.length > 0 && <button onClick={() => setExpand([])}>Collapse all</button>}
          <button onClick={() => cy.current?.fit(undefined, 20)}>Fit</button>
        </>
      }
    >
      <ErrorBox error={error} />
      <div class="graph" ref={box} data-testid="graph" />
    </Section>
  );
}
