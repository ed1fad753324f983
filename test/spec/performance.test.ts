import { describe, expect, it } from 'vitest';
import { plan } from './helpers.js';

/** 10,000 iterations x 3 tasks, with expressions in names, paths and params. */
function bigJob(n: number): string {
  return `
name: big
tasks:
  - for: star
    linear_range: [1, ${n}, ${n}]
    tasks:
      - task: synthesize
        name: "synth-\${star_index}"
        outputs: { lightcurve: "lc/star_\${star_index}.lc" }
        params: { radius: "\${constants.R_earth * star / 1000}", seed: "\${star_index}", label: "star \${star}" }
      - task: transit_search
        name: search
        inputs: { lightcurve: "lc/star_\${star_index}.lc" }
        outputs: { result: "bls/star_\${star_index}.json" }
        params: { min_snr: 7, period: [1, "\${star * 2}"] }
      - task: report
        after: [search]
        inputs: { result: "bls/star_\${star_index}.json" }
        outputs: { row: "rows/\${star_index}.csv" }
`;
}

describe('planning performance', () => {
  it('plans a 30,000-task job in well under 2 s (a guard, not a benchmark)', () => {
    plan(bigJob(100)); // warm up module loading and the JIT
    const started = performance.now();
    const job = plan(bigJob(10_000));
    const elapsed = performance.now() - started;
    expect(job.tasks).toHaveLength(30_000);
    expect(job.edges).toHaveLength(20_000);
    expect(job.tasks[29_999].name).toBe('report_9999');
    expect(job.tasks[3].params).toEqual({ radius: 0.002, seed: 1, label: 'star 2' });
    expect(elapsed).toBeLessThan(2000);
  });
});
