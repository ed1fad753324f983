import { describe, expect, it } from 'vitest';
import { cacheKey, canonicalJson } from '../../src/core/hashing.js';

describe('canonical JSON', () => {
  it('sorts keys at every depth and leaves out undefined members', () => {
    const value = { b: 1, a: [1, { d: null, c: 'x' }, []], u: undefined, e: {}, 'é': true, A: 'q"uote' };
    expect(canonicalJson(value)).toBe('{"A":"q\\"uote","a":[1,{"c":"x","d":null},[]],"b":1,"e":{},"é":true}');
    expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('is the same for any key order', () => {
    expect(canonicalJson({ x: { q: 1, p: 2 }, y: [3] })).toBe(canonicalJson({ y: [3], x: { p: 2, q: 1 } }));
  });

  it('keeps cache keys as task databases already hold them', () => {
    // a changed text would make every cached result of every database a miss
    const key = cacheKey({
      typeHash: 'a'.repeat(64),
      params: { noise: 0.5, radius: [1, 2], name: 'b' },
      outputs: { lc: 'lc/0.fits' },
      inputs: { star: { sha256: 'c'.repeat(64) } },
      upstreamKeys: { synth: 'd'.repeat(64) },
    });
    expect(key).toBe(EXPECTED_KEY);
  });
});

// computed with the first implementation of canonicalJson
const EXPECTED_KEY = '8d15a016131f92f54046e63d92319a3ad6db280419e4b48212906307640d5671';
