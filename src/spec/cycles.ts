/**
 * Finds one cycle in a directed graph of n nodes, or null when it is acyclic. Kahn's
 * algorithm removes every node not on or behind a cycle; from any node left, walking back
 * along edges from other nodes left must come round to a node seen before.
 */
export function findCycle(n: number, edges: ReadonlyArray<readonly [number, number]>): number[] | null {
  const indegree = new Int32Array(n);
  const outStart = new Int32Array(n + 1);
  for (const [up, down] of edges) {
    indegree[down]++;
    outStart[up + 1]++;
  }
  for (let i = 0; i < n; i++) outStart[i + 1] += outStart[i];
  const outEdges = new Int32Array(edges.length);
  const fill = outStart.slice(0, n);
  for (const [up, down] of edges) outEdges[fill[up]++] = down;

  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (indegree[i] === 0) queue.push(i);
  let removed = 0;
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head];
    removed++;
    for (let e = outStart[node]; e < outStart[node + 1]; e++) {
      if (--indegree[outEdges[e]] === 0) queue.push(outEdges[e]);
    }
  }
  if (removed === n) return null;

  const predecessor = new Int32Array(n).fill(-1);
  for (const [up, down] of edges) if (indegree[up] > 0 && indegree[down] > 0) predecessor[down] = up;
  let node = indegree.findIndex((d) => d > 0);
  const position = new Map<number, number>();
  const walk: number[] = [];
  while (!position.has(node)) {
    position.set(node, walk.length);
    walk.push(node);
    node = predecessor[node];
  }
  // walk follows edges backwards; the cycle is the part from the repeated node, reversed,
  // then rotated to start at its first task in document order.
  const cycle = walk.slice(position.get(node)).reverse();
  const first = cycle.indexOf(cycle.reduce((a, b) => Math.min(a, b)));
  return [...cycle.slice(first), ...cycle.slice(0, first)];
}
